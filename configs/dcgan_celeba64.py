"""DCGAN on CelebA faces, centre-cropped to 140x140 and resized to 64x64: the paper's setup.

  python -m gan_jax.main --config=configs/dcgan_celeba64.py --workdir=runs/dcgan_celeba64
  python -m gan_jax.main --config=configs/dcgan_celeba64.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """DCGAN at 64x64x3 on tfds celeb_a (unlabelled); `arg='smoke'` runs 2 steps."""
  c = image_common.dcgan('celeb_a', (64, 64, 3), arg=arg)
  c.batch_size = 8 if arg == 'smoke' else 128
  return c
