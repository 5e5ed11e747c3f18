"""Draws samples from the latest checkpoint of a run, with the weights evaluation uses (EMA).

  python scripts/sample.py --workdir=runs/quickstart --num=2500 --out=runs/quickstart/draw
  python scripts/sample.py --workdir=runs/cgan --num=80 --label=3 --out=runs/cgan/threes

Writes OUT.npz (`images`: uint8 NHWC for image models, `samples`: float for 2-D data, plus
`labels` for conditional models) and OUT.png (a grid, or a scatter over the true modes).
"""
import json
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
import jax
import ml_collections
import numpy as np

from gan_jax import checkpoint, evaluate, parallel, train, writers

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run directory with config.json and '
                               'checkpoints/.')
_NUM = flags.DEFINE_integer('num', 64, 'How many samples.')
_LABEL = flags.DEFINE_integer('label', None, 'Conditional models: the class to sample '
                              '(default: classes in turn).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents.')
_OUT = flags.DEFINE_string('out', None, 'Output path without extension.')
flags.mark_flags_as_required(['workdir', 'out'])


def _load_config(workdir):
  path = os.path.join(workdir, 'config.json')
  if not os.path.exists(path):
    sys.exit(f'error: {path} does not exist: --workdir must be a run directory')
  with open(path, encoding='utf-8') as f:
    return ml_collections.ConfigDict(json.load(f))


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)  # Keeps Orbax's restore chatter quiet.
  config = _load_config(_WORKDIR.value)
  if _NUM.value <= 0:
    sys.exit(f'error: --num={_NUM.value} must be positive')
  if _LABEL.value is not None and not 0 <= _LABEL.value < max(config.num_classes, 1):
    sys.exit(f'error: --label={_LABEL.value} must be in [0, {config.num_classes}) for this '
             'run' if config.num_classes else 'error: --label needs a conditional model')
  run = train.Run(config)
  ckpt = checkpoint.Checkpointer(_WORKDIR.value, config)
  if ckpt.latest_step() is None:
    sys.exit(f'error: no checkpoint in {ckpt.directory}')
  try:
    state = run.evaluation_view(ckpt.restore(run.state))
  finally:
    ckpt.close()
  z = jax.random.normal(jax.random.PRNGKey(_SEED.value), (_NUM.value, config.z_dim))
  labels = None
  if config.num_classes:
    labels = (np.full(_NUM.value, _LABEL.value) if _LABEL.value is not None
              else np.arange(_NUM.value) % config.num_classes)
  out = evaluate.make_sampler(run.g_model, run.mesh, z, labels)(state)
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  arrays = {} if labels is None else {'labels': labels}
  if out.ndim == 4:
    arrays['images'] = np.clip(np.round((out + 1.0) * 127.5), 0, 255).astype(np.uint8)
    writers.save_grid(_OUT.value + '.png', out, 8 if labels is None else config.num_classes)
  else:
    arrays['samples'] = out
    writers.plot_samples(_OUT.value + '.png', out, run.dataset.mixture.centers,
                         f'{_NUM.value} samples, step {int(parallel.fetch(state.step))}')
  np.savez(_OUT.value + '.npz', **arrays)
  print(f'wrote {_OUT.value}.npz and {_OUT.value}.png from step '
        f'{int(parallel.fetch(state.step))}')


if __name__ == '__main__':
  app.run(main)
