"""StyleGAN2 (Karras et al. 2020; model=stylegan2, gan_jax/models/stylegan2.py).

  python -m gan_jax.main --config=configs/stylegan2.py:mnist32 --workdir=runs/sg2_digits
  python -m gan_jax.main --config=configs/stylegan2.py:cifar10 --workdir=runs/sg2_cifar10
  python -m gan_jax.main --config=configs/stylegan2.py:celeba64 --workdir=runs/sg2_celeba64
  python -m gan_jax.main --config=configs/stylegan2.py:mnist32,smoke --workdir=runs/smoke

Variants:
  mnist32: offline, the 5,000 bundled digits zero-padded to 32x32 (mnist5k32), sized for a CPU
    (feature maps 64, w 128, batch 32, R1 gamma 10), FID against all 5,000 digits.
  cifar10: stylegan2-ada-pytorch's 'cifar' settings (its train.py: 512 feature maps, 2 mapping
    layers, batch 64, minibatch-std groups of 32, lr 0.0025, R1 gamma 0.01, no style mixing, no
    path-length term); the critic stays residual where that reference uses its 'orig' one.
  celeba64: its 'paper256' settings (8 mapping layers, style mixing 0.9, R1 gamma 1) at 64 px
    on tfds celeb_a, centre-cropped and resized as dcgan_celeba64's faces.
  ',smoke' shrinks any of them to 2 steps of narrow networks for tests.

The shared training settings follow the paper's config F: the non-saturating logistic loss,
lazy R1 every 16 critic updates and lazy path-length regularisation every 4 generator steps
(weight 2; the reference turns it off for CIFAR-10, and mnist32 leaves it off to halve the
generator's CPU cost), with Adam's learning rate and betas scaled by c = 16/17 and 4/5 (the
paper's correction for the regularisation steps), an EMA generator, the truncation trick at
sampling (scripts/sample.py --psi, or --config.stylegan.truncation_psi).

Not here: ADA's augmentations, and the reference's halved path-length batch.
"""
from configs import default, image_common

VARIANTS = ('mnist32', 'cifar10', 'celeba64')
_R1_EVERY, _PL_EVERY = 16, 4
_D_RATIO, _G_RATIO = _R1_EVERY / (_R1_EVERY + 1), _PL_EVERY / (_PL_EVERY + 1)


def _paper(c, lr, gamma):
  """Config F's objective and optimizers at learning rate `lr` and R1 weight `gamma`."""
  c.model = 'stylegan2'
  c.d_norm = 'none'
  c.loss = 'ns'
  c.z_dim = 512
  # Both networks' regularisation intervals scale Adam, as stylegan2-ada's training loop does
  # whether or not the generator's path-length term is on.
  c.g_lr, c.g_betas = lr * _G_RATIO, (0.0, 0.99 ** _G_RATIO)
  c.d_lr, c.d_betas = lr * _D_RATIO, (0.0, 0.99 ** _D_RATIO)
  c.stylegan.pl_every = _PL_EVERY
  c.r1_gamma, c.r1_every = gamma, _R1_EVERY
  c.d_minibatch = 'none'  # The critic has its own minibatch-std layer (minibatch_group).
  c.evals = ('grid', 'fid')
  c.best_metric, c.best_mode = 'fid', 'min'
  return c


def get_config(arg=None):
  """The StyleGAN2 experiment `arg` ('mnist32', 'cifar10,smoke', ...; see the docstring)."""
  variant, smoke = image_common.parse_variant(arg, VARIANTS)
  c = default.get_config()
  if variant == 'mnist32':
    c.dataset, c.image_shape = 'mnist5k32', (32, 32, 1)
    # R1 gamma 10, chosen on the training-side diagnostics of 500-step probes (BASELINES.md):
    # at 0.1 and 1 the critic wins outright by step 300 (discriminator_overpowering) and G
    # collapses; at 10 neither happens. A slower learning rate (0.001) collapsed to one digit.
    _paper(c, lr=0.0025, gamma=10.0)
    c.z_dim = c.stylegan.w_dim = 128
    c.stylegan.mapping_layers = 2
    c.g_width = c.d_width = 64
    c.batch_size, c.minibatch_group = 32, 4
    # The reference ramps its EMA up (half-life 5% of the images seen, at most 10k images for
    # this batch): about 0.986 by step 1,000; a fixed 0.999 would still hold a third of the
    # initial weights there.
    c.ema_decay = 0.99
    c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 3_000, 100, 1_000, 1_000
    c.fid.update(num_samples=1_000, num_reference=5_000)
  elif variant == 'cifar10':
    c.dataset, c.image_shape = 'cifar10', (32, 32, 3)
    _paper(c, lr=0.0025, gamma=0.01)
    c.stylegan.mapping_layers, c.stylegan.mixing_prob = 2, 0.0
    c.g_width = c.d_width = 512
    c.batch_size, c.minibatch_group = 64, 32
    c.ema_decay = 0.5 ** (64 / 500_000)  # ema_kimg 500.
    c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 1_500_000, 100, 10_000, 10_000
  else:
    c.dataset, c.image_shape = 'celeb_a', (64, 64, 3)
    _paper(c, lr=0.0025, gamma=1.0)
    c.stylegan.pl_weight = 2.0
    c.g_width = c.d_width = 512
    c.batch_size, c.minibatch_group = 64, 4
    c.ema_decay = 0.5 ** (64 / 20_000)  # ema_kimg 20.
    c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 400_000, 100, 10_000, 10_000
  if smoke:
    image_common.smoke(c)
    c.z_dim = c.stylegan.w_dim = 16
  return c
