"""SNGAN on CIFAR-10 (Miyato et al. 2018): ResNet, hinge loss, spectral norm in the critic,
n_critic 5, Adam 2e-4 with betas (0, 0.9), learning rates decayed linearly to 0.

  python -m gan_jax.main --config=configs/sngan_cifar10.py --workdir=runs/sngan_cifar10
  python -m gan_jax.main --config=configs/sngan_cifar10.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """SNGAN ResNet at 32x32x3 on tfds cifar10; `arg='smoke'` runs 2 steps."""
  return image_common.sngan('cifar10', arg=arg)
