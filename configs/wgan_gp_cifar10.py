"""WGAN-GP with the ResNet critic on CIFAR-10 (Gulrajani et al. 2017).

n_critic 5, lambda 10, Adam 1e-4 with betas (0, 0.9), no normalisation in the critic (the
penalty is per example, so batch norm is refused), batch 64, 100k generator steps.

  python -m gan_jax.main --config=configs/wgan_gp_cifar10.py --workdir=runs/wgan_gp_cifar10
  python -m gan_jax.main --config=configs/wgan_gp_cifar10.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """ResNet WGAN-GP at 32x32x3 on tfds cifar10; `arg='smoke'` runs 2 steps."""
  c = image_common.sngan('cifar10', arg=arg)
  c.loss = 'wgan_gp'
  c.gp_weight = 10.0
  c.d_norm = 'none'
  c.g_lr = c.d_lr = 1e-4
  if arg != 'smoke':
    c.num_steps = 100_000
  return c
