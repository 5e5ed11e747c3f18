"""PacGAN's 2-D grid (Lin et al. 2018, Table 1): 25 Gaussians at {-4, -2, 0, 2, 4}^2, std 0.05.

The protocol and its variants are in configs/pacgan_common.py (gan, pacgan2, pacgan3,
pacgan4, minibatch, unrolled, wgan_gp; ',smoke' for a 2-step run). The full budget is 400k
steps; pass --config.num_steps to run fewer.

  python -m gan_jax.main --config=configs/pacgan_grid.py:pacgan2 --workdir=runs/grid_pac2
  python -m gan_jax.main --config=configs/pacgan_grid.py:gan --config.num_steps=50000 \
      --workdir=runs/grid_gan
  python -m gan_jax.main --config=configs/pacgan_grid.py:unrolled,smoke --workdir=runs/smoke
"""
from configs import pacgan_common


def get_config(arg=None):
  """The grid protocol in the variant `arg` names (pacgan_common.parse)."""
  return pacgan_common.pacgan('grid25', arg, data_std=0.05)
