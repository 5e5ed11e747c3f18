"""BigGAN at CIFAR-10 scale (Brock et al. 2019; model=biggan, gan_jax/models/biggan.py).

  python -m gan_jax.main --config=configs/biggan.py:cifar10 --workdir=runs/biggan_cifar10
  python -m gan_jax.main --config=configs/biggan.py:mnist32 --workdir=runs/biggan_digits
  python -m gan_jax.main --config=configs/biggan.py:mnist32,smoke --workdir=runs/smoke

Variants:
  cifar10: PyTorch-StudioGAN's CIFAR-10 BigGAN (src/configs/CIFAR10/BigGAN.yaml over its
    config.py defaults): class-conditional, z 80 in 4 chunks, shared embedding 128,
    g_conv_dim = d_conv_dim = 96, attention after G's 2nd and D's 1st block, spectral norm in
    both networks, hinge loss, 5 critic updates per step, Adam 2e-4 with betas (0.5, 0.999),
    batch 64, 100k steps, EMA 0.9999 from step 1,000. StudioGAN reports FID 8.03 with it.
  mnist32: offline and CPU-sized: the same networks at g_conv_dim = d_conv_dim = 16 on the
    5,000 bundled digits padded to 32x32, conditional on the 10 classes; class_accuracy
    says whether the samples show their class.
  ',smoke' shrinks either to 2 steps for tests.

The orthogonal regulariser is off (g_ortho 0), as in StudioGAN's and BigGAN-PyTorch's CIFAR
settings; --config.g_ortho=1e-4 turns on the paper's ImageNet value.
"""
from configs import default, image_common

VARIANTS = ('cifar10', 'mnist32')


def get_config(arg=None):
  """The BigGAN experiment `arg` ('cifar10', 'mnist32,smoke', ...; see the docstring)."""
  variant, smoke = image_common.parse_variant(arg, VARIANTS)
  c = default.get_config()
  c.model, c.d_norm, c.loss = 'biggan', 'spectral', 'hinge'
  c.num_classes = 10
  c.z_dim = 80
  c.n_critic = 5
  c.g_lr = c.d_lr = 2e-4
  c.g_betas = c.d_betas = (0.5, 0.999)
  c.batch_size = 64
  c.ema_decay, c.ema_start = 0.9999, 1_000
  c.evals = ('grid', 'fid')
  c.best_metric, c.best_mode = 'fid', 'min'
  if variant == 'cifar10':
    c.dataset, c.image_shape = 'cifar10', (32, 32, 3)
    c.g_width = c.d_width = 96
    c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 100_000, 100, 5_000, 5_000
  else:
    c.dataset, c.image_shape = 'mnist5k32', (32, 32, 1)
    c.g_width = c.d_width = 16
    c.ema_decay, c.ema_start = 0.999, 200
    c.num_steps, c.log_every, c.eval_every, c.checkpoint_every = 2_000, 100, 1_000, 1_000
    c.fid.update(num_samples=1_000, num_reference=5_000)
    c.evals += ('class_accuracy',)
  if smoke:
    image_common.smoke(c)
    c.g_width = c.d_width = 8
    c.biggan.shared_dim = 8
  return c
