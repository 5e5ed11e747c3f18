"""Stacked MNIST, 1,000 modes: the protocol of Metz et al. (2017) as PacGAN ran it (Lin et al.
2018, Table 3).

  python -m gan_jax.main --config=configs/stacked_mnist.py:dcgan --workdir=runs/stacked
  python -m gan_jax.main --config=configs/stacked_mnist.py:pacgan4,half --workdir=runs/pac4
  python -m gan_jax.main --config=configs/stacked_mnist.py:smoke --workdir=runs/smoke

Variants: dcgan (the default), pacgan2, pacgan3, pacgan4 (packing 2-4), unrolled (10 unrolled
critic steps, Metz et al.), best (the library's recipe: the 2-D tables' `best` unchanged,
PacGAN2 with R1 on real data, gamma 0.1, and an EMA of the generator, decay 0.99, evaluated
with its standing batch-norm statistics; carried over on 2026-12-05 before any Stacked MNIST
run of it, not tuned on this protocol); ',half' makes D half the size of G instead of a
quarter, ',smoke' shrinks any of them to 2 steps for tests.

Settings from fjxmlzn/PacGAN, stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G
(and D=0.5G): config.py gives batch 128, D lr 2e-4, G lr 1e-4, Adam (0.5, 0.99), z 256,
500,000 steps (num_training_sample = 500000 x 128, one epoch), 25,600 evaluation samples
every 2,000 steps; model.py the networks (models/metz.py), the losses (minimax D,
non-saturating G) and packing: D takes 128 packed examples, so a step draws 128 x pac real
and fake samples (here batch_size counts samples: 128 x pac).

Published, modes / KL(p || uniform), mean +- standard error over 50 runs (Table 3):
                        D = 1/4 G                     D = 1/2 G
  DCGAN (PacGAN's)      78.5 +- 17.56 / 5.21 +- 0.19   487.7 +- 34.59 / 2.24 +- 0.15
  PacDCGAN2             484.5 +- 32.99 / 2.61 +- 0.22  840.7 +- 15.92 / 1.00 +- 0.05
  PacDCGAN3             601.3 +- 32.18 / 2.00 +- 0.17  866.6 +- 12.10 / 0.90 +- 0.04
  PacDCGAN4             667.4 +- 29.00 / 1.81 +- 0.15  820.2 +- 25.50 / 1.15 +- 0.14
  Unrolled, 10 steps    327.2 +- 74.67 / 4.66 +- 0.46  817.4 +- 37.91 / 1.43 +- 0.12
(the unrolled rows are Metz et al.'s, quoted; their DCGAN gave 30.6 / 5.99 and 628.0 / 2.58).

Differences from the reference: the digits are the 1,000 bundled ones held out from the
digit classifier, which trained on the other 4,000 (data/stacked_mnist.py), not MNIST's 60,000
with a 99%-accurate Keras classifier trained on them; evaluation samples use the generator's
batch-norm running averages, where the reference sampled in training mode (batch statistics
of 128); the generator's step draws its own latents, where the reference reused the critic
step's.
"""
from configs import default

VARIANTS = ('dcgan', 'pacgan2', 'pacgan3', 'pacgan4', 'unrolled', 'best')
PAC = {'pacgan2': 2, 'pacgan3': 3, 'pacgan4': 4, 'best': 2}
OPTIONS = ('half', 'smoke')


def parse(arg):
  """'variant[,half][,smoke]' -> (variant, half, smoke); the variant defaults to dcgan."""
  parts = [p for p in (arg or '').split(',') if p]
  named = [p for p in parts if p not in OPTIONS]
  if len(named) > 1 or (named and named[0] not in VARIANTS):
    raise ValueError(f'unknown config argument {arg!r}; allowed: one of {", ".join(VARIANTS)}'
                     f' with optional {", ".join(OPTIONS)}, comma-separated')
  return (named[0] if named else 'dcgan'), 'half' in parts, 'smoke' in parts


def get_config(arg=None):
  """The Stacked MNIST experiment `arg` ('pacgan4,half', 'smoke', ...; see the docstring)."""
  variant, half, smoke = parse(arg)
  c = default.get_config()
  c.dataset = 'stacked_mnist'
  c.image_shape = (28, 28, 3)
  c.model = 'metz'
  c.g_width = 8  # 64/32/16/8 channels.
  c.d_width = 4 if half else 2  # 4/8/16 (D = 1/2 G) or 2/4/8 (D = 1/4 G).
  c.d_norm = 'batch'
  c.loss = 'ns'
  c.z_dim = 256
  c.pac = PAC.get(variant, 1)
  c.unrolled_steps = 10 if variant == 'unrolled' else 0
  c.batch_size = 128 * c.pac
  c.d_lr, c.g_lr = 2e-4, 1e-4
  c.g_betas = c.d_betas = (0.5, 0.99)
  c.num_steps = 500_000
  c.log_every = 500
  c.eval_every = 2_000
  c.checkpoint_every = 10_000
  if variant == 'best':
    c.r1_gamma = 0.1
    c.ema_decay = 0.99
  c.evals = ('grid', 'stacked_modes')
  c.num_eval_samples = 25_600
  if smoke:
    c.num_steps = 2
    c.batch_size = 8 * c.pac  # Divides over the tests' 8 devices after packing.
    c.log_every = c.eval_every = c.checkpoint_every = 2
    c.num_eval_samples = 100
  return c
