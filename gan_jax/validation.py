"""Checks a config once, before any work, with errors that name field, value and what is allowed."""
import math
import numbers
import os

from gan_jax import data, evaluate, models, objectives, optim, steps
from gan_jax.metrics import class_accuracy
from gan_jax.models import biggan, ctgan, layers, mlp


class ConfigError(ValueError):
  """A config value that cannot run; its message is one line meant for the user."""


def _value(config, field):
  """The value of a dotted config field ('tabular.tau')."""
  value = config
  for part in field.split('.'):
    value = value[part]
  return value


def _check_choice(config, field, allowed):
  value = _value(config, field)
  if value not in allowed:
    raise ConfigError(f'config.{field}={value!r} is not allowed; choose one of: '
                      f'{", ".join(sorted(allowed))}')


def _check_number(config, field, *, integer, low, low_inclusive=False, high=None):
  """Requires a real (not bool) number in (low, high), or [low, high) if low_inclusive."""
  value = _value(config, field)
  kind = 'an integer' if integer else 'a number'
  wanted = numbers.Integral if integer else numbers.Real
  if isinstance(value, bool) or not isinstance(value, wanted):
    raise ConfigError(f'config.{field}={value!r} must be {kind}')
  if math.isnan(value) or math.isinf(value):
    raise ConfigError(f'config.{field}={value!r} must be a finite number')
  above = value >= low if low_inclusive else value > low
  if not above or (high is not None and value >= high):
    interval = (f'{"[" if low_inclusive else "("}{low}, '
                f'{high if high is not None else "inf"})')
    raise ConfigError(f'config.{field}={value!r} must be {kind} in {interval}')


def validate(config):
  """Raises ConfigError on the first config value that cannot run.

  Args:
    config: the experiment ConfigDict.
  """
  if not data.is_known(config.dataset):
    raise ConfigError(f'config.dataset={config.dataset!r} is neither a built-in dataset '
                      f'({", ".join(data.BUILT_IN)}), folder:PATH, nor a TensorFlow '
                      'Datasets name')
  _check_choice(config, 'model', models.NAMES)
  if config.model == 'mlp' and config.d_norm != 'none':
    raise ConfigError(f"config.d_norm={config.d_norm!r} is not allowed with config.model="
                      "'mlp': the MLP critic has no normalisation layers, so d_norm must be "
                      "'none' (choose model=dcgan for batch, layer or spectral norm)")
  _check_choice(config, 'd_norm', models.D_NORMS[config.model])
  _check_choice(config, 'compute_dtype', layers.COMPUTE_DTYPES)
  _check_choice(config, 'loss', objectives.OBJECTIVES)
  _check_choice(config, 'optimizer', optim.OPTIMIZERS)
  _check_choice(config, 'g_schedule', optim.SCHEDULES)
  _check_choice(config, 'd_schedule', optim.SCHEDULES)
  for field in ('num_steps', 'num_seeds', 'batch_size', 'n_critic', 'z_dim', 'log_every',
                'eval_every',
                'ema_standing_batches',
                'checkpoint_every', 'keep_checkpoints', 'keep_best', 'num_eval_samples',
                'g_width', 'd_width', 'mlp.width', 'mlp.depth', 'fid.num_samples',
                'fid.num_reference', 'fid.batch_size', 'fid.kid_subsets',
                'fid.kid_subset_size', 'fid.pr_k', 'fid.is_splits'):
    _check_number(config, field, integer=True, low=0)
  _check_number(config, 'seed', integer=True, low=0, low_inclusive=True)
  _check_number(config, 'ema_start', integer=True, low=0, low_inclusive=True)
  _check_number(config, 'num_classes', integer=True, low=0, low_inclusive=True)
  if config.num_classes and config.model in ('mlp', 'metz', 'stylegan2', 'progan'):
    raise ConfigError(f'config.num_classes={config.num_classes} needs a conditional model; '
                      f'config.model={config.model!r} is unconditional (use dcgan, resnet or '
                      'biggan)')
  for field in ('g_lr', 'd_lr'):
    _check_number(config, field, integer=False, low=0)
  for field in ('gp_weight', 'wgan_clip', 'r1_gamma', 'g_grad_clip', 'd_grad_clip'):
    _check_number(config, field, integer=False, low=0, low_inclusive=True)
  _check_number(config, 'ema_decay', integer=False, low=0, low_inclusive=True, high=1)
  for field in ('skip_nonfinite_updates', 'sync_batch_stats', 'data_download', 'data_resize',
                'data_flip'):
    if not isinstance(config[field], bool):
      raise ConfigError(f'config.{field}={config[field]!r} must be True or False')
  for field in ('g_betas', 'd_betas'):
    betas = tuple(config[field])
    if len(betas) != 2 or not all(isinstance(b, numbers.Real) and 0 <= b < 1 for b in betas):
      raise ConfigError(f'config.{field}={betas!r} must be two numbers in [0, 1)')
  _check_stabilisation(config)
  _check_update_order(config)
  _check_architectures(config)
  if config.mlp.activation not in mlp.ACTIVATIONS:
    raise ConfigError(f'config.mlp.activation={config.mlp.activation!r} is not allowed; '
                      f'choose one of: {", ".join(sorted(mlp.ACTIVATIONS))}')
  _check_mlp(config)
  _check_mixture(config)
  _check_stream(config)
  _check_tabular(config)
  for name in config.evals:
    if name not in evaluate.NAMES:
      raise ConfigError(f'config.evals names {name!r}, which is not an evaluator; choose '
                        f'from: {", ".join(sorted(evaluate.NAMES))}')
  if config.best_metric:
    offered = {m for name in config.evals for m in evaluate.metric_names(name)}
    if config.best_metric not in offered:
      raise ConfigError(f'config.best_metric={config.best_metric!r} is not a metric of the '
                        f'evaluators in config.evals; choose one of: '
                        f'{", ".join(sorted(offered)) or "(none)"}, or turn best-N '
                        "checkpoints off with --config.best_metric=''")
    _check_choice(config, 'best_mode', ('min', 'max'))
  if 'is' in config.evals and config.fid.num_samples < config.fid.is_splits:
    raise ConfigError(f'config.fid.num_samples={config.fid.num_samples} must be at least '
                      f'config.fid.is_splits={config.fid.is_splits} for the Inception Score')
  if 'kid' in config.evals and config.fid.kid_subset_size < 2:
    raise ConfigError(f'config.fid.kid_subset_size={config.fid.kid_subset_size} must be at '
                      'least 2')
  for field in ('inception_weights', 'reference', 'classifier'):
    path = config.fid[field]
    if path and not os.path.isfile(path):
      raise ConfigError(f'config.fid.{field}={path!r} is not a file')
  if 'modes' in config.evals and config.dataset not in data.mixtures.MIXTURES:
    raise ConfigError(f"config.evals has 'modes', which needs a Gaussian-mixture dataset, "
                      f'but config.dataset={config.dataset!r}')
  if 'stacked_modes' in config.evals and config.dataset != data.stacked_mnist.NAME:
    raise ConfigError(f"config.evals has 'stacked_modes', which needs "
                      f"config.dataset='stacked_mnist', not {config.dataset!r}")
  if 'class_accuracy' in config.evals and (
      config.dataset not in class_accuracy.DATASETS or not config.num_classes):
    raise ConfigError(f"config.evals has 'class_accuracy', which needs a generator "
                      f'conditional on the digits (config.num_classes=10) of '
                      f'{" or ".join(sorted(class_accuracy.DATASETS))}, not '
                      f'config.dataset={config.dataset!r} with '
                      f'config.num_classes={config.num_classes}')
  inception = [n for n in config.evals if n in evaluate.INCEPTION_METRICS]
  if inception and config.dataset == data.stacked_mnist.NAME:
    # Its stacks are drawn afresh each step: there is no image set to take statistics of.
    raise ConfigError(f'config.evals has {inception[0]!r}, which needs a fixed set of '
                      "training images; stacked_mnist has none: use 'stacked_modes'")


def _check_mlp(config):
  """The MLP's critic shape, maxout, generator norm and initialisation (config.mlp)."""
  for field in ('d_width', 'd_depth', 'd_maxout'):
    _check_number(config, f'mlp.{field}', integer=True, low=0, low_inclusive=True)
  if config.mlp.d_maxout == 1:
    raise ConfigError('config.mlp.d_maxout=1 is a maxout of one piece, a linear layer: use 0 '
                      'for dense layers with config.mlp.activation, or 2 or more pieces')
  if config.mlp.g_norm not in mlp.G_NORMS:
    raise ConfigError(f'config.mlp.g_norm={config.mlp.g_norm!r} is not allowed; choose one '
                      f'of: {", ".join(sorted(mlp.G_NORMS))}')
  if config.mlp.g_norm == 'batch_pac' and config.pac < 2:
    raise ConfigError(f"config.mlp.g_norm='batch_pac' normalises each pac position apart, "
                      f"but config.pac={config.pac}: use it with pac >= 2, or g_norm='batch'")
  _check_number(config, 'mlp.init_std', integer=False, low=0, low_inclusive=True)


def _check_tabular(config):
  """Tables go with the ctgan model and its settings (config.tabular)."""
  table = data.is_table(config.dataset)
  if table != (config.model == 'ctgan'):
    raise ConfigError(f'config.model={config.model!r} does not fit config.dataset='
                      f'{config.dataset!r}: tables (german, abalone, cps1988, csv:PATH, ...) '
                      'train with model=ctgan, and ctgan trains only on tables')
  table_evals = [n for n in config.evals if n in evaluate.TABLE_METRICS]
  if table_evals and not table:
    raise ConfigError(f'config.evals has {table_evals[0]!r}, which judges synthetic tables, '
                      f'but config.dataset={config.dataset!r} is not a table')
  if not table:
    return
  from gan_jax.tabular import tables  # pylint: disable=import-outside-toplevel
  t = config.tabular
  _check_number(config, 'tabular.test_fraction', integer=False, low=0, high=1)
  _check_number(config, 'tabular.split_seed', integer=True, low=0, low_inclusive=True)
  if t.missing not in tables.MISSING:
    raise ConfigError(f'config.tabular.missing={t.missing!r} is not allowed; choose one of: '
                      f'{", ".join(tables.MISSING)}')
  _check_number(config, 'tabular.max_modes', integer=True, low=0)
  _check_number(config, 'tabular.weight_threshold', integer=False, low=0, low_inclusive=True,
                high=1)
  _check_number(config, 'tabular.tau', integer=False, low=0)
  _check_number(config, 'tabular.dropout', integer=False, low=0, low_inclusive=True, high=1)
  _check_number(config, 'tabular.condition_weight', integer=False, low=0, low_inclusive=True)
  for field in ('eval_rows', 'efficacy_max_rows', 'epochs'):
    _check_number(config, f'tabular.{field}', integer=True, low=0, low_inclusive=True)
  for field in ('g_widths', 'd_widths'):
    widths = tuple(t[field])
    if not widths or not all(isinstance(w, int) and not isinstance(w, bool) and w > 0
                             for w in widths):
      raise ConfigError(f'config.tabular.{field}={widths!r} must be one or more positive '
                        'integers')
  if config.d_minibatch == 'stddev':
    raise ConfigError("config.d_minibatch='stddev' is for image and MLP critics; the ctgan "
                      "critic takes 'none' or 'discrimination'")
  _check_choice(config, 'tabular.critic_conditions', ('shared', 'permuted'))
  _check_choice(config, 'tabular.weight_init', ctgan.WEIGHT_INITS)
  if not isinstance(t.conditional, bool):
    raise ConfigError(f'config.tabular.conditional={t.conditional!r} must be True or False')


def _check_stream(config):
  """The streaming pipeline's fields; only image folders, tfds and bundled images stream."""
  _check_choice(config, 'data_stream', ('auto', 'always', 'never'))
  _check_number(config, 'data_memory_mb', integer=False, low=0)
  _check_number(config, 'data_workers', integer=True, low=0, low_inclusive=True)
  _check_number(config, 'data_crop_scale', integer=False, low=0)
  if config.data_crop_scale > 1:
    raise ConfigError(f'config.data_crop_scale={config.data_crop_scale} must be in (0, 1]: '
                      'the side of the crop as a fraction of the largest window')
  asked = [f'data_stream={config.data_stream!r}' if config.data_stream == 'always' else '',
           'data_flip=True' if config.data_flip else '',
           f'data_crop_scale={config.data_crop_scale}' if config.data_crop_scale < 1 else '']
  asked = [a for a in asked if a]
  if asked and not data.can_stream(config.dataset):
    raise ConfigError(f'config.{asked[0]} needs a streamed image dataset (folder:PATH, a tfds '
                      f'or bundled image dataset), not config.dataset={config.dataset!r}')
  if asked and config.data_stream == 'never':
    raise ConfigError(f'config.{asked[-1]} is applied by the streaming pipeline, which '
                      "config.data_stream='never' turns off: set data_stream to 'auto'")


def _check_mixture(config):
  """The 2-D mixtures' radius and standard deviation (0 keeps the dataset's own)."""
  for field in ('data_radius', 'data_std'):
    _check_number(config, field, integer=False, low=0, low_inclusive=True)
    if config[field] and config.dataset not in data.mixtures.MIXTURES:
      raise ConfigError(f'config.{field}={config[field]} applies to the 2-D mixtures '
                        f'({", ".join(data.mixtures.MIXTURES)}), not to '
                        f'config.dataset={config.dataset!r}: set it to 0')
  if config.data_radius and config.dataset not in data.mixtures.HAS_RADIUS:
    raise ConfigError(f'config.data_radius={config.data_radius} applies only to '
                      f'{", ".join(data.mixtures.HAS_RADIUS)}: the modes of '
                      f'config.dataset={config.dataset!r} are fixed, so set it to 0')


def _check_stabilisation(config):
  """The stabilisation toolkit's fields (configs/default.py documents them)."""
  for field in ('real_label', 'fake_label'):
    _check_number(config, field, integer=False, low=0, low_inclusive=True)
    if config[field] > 1:
      raise ConfigError(f'config.{field}={config[field]} must be in [0, 1]')
  if config.fake_label >= config.real_label:
    raise ConfigError(f'config.fake_label={config.fake_label} must be below '
                      f'config.real_label={config.real_label}')
  smoothed = (config.real_label, config.fake_label) != (1.0, 0.0)
  if smoothed and not objectives.get(config.loss).smoothable:
    raise ConfigError(f"label smoothing (real_label/fake_label) needs a loss with targets: "
                      f"minimax, ns or lsgan, not config.loss={config.loss!r}")
  for field in ('instance_noise', 'feature_matching', 'dragan_weight'):
    _check_number(config, field, integer=False, low=0, low_inclusive=True)
  for field in ('instance_noise_steps', 'unrolled_steps'):
    _check_number(config, field, integer=True, low=0, low_inclusive=True)
  for field in ('minibatch_kernels', 'minibatch_dim', 'minibatch_group', 'r1_every', 'pac',
                'diagnostics.patience', 'diagnostics.oscillation_window',
                'diagnostics.collapse_patience', 'diagnostics.collapse_evals'):
    _check_number(config, field, integer=True, low=0)
  for field in ('vanishing_norm', 'vanishing_ratio', 'overpowering_accuracy',
                'overpowering_loss', 'oscillation_std', 'collapse_diversity',
                'collapse_min_samples', 'collapse_modes'):
    _check_number(config, f'diagnostics.{field}', integer=False, low=0)
  if not isinstance(config.g_adversarial, bool):
    raise ConfigError(f'config.g_adversarial={config.g_adversarial!r} must be True or False')
  if not config.g_adversarial and not config.feature_matching:
    raise ConfigError('config.g_adversarial=False leaves the generator without a loss: set '
                      'config.feature_matching > 0')
  _check_choice(config, 'd_minibatch', layers.MINIBATCH)
  # CTGAN's critic packs each row with its own condition.
  if config.pac > 1 and config.num_classes and config.model != 'ctgan':
    raise ConfigError(f'config.pac={config.pac} packs samples of different classes: PacGAN '
                      'is for unconditional models (set num_classes=0 or pac=1)')


def _check_update_order(config):
  """update_order, and the fields a simultaneous step cannot honour."""
  _check_choice(config, 'update_order', steps.UPDATE_ORDERS)
  if config.update_order == 'simultaneous':
    for field, wanted in (('n_critic', 1), ('unrolled_steps', 0)):
      if config[field] != wanted:
        raise ConfigError(f"config.update_order='simultaneous' updates both players once "
                          f"from the same point: config.{field}={config[field]} must be "
                          f"{wanted} (or use update_order='alternating')")


def _check_architectures(config):
  """The fields of StyleGAN2, BigGAN and Progressive GAN (configs/default.py documents them)."""
  _check_number(config, 'g_ortho', integer=False, low=0, low_inclusive=True)
  _check_number(config, 'biggan.shared_dim', integer=True, low=0)
  for field in ('biggan.attention_g', 'biggan.attention_d'):
    _check_number(config, field, integer=True, low=0, low_inclusive=True)
  if config.model == 'biggan' and config.z_dim % biggan.CHUNKS:
    raise ConfigError(f'config.z_dim={config.z_dim} must be a multiple of {biggan.CHUNKS}: '
                      f'biggan splits z into {biggan.CHUNKS} chunks (hierarchical latents)')
  _check_number(config, 'stylegan.pl_weight', integer=False, low=0, low_inclusive=True)
  _check_number(config, 'stylegan.pl_decay', integer=False, low=0, high=1.000001)
  for field in ('stylegan.w_dim', 'stylegan.mapping_layers', 'stylegan.pl_every'):
    _check_number(config, field, integer=True, low=0)
  _check_number(config, 'stylegan.mapping_lr_mul', integer=False, low=0)
  _check_number(config, 'stylegan.truncation_psi', integer=False, low=0, low_inclusive=True,
                high=2)
  for field in ('mixing_prob', 'w_avg_beta'):
    _check_number(config, f'stylegan.{field}', integer=False, low=0, low_inclusive=True,
                  high=1.000001)
  _check_number(config, 'd_drift', integer=False, low=0, low_inclusive=True)
  _check_number(config, 'progan.stable_steps', integer=True, low=0)
  _check_number(config, 'progan.fade_steps', integer=True, low=0, low_inclusive=True)
  if not isinstance(config.progan.reset_optimizer, bool):
    raise ConfigError(f'config.progan.reset_optimizer={config.progan.reset_optimizer!r} must '
                      'be True or False')
  if config.model in ('stylegan2', 'biggan', 'progan') and config.d_minibatch != 'none':
    raise ConfigError(f'config.d_minibatch={config.d_minibatch!r} is not built into '
                      f"config.model={config.model!r}: use 'none' (the stylegan2 and progan "
                      'critics have their own minibatch std-dev, grouped by '
                      'config.minibatch_group)')
  if (config.model == 'progan' and config.progan.reset_optimizer
      and optim.schedule_decays(config)):
    raise ConfigError(f'config.g_schedule={config.g_schedule!r} / config.d_schedule='
                      f'{config.d_schedule!r}: a decaying schedule would restart at every '
                      'progan phase, whose optimizer states are reset: use constant '
                      'schedules or config.progan.reset_optimizer=False')


def check_data(config, dataset):
  """Requires the loaded dataset to fit the config's models and evaluators.

  Args:
    config: the experiment config.
    dataset: the built dataset (sample_shape, num_classes).
  """
  shape = tuple(dataset.sample_shape)
  if config.image_shape and tuple(config.image_shape) != shape:
    raise ConfigError(f'config.image_shape={tuple(config.image_shape)} but dataset '
                      f'{config.dataset!r} has examples of shape {shape} (channels and '
                      'resolution must match the model)')
  try:
    models.check_data_shape(config.model, shape)
  except ValueError as e:
    raise ConfigError(f'config.model={config.model!r} does not fit dataset '
                      f'{config.dataset!r}: {e}') from e
  if config.num_classes and config.num_classes != dataset.num_classes:
    raise ConfigError(f'config.num_classes={config.num_classes} but dataset '
                      f'{config.dataset!r} has {dataset.num_classes} classes')
  for name in config.evals:
    if name not in ('grid',) + tuple(evaluate.INCEPTION_METRICS) or len(shape) == 3:
      continue
    raise ConfigError(f'config.evals has {name!r}, which needs image data, but dataset '
                      f'{config.dataset!r} has examples of shape {shape}')


def check_devices(config, num_devices):
  """Requires the global batch to split evenly over the devices.

  Args:
    config: the experiment config.
    num_devices: the number of devices of the mesh (all processes together).
  """
  if config.batch_size % num_devices:
    raise ConfigError(f'config.batch_size={config.batch_size} must be divisible by the '
                      f'number of devices ({num_devices})')
  if config.batch_size % (num_devices * config.pac):
    raise ConfigError(f'config.batch_size={config.batch_size} must be divisible by '
                      f'config.pac={config.pac} times the number of devices ({num_devices})')
  critic_batch = config.batch_size // config.pac
  group = min(config.minibatch_group, critic_batch)
  grouped = config.d_minibatch == 'stddev' or config.model in ('stylegan2', 'progan')
  if grouped and critic_batch % group:
    raise ConfigError(f"the minibatch standard deviation (d_minibatch='stddev', stylegan2, "
                      f"progan) splits the critic's batch of {critic_batch} (batch_size / "
                      f'pac) into groups of config.minibatch_group={config.minibatch_group}: '
                      'choose a group size that divides it')
