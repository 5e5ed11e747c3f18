"""Settings shared by the image experiments (imported by their config files)."""
from configs import default


def dcgan(dataset, image_shape, *, arg=None):
  """DCGAN defaults (Radford et al. 2016): Adam 2e-4, betas (0.5, 0.999), batch 64, z 100,
  non-saturating loss, batch norm in both networks.

  Args:
    dataset: dataset name.
    image_shape: (H, W, C) the models are built for.
    arg: 'smoke' for a 2-step variant that tests run; None for the full experiment.
  Returns:
    The config.
  """
  c = default.get_config()
  c.dataset = dataset
  c.image_shape = image_shape
  c.model = 'dcgan'
  c.d_norm = 'batch'
  c.loss = 'ns'
  c.z_dim = 100
  c.batch_size = 64
  c.g_lr = c.d_lr = 2e-4
  c.g_betas = c.d_betas = (0.5, 0.999)
  c.evals = ('grid', 'fid')
  c.best_metric, c.best_mode = 'fid', 'min'
  c.num_steps = 20_000
  c.log_every = 100
  c.eval_every = 1_000
  c.checkpoint_every = 1_000
  return smoke(c) if _parse(arg) else c


def sngan(dataset, *, arg=None):
  """SNGAN CIFAR-10 defaults (Miyato et al. 2018): ResNet, hinge, spectral norm, n_critic 5,
  Adam 2e-4 with betas (0, 0.9), batch 64, z 128, 50k generator steps, linear decay."""
  c = default.get_config()
  c.dataset = dataset
  c.image_shape = (32, 32, 3)
  c.model = 'resnet'
  c.g_width, c.d_width = 256, 128
  c.d_norm = 'spectral'
  c.loss = 'hinge'
  c.n_critic = 5
  c.z_dim = 128
  c.batch_size = 64
  c.g_lr = c.d_lr = 2e-4
  c.g_betas = c.d_betas = (0.0, 0.9)
  c.g_schedule = c.d_schedule = 'linear'
  c.evals = ('grid', 'fid')
  c.best_metric, c.best_mode = 'fid', 'min'
  c.num_steps = 50_000
  c.log_every = 100
  c.eval_every = 5_000
  c.checkpoint_every = 5_000
  return smoke(c) if _parse(arg) else c


def parse_variant(arg, variants):
  """Splits 'VARIANT[,smoke]' into (variant, smoke); no variant is the first of `variants`.

  Raises:
    ValueError naming the allowed arguments.
  """
  parts = [p for p in (arg or '').split(',') if p]
  named = [p for p in parts if p != 'smoke']
  if len(named) > 1 or (named and named[0] not in variants) or parts.count('smoke') > 1:
    raise ValueError(f'unknown config argument {arg!r}; allowed: one of {", ".join(variants)}'
                     f', optionally followed by ,smoke')
  return (named[0] if named else variants[0]), 'smoke' in parts


def _parse(arg):
  if arg not in (None, '', 'smoke'):
    raise ValueError(f"unknown config argument {arg!r}; allowed: 'smoke' or none")
  return arg == 'smoke'


def smoke(c):
  """Shrinks a config to 2 steps of a small batch and narrow networks (same layers), at most
  2 critic updates a step (each more one is compiled again, and 2 already run the loop),
  evaluated and checkpointed at the end: the whole code path in seconds. FID is left out
  (tfds smoke runs see mock data, whose statistics must not enter the cache); fid_smoke puts
  it back."""
  c.num_steps = 2
  c.n_critic = min(c.n_critic, 2)
  c.batch_size = 8
  c.g_width = c.d_width = 16
  c.log_every = c.eval_every = c.checkpoint_every = 2
  c.evals = ('grid',)
  c.best_metric = ''
  return c


def fid_smoke(c, evals):
  """A smoke config that also runs the Inception evaluators `evals` on a few samples."""
  c.evals = ('grid',) + tuple(evals)
  c.best_metric, c.best_mode = 'fid', 'min'
  c.fid.update(num_samples=10, num_reference=20, batch_size=10, kid_subsets=5,
               kid_subset_size=5, is_splits=2)
  return c
