"""Class-conditional SNGAN on CIFAR-10: conditional batch norm in the generator and a
projection discriminator (Miyato & Koyama 2018), otherwise as sngan_cifar10.

  python -m gan_jax.main --config=configs/sngan_cifar10_cond.py --workdir=runs/sngan_cond
  python -m gan_jax.main --config=configs/sngan_cifar10_cond.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """Conditional SNGAN at 32x32x3 on tfds cifar10 (10 classes); `arg='smoke'` runs 2 steps."""
  c = image_common.sngan('cifar10', arg=arg)
  c.num_classes = 10
  return c
