"""Conditional DCGAN (cGAN, Mirza & Osindero 2014) on the bundled 5,000 MNIST digits.

The label's embedding is concatenated to z in the generator and enters the discriminator as
an extra image channel; the sample grid shows one digit class per row.

  python -m gan_jax.main --config=configs/cgan_mnist5k.py --workdir=runs/cgan
  python -m gan_jax.main --config=configs/cgan_mnist5k.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """cGAN at 28x28x1 on mnist5k; `arg='smoke'` runs 2 steps."""
  c = image_common.dcgan('mnist5k', (28, 28, 1), arg=arg)
  c.num_classes = 10
  if arg == 'smoke':  # dcgan_mnist5k's smoke run covers the Inception evaluators.
    return c
  # Samples have balanced labels (b mod 10); class_accuracy: do they show their label?
  c.evals = ('grid', 'fid', 'is', 'class_accuracy')
  c.num_steps = 3_000
  c.eval_every = 500
  c.fid.update(num_samples=1_000, num_reference=5_000)
  return c
