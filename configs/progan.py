"""Progressive GAN (Karras et al. 2018; model=progan, gan_jax/models/progan.py).

  python -m gan_jax.main --config=configs/progan.py:mnist32 --workdir=runs/progan_digits
  python -m gan_jax.main --config=configs/progan.py:cifar10 --workdir=runs/progan_cifar10
  python -m gan_jax.main --config=configs/progan.py:celeba64 --workdir=runs/progan_celeba64
  python -m gan_jax.main --config=configs/progan.py:mnist32,smoke --workdir=runs/smoke

The networks grow from 4x4 to the data's resolution: each stage fades in over
progan.fade_steps, then trains stable for progan.stable_steps (gan_jax/progressive.py); every
stage change compiles that stage's step once (logged, and recorded in metrics.jsonl as a
'stage' event with its compile_seconds).

Shared settings, the authors' (progressive_growing_of_gans config.py and train.py, G_paper /
D_paper): WGAN-GP with lambda 10 and the drift term 0.001, one critic update per generator
update, Adam lr 0.001 with betas (0, 0.99) and eps 1e-8 for both networks, both Adam states
reset at every phase, an EMA generator (0.999), the minibatch standard deviation in groups
of 4, pixel norm and equalized learning rate, 512 feature maps up to 32x32, halved above.

Variants:
  mnist32: offline and CPU-sized: the 5,000 bundled digits zero-padded to 32x32 (mnist5k32),
    feature maps 64, batch 32, phases of 250 steps (8,000 images, where the authors show
    600,000), 2,000 steps in all, EMA 0.99, FID of 1,000 samples against the 5,000 digits.
  cifar10: tfds cifar10 at batch 64 (the authors' 1-GPU preset uses 64 at 32x32, 128 below),
    phases of 600,000 images (9,375 steps), 12 million images in all.
  celeba64: tfds celeb_a centre-cropped to 140 and resized to 64 (dcgan_celeba64's faces),
    batch 32 (the preset's 64x64 size), the same 600,000-image phases, 12 million images.
  ',smoke' shrinks any of them to 2 steps that cross from stage 0 into stage 1's fade-in.

Not here: the per-resolution batch sizes and learning rates of the authors' presets (one
batch size and rate per run), mirror augmentation, and the conditional (ACGAN) variant.
"""
from configs import default, image_common

VARIANTS = ('mnist32', 'cifar10', 'celeba64')


def _paper(c, batch_size, images_per_phase, total_images):
  """The authors' objective, optimizers and schedule at `batch_size`, with phases and a
  length given in images."""
  c.model, c.d_norm = 'progan', 'none'
  c.loss, c.gp_weight, c.d_drift = 'wgan_gp', 10.0, 0.001
  c.n_critic = 1
  c.z_dim = 512
  c.g_lr = c.d_lr = 0.001
  c.g_betas = c.d_betas = (0.0, 0.99)
  c.ema_decay = 0.999
  c.minibatch_group = 4
  c.g_width = c.d_width = 512
  c.batch_size = batch_size
  c.progan.stable_steps = c.progan.fade_steps = images_per_phase // batch_size
  c.progan.reset_optimizer = True
  c.num_steps = total_images // batch_size
  c.evals = ('grid', 'fid')
  c.best_metric, c.best_mode = 'fid', 'min'
  c.log_every, c.eval_every, c.checkpoint_every = 100, 10_000, 10_000
  return c


def get_config(arg=None):
  """The Progressive GAN experiment `arg` ('mnist32', 'cifar10,smoke', ...; see above)."""
  variant, smoke = image_common.parse_variant(arg, VARIANTS)
  c = default.get_config()
  if variant == 'mnist32':
    c.dataset, c.image_shape = 'mnist5k32', (32, 32, 1)
    _paper(c, batch_size=32, images_per_phase=8_000, total_images=64_000)
    c.z_dim = 128
    c.g_width = c.d_width = 64
    # The authors' 0.999 would still hold 13% of the initial weights at step 2,000 (and mix
    # every stage's); 0.99 keeps the EMA's half-life under 5% of the images seen, the ramp
    # stylegan2-ada applies (and configs/stylegan2.py:mnist32 follows).
    c.ema_decay = 0.99
    c.log_every, c.eval_every, c.checkpoint_every = 50, 1_000, 500
    c.fid.update(num_samples=1_000, num_reference=5_000)
  elif variant == 'cifar10':
    c.dataset, c.image_shape = 'cifar10', (32, 32, 3)
    _paper(c, batch_size=64, images_per_phase=600_000, total_images=12_000_000)
  else:
    c.dataset, c.image_shape = 'celeb_a', (64, 64, 3)
    _paper(c, batch_size=32, images_per_phase=600_000, total_images=12_000_000)
  if smoke:
    image_common.smoke(c)
    c.z_dim = 16
    c.progan.stable_steps = c.progan.fade_steps = 1
  return c
