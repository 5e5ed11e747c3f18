"""PacGAN's 2-D ring (Lin et al. 2018, Table 1): 8 Gaussians on the unit circle, std 0.01.

The protocol and its variants are in configs/pacgan_common.py (gan, pacgan2, pacgan3,
pacgan4, minibatch, unrolled, wgan_gp; ',smoke' for a 2-step run). The full budget is 400k
steps; pass --config.num_steps to run fewer.

  python -m gan_jax.main --config=configs/pacgan_ring.py:pacgan2 --workdir=runs/ring_pac2
  python -m gan_jax.main --config=configs/pacgan_ring.py:gan --config.num_steps=50000 \
      --workdir=runs/ring_gan
  python -m gan_jax.main --config=configs/pacgan_ring.py:wgan_gp,smoke --workdir=runs/smoke
"""
from configs import pacgan_common


def get_config(arg=None):
  """The ring protocol in the variant `arg` names (pacgan_common.parse)."""
  return pacgan_common.pacgan('ring8', arg, data_radius=1.0, data_std=0.01)
