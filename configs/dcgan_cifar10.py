"""DCGAN on CIFAR-10 at 32x32 from TensorFlow Datasets.

  python -m gan_jax.main --config=configs/dcgan_cifar10.py --workdir=runs/dcgan_cifar10
  python -m gan_jax.main --config=configs/dcgan_cifar10.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """DCGAN at 32x32x3 on tfds cifar10; `arg='smoke'` runs 2 steps."""
  return image_common.dcgan('cifar10', (32, 32, 3), arg=arg)
