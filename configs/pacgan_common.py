"""The PacGAN/VEEGAN 2-D mode-collapse protocol (Lin et al. 2018, Table 1), shared by
configs/pacgan_ring.py and configs/pacgan_grid.py.

The protocol follows the paper's reference code, fjxmlzn/PacGAN synthetic_data_experiments
(2DRing_GAN&PacGAN/config.py and pacgan_task.py; 2DGrid_GAN&PacGAN likewise):
- generator: z ~ N(0, I_2) -> 4 x [Dense(400, no bias) + batch norm + ReLU] -> Dense(2);
- discriminator: 3 maxout layers of 200 units x 5 pieces -> Dense(1);
- every kernel ~ N(0, 0.02), biases 0; Adam lr 1e-4, beta1 0.8 (beta2 0.999) for both
  (0.8 the first moment's decay, as Blocks has read beta1 since January 2017; the 2016 ALI
  mixture script the value comes from ran under Blocks' older 1 - decay reading);
- the standard GAN loss with the non-saturating generator loss ('ns');
- batch 100 (packed) samples, 400 epochs of 100k samples: 400k steps;
- scored on 2,500 samples: modes captured, high-quality share (< 3 std from the nearest
  mode) and the reverse KL of the modes histogram (gan_jax/metrics/modes.py).
Where this differs from the reference: batches are fresh draws from the mixture (a pure
function of (seed, step)) rather than epochs over one fixed 100k-sample set; the two networks
update in turn (the reference's ALI algorithm updates both from the same point on the same
fakes: `--config.update_order=simultaneous` does that); batch norm
keeps 0.9 of its running averages per step with eps 1e-5 (Blocks: 0.95 of its averaged
standard deviation, eps 1e-4); and a packed generator batch is normalised as one batch of
100 x pac samples (the reference runs the generator pac times on 100 latents, each call
normalised on its own: `--config.mlp.g_norm=batch_pac` does that).

Variants (`get_config(arg)`, arg = 'VARIANT' or 'VARIANT,smoke'; none means 'gan'):
  gan          the protocol's plain GAN (pac 1).
  pacgan2..4   PacGAN: the discriminator judges 2, 3 or 4 samples at once; batch_size is
               100 x pac individual samples, so each step sees 100 packed samples as in the
               reference.
  minibatch    minibatch discrimination (Salimans et al. 2016) with their 100 kernels of
               dimension 5 (openai/improved-gan MinibatchLayer).
  unrolled     the critic unrolled 5 steps (Metz et al. 2017; 5 is the authors' reference
               notebook, poolio/unrolled_gan, and what VEEGAN ran) with the paper's Adam
               lr 1e-4, beta1 0.5.
  wgan_gp      WGAN-GP (Gulrajani et al. 2017): n_critic 5, penalty weight 10 (the paper's),
               Adam lr 1e-4, betas (0.5, 0.9) (igul222/improved_wgan_training gan_toy.py).
               At weight 10 these networks do not learn the ring; at their toy script's
               0.1 (--config.gp_weight=0.1) they find 7-8 of its modes in 2,000 steps
               (BASELINES.md, stop 52).
  best         the library's recipe, fixed before any run of this protocol (not tuned on
               it): PacGAN2 with the quickstart's R1 penalty on real data (gamma 0.1) and
               an EMA of the generator (decay 0.99, short enough for budgets of a few
               thousand steps), evaluated with its standing batch-norm statistics.
  smoke        appended as ',smoke': the same layers, narrow, for 2 steps of a small batch.
Every variant keeps the protocol's networks, so a row of the table differs from 'gan' only by
its method.
"""
from configs import default

PAC = {'gan': 1, 'pacgan2': 2, 'pacgan3': 3, 'pacgan4': 4}
VARIANTS = tuple(PAC) + ('minibatch', 'unrolled', 'wgan_gp', 'best')
PACKED_BATCH = 100  # Packed samples per step: the reference's batch_size.


def parse(arg):
  """Splits a config argument into (variant, smoke).

  Args:
    arg: None, '' (the 'gan' variant), 'VARIANT', 'smoke', or 'VARIANT,smoke'.
  Returns:
    (variant name, whether to shrink it to a smoke run).
  """
  parts = [p for p in (arg or '').split(',') if p]
  smoke = 'smoke' in parts
  rest = [p for p in parts if p != 'smoke']
  if len(rest) > 1 or (rest and rest[0] not in VARIANTS) or parts.count('smoke') > 1:
    raise ValueError(f'unknown config argument {arg!r}; allowed: one of '
                     f'{", ".join(VARIANTS)}, optionally followed by ",smoke"')
  return (rest[0] if rest else 'gan'), smoke


def pacgan(dataset, arg, **mixture):
  """The protocol on `dataset`, in the variant `arg` names.

  Args:
    dataset: 'ring8' or 'grid25'.
    arg: the config argument (see parse).
    **mixture: data_radius and data_std of the dataset.
  Returns:
    The config.
  """
  variant, smoke = parse(arg)
  c = default.get_config()
  c.dataset = dataset
  c.update(mixture)
  c.model = 'mlp'
  c.mlp.update(width=400, depth=4, activation='relu', g_norm='batch', d_width=200, d_depth=3,
               d_maxout=5, init_std=0.02)
  c.z_dim = 2
  c.loss = 'ns'
  c.g_lr = c.d_lr = 1e-4
  c.g_betas = c.d_betas = (0.8, 0.999)
  c.batch_size = PACKED_BATCH
  c.num_steps = 400_000
  c.evals = ('modes',)
  c.num_eval_samples = 2_500
  c.log_every = 1_000  # One epoch of the reference (100k samples).
  c.eval_every = c.checkpoint_every = 10_000
  _apply_variant(c, variant)
  return _smoke(c) if smoke else c


def _apply_variant(c, variant):
  """Sets the fields that make `variant` on top of the protocol."""
  if variant in PAC:
    c.pac = PAC[variant]
    c.batch_size = PACKED_BATCH * c.pac
  elif variant == 'best':
    c.pac = 2
    c.batch_size = PACKED_BATCH * c.pac
    c.r1_gamma = 0.1
    c.ema_decay = 0.99
  elif variant == 'minibatch':
    c.d_minibatch = 'discrimination'
    c.minibatch_kernels, c.minibatch_dim = 100, 5
  elif variant == 'unrolled':
    c.unrolled_steps = 5
    c.g_betas = c.d_betas = (0.5, 0.999)
  elif variant == 'wgan_gp':
    c.loss = 'wgan_gp'
    c.n_critic = 5
    c.gp_weight = 10.0
    c.g_betas = c.d_betas = (0.5, 0.9)


def _smoke(c):
  """The same layers, narrow, for 2 steps of 24 samples (divisible by every pac), evaluated
  and checkpointed at the end."""
  c.mlp.update(width=16, d_width=8)
  c.minibatch_kernels, c.minibatch_dim = 4, 2
  c.num_steps = 2
  c.batch_size = 24
  c.log_every = c.eval_every = c.checkpoint_every = 2
  c.num_eval_samples = 64
  return c
