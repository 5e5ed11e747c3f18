"""Evaluators, chosen by name in `config.evals` and run every `config.eval_every` steps.

Each evaluator lists the names of its metrics in METRICS and has
`run(state) -> (metrics, artifacts)`: `metrics` a dict of scalars for
metrics.jsonl and TensorBoard, `artifacts` a dict of host arrays the loop turns into PNGs:
'scatter' (2-D samples, drawn over 'centers') or 'grid' (images in [-1, 1], 'grid_cols' wide,
with 'grid_row_labels' for conditional models), and 'figures': {name: draw(path)}, each
writing a PNG (the tables' histograms and correlation maps).
"""
import functools
import logging
import os

from flax import traverse_util
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax
from jax.sharding import PartitionSpec as P

from gan_jax import models, parallel
from gan_jax.models import layers
from gan_jax.parallel import DATA_AXIS
from gan_jax.metrics import class_accuracy, classifier, fid, inception_score
from gan_jax.metrics import inception_weights, kid
from gan_jax.metrics import modes as modes_lib
from gan_jax.metrics import pipeline, precision_recall, stacked_modes, stats_files
from gan_jax.state import sampling_params

log = logging.getLogger('gan_jax')


def standing_statistics(g_model, params, model_state, z, labels=None):
  """Batch-norm statistics of the generator `params` itself, pooled over latent batches.

  Per-device code (it runs under shard_map, like the train step): the generator runs in
  training mode on each batch of `z`; each batch-norm layer's batch mean and mean square
  are averaged over the batches and devices, so the result is the layer's statistics over
  all the latents. An EMA generator needs these: the running averages in the state were
  collected for the live weights, not for the average of past weights (Brock et al. 2019
  call the recomputed ones standing statistics).

  Args:
    g_model: the generator module.
    params: the weights to collect statistics for (the EMA weights).
    model_state: the generator's mutable collections; only 'batch_stats' is replaced.
    z: latents (num_batches, batch, z_dim), this device's shard of each batch.
    labels: class labels (num_batches, batch) for conditional models, or None.
  Returns:
    model_state with 'batch_stats' holding the pooled means and (biased) variances.
  """
  zeros = {'batch_stats': jax.tree.map(jnp.zeros_like, model_state['batch_stats'])}

  def moments(k):
    _, new = models.apply(g_model, params, {**model_state, **zeros}, z[k],
                          None if labels is None else labels[k], train=True)
    # From zero running averages one update leaves (1 - momentum) x the batch statistics.
    stats = traverse_util.flatten_dict(new['batch_stats'])
    stats = {key: v / (1.0 - layers.BN_MOMENTUM) for key, v in stats.items()}
    # Means and mean squares pool over batches; variances do not.
    return {key: v + (stats[key[:-1] + ('mean',)] ** 2 if key[-1] == 'var' else 0.0)
            for key, v in stats.items()}

  pooled = lax.pmean(jax.tree.map(lambda v: jnp.mean(v, axis=0),
                                  lax.map(moments, jnp.arange(z.shape[0]))), DATA_AXIS)
  out = {key: (v if key[-1] == 'mean' else
               jnp.maximum(v - pooled[key[:-1] + ('mean',)] ** 2, 0.0))
         for key, v in pooled.items()}
  return {**model_state, 'batch_stats': traverse_util.unflatten_dict(out)}


def make_evaluation_view(config, g_model, mesh):
  """A compiled function state -> the state evaluation and sampling use.

  With an EMA of a generator that has batch norm, the view's generator statistics are
  standing statistics of the EMA weights over `config.ema_standing_batches` batches of
  fixed latents drawn from the run's key (standing_statistics); otherwise it is the state
  itself. It takes the state of one seed.
  """
  if config.ema_decay <= 0:
    return lambda state: state
  shape = (config.ema_standing_batches, config.batch_size)
  batch_spec = P(None, DATA_AXIS)
  label_spec = batch_spec if config.num_classes else None
  standing = jax.shard_map(
      functools.partial(standing_statistics, g_model), mesh=mesh,
      in_specs=(P(), P(), batch_spec, label_spec), out_specs=P(), check_vma=False)

  @jax.jit
  def collect(params, model_state, run_key):
    key = jax.random.fold_in(run_key, 0x57A4D)
    z = jax.random.normal(key, shape + (config.z_dim,))
    labels = (jax.random.randint(jax.random.fold_in(key, 1), shape, 0, config.num_classes)
              if config.num_classes else None)
    return standing(params, model_state, z, labels)

  def view(state):
    if 'batch_stats' not in state.g_model_state:
      return state
    return state.replace(g_model_state=collect(state.ema_params, state.g_model_state,
                                               state.key))
  return view


def slerp(z0, z1, t):
  """Spherical linear interpolation between latents, linear where they are (anti)parallel.

  Args:
    z0, z1: (..., D) endpoint latents.
    t: (T,) weights; 0 gives z0 and 1 gives z1 exactly.
  Returns:
    (..., T, D): sin((1 - t) w) / sin(w) z0 + sin(t w) / sin(w) z1, w the angle between them.
  """
  z0, z1, t = np.asarray(z0, np.float64), np.asarray(z1, np.float64), np.asarray(t, np.float64)
  cos = np.sum(z0 * z1, -1) / (np.linalg.norm(z0, axis=-1) * np.linalg.norm(z1, axis=-1))
  omega = np.arccos(np.clip(cos, -1.0, 1.0))[..., None, None]
  sin = np.sin(omega)
  t = t[:, None]
  safe = np.where(sin < 1e-6, 1.0, sin)  # Avoids 0/0 where the linear weights are used.
  w0 = np.where(sin < 1e-6, 1.0 - t, np.sin((1.0 - t) * omega) / safe)
  w1 = np.where(sin < 1e-6, t, np.sin(t * omega) / safe)
  return w0 * z0[..., None, :] + w1 * z1[..., None, :]


def make_sampler(g_model, mesh, z, labels=None):
  """A compiled function state -> host samples of the generator for fixed `z` (and labels).

  It uses the weights evaluation uses (EMA when kept) in eval mode, and returns the samples
  replicated, so it also works in multi-process runs. Give it make_evaluation_view's state.
  """
  # The inputs are arguments, not constants: XLA would fold a generator's work on them
  # (CTGAN hashes its latents) into the compilation.
  generate = jax.jit(
      lambda params, model_state, z, labels: models.apply(g_model, params, model_state, z,
                                                          labels, train=False)[0],
      out_shardings=parallel.replicated(mesh))
  return lambda state: parallel.fetch(generate(sampling_params(state), state.g_model_state,
                                               z, labels))


class ModesEvaluator:
  """Mode coverage on a Gaussian-mixture dataset, from a fixed set of latents.

  The same latents (drawn from the run's key) are used at every evaluation, so successive
  scatter plots and figures differ only because the generator changed. Evaluators take the
  state of one seed.
  """

  METRICS = ('modes', 'hq_fraction', 'mode_kl')

  def __init__(self, config, dataset, g_model, mesh):
    shape = (config.num_eval_samples, config.z_dim)
    mixture = dataset.mixture
    self.centers = mixture.centers

    def evaluate(params, model_state, run_key):
      z = jax.random.normal(jax.random.fold_in(run_key, 0xE7A1), shape)
      samples, _ = models.apply(g_model, params, model_state, z, train=False)
      return modes_lib.mode_statistics(samples, mixture.centers, mixture.std), samples

    self._evaluate = jax.jit(evaluate, out_shardings=parallel.replicated(mesh))

  def run(self, state):
    """Returns ({'modes', 'hq_fraction', 'mode_kl'}, {'scatter', 'centers'})."""
    stats, samples = parallel.fetch(
        self._evaluate(sampling_params(state), state.g_model_state, state.key))
    metrics = {'modes': int(stats['modes']), 'hq_fraction': float(stats['hq_fraction']),
               'mode_kl': float(stats['mode_kl'])}
    return metrics, {'scatter': samples, 'centers': self.centers}


def _digit_classifier(settings, purpose):
  """(params, apply(params, pixels) -> logits) of the bundled digit classifier (the cached
  one, or settings.classifier: config.fid's file), logging what uses it and its accuracy."""
  params, acc = classifier.load_or_train(settings.classifier or None, log=log.info)
  log.info('%s uses the %s digit classifier (held-out accuracy %.3f)', purpose,
           classifier.DATASET, acc)
  net = classifier.DigitClassifier()
  return params, lambda p, x: net.apply({'params': p}, x)


class StackedModesEvaluator:
  """Stacked MNIST mode coverage (metrics/stacked_modes.py): the 1,000 3-digit modes among
  config.num_eval_samples samples (25,600 in the reference) of fixed latents drawn from the
  run's key, each channel labelled by the bundled digit classifier.

  The classifier (metrics/classifier.py, the cached one or config.fid.classifier) never saw
  the stacked_mnist digits; its accuracy on them, its held-out set, is 0.959 (measured), so
  about 0.959^3 = 88% of real stacks get all three digits right.
  """

  METRICS = ('modes', 'mode_kl')

  def __init__(self, config, dataset, g_model, mesh):
    del dataset
    params, apply = _digit_classifier(config.fid, "'stacked_modes' (each channel)")
    self._params = parallel.replicate(params, mesh)
    self._coverage = stacked_modes.make_generated_coverage(
        g_model, apply, mesh,
        num_samples=config.num_eval_samples, batch_size=config.batch_size, z_dim=config.z_dim)

  def run(self, state):
    """Returns ({'modes', 'mode_kl'}, {})."""
    stats = parallel.fetch(self._coverage(sampling_params(state), state.g_model_state,
                                          self._params, jax.random.fold_in(state.key, 0x57AC)))
    return {'modes': int(stats['modes']), 'mode_kl': float(stats['mode_kl'])}, {}


class ClassAccuracyEvaluator:
  """Whether a conditional generator on the bundled digits follows its labels: the share of
  config.num_eval_samples samples (fixed latents drawn from the run's key, the classes in
  turn) that the bundled digit classifier assigns to their own class (chance 0.1).
  """

  METRICS = ('class_accuracy',)

  def __init__(self, config, dataset, g_model, mesh):
    del dataset
    params, apply = _digit_classifier(config.fid, "'class_accuracy'")
    self._params = parallel.replicate(params, mesh)
    self._accuracy = class_accuracy.make_generated_accuracy(
        g_model, apply, mesh, num_samples=config.num_eval_samples,
        batch_size=config.batch_size, z_dim=config.z_dim, num_classes=config.num_classes,
        border=class_accuracy.DATASETS[config.dataset])

  def run(self, state):
    """Returns ({'class_accuracy'}, {})."""
    accuracy = self._accuracy(sampling_params(state), state.g_model_state, self._params,
                              jax.random.fold_in(state.key, 0xC1A55))
    return {'class_accuracy': float(parallel.fetch(accuracy))}, {}


class GridEvaluator:
  """A grid of samples from fixed latents: 8x8, or one class per row when conditional."""

  COLS = 8
  METRICS = ()

  def __init__(self, config, dataset, g_model, mesh):
    del dataset
    rows = min(config.num_classes, 10) if config.num_classes else self.COLS
    shape = (rows * self.COLS, config.z_dim)
    labels = (jnp.repeat(jnp.arange(rows), self.COLS) if config.num_classes else None)
    self._sample = jax.jit(
        lambda params, model_state, run_key: models.apply(
            g_model, params, model_state,
            jax.random.normal(jax.random.fold_in(run_key, 0x6121D), shape), labels,
            train=False)[0],
        out_shardings=parallel.replicated(mesh))
    self._row_labels = [f'class {k}' for k in range(rows)] if config.num_classes else None

  def run(self, state):
    """Returns ({}, {'grid': images in [-1, 1], 'grid_cols': 8, 'grid_row_labels': the
    class of each row, or None})."""
    grid = parallel.fetch(self._sample(sampling_params(state), state.g_model_state,
                                       state.key))
    return {}, {'grid': grid, 'grid_cols': self.COLS, 'grid_row_labels': self._row_labels}


class InceptionEvaluator:
  """FID, KID, precision/recall and Inception Score of the generator, all from one pass of
  the on-device pipeline over `config.fid.num_samples` samples (EMA weights when kept).

  The reference is the training data: `config.fid.num_reference` of its images (a fixed
  random subset when fewer than the dataset), embedded once and cached under the cache
  directory, or the statistics file `config.fid.reference` (FID only).

  Args:
    names: which of INCEPTION_METRICS to compute.
  """

  def __init__(self, config, dataset, g_model, mesh, names):
    settings = config.fid
    self.names = names
    self.settings = settings
    needs_features = bool({'kid', 'pr'} & set(names))
    loaded = inception_weights.load(settings.inception_weights or None)
    logits_fn = None
    if 'is' in names:
      logits_fn = 'inception' if loaded[1] else _digit_logits(settings, dataset)
    self.pipeline = pipeline.FeaturePipeline(mesh, settings.batch_size, loaded,
                                             keep_features=needs_features,
                                             logits_fn=logits_fn)
    self._generated = self.pipeline.generator(g_model, settings.num_samples, config.z_dim,
                                              config.num_classes)
    self.reference = (stats_files.load(settings.reference, needs_features)
                      if settings.reference else
                      _dataset_reference(self.pipeline, dataset, config, needs_features))

  def run(self, state):
    """Returns ({'fid', 'kid', 'precision', 'recall', 'is', 'is_std'} as asked, {})."""
    key = jax.random.fold_in(state.key, 0xF1D)
    out = self._generated(sampling_params(state), state.g_model_state, key)
    ref, metrics = self.reference, {}
    if 'fid' in self.names:
      metrics['fid'] = fid.frechet_distance(out['mu'], out['sigma'], ref['mu'], ref['sigma'])
    if 'kid' in self.names:
      metrics['kid'] = kid.kernel_inception_distance(
          ref['features'], out['features'], jax.random.fold_in(key, 1),
          self.settings.kid_subsets, self.settings.kid_subset_size)
    if 'pr' in self.names:
      metrics['precision'], metrics['recall'] = precision_recall.precision_recall(
          ref['features'], out['features'], self.settings.pr_k)
    if 'is' in self.names:
      metrics['is'], metrics['is_std'] = inception_score.inception_score(
          out['logits'], self.settings.is_splits)
    return metrics, {}


def _digit_logits(settings, dataset):
  """The bundled-digit classifier's logits function, for the offline Inception Score."""
  if tuple(dataset.sample_shape) != classifier.IMAGE_SHAPE:
    raise inception_weights.WeightsUnavailableError(
        f"config.evals has 'is', which needs class logits: pass pytorch-fid's Inception "
        f'weights (with the fc layer) as config.fid.inception_weights; the offline digit '
        f'classifier only scores {classifier.IMAGE_SHAPE} images, the data are '
        f'{tuple(dataset.sample_shape)}')
  params, apply = _digit_classifier(settings, "'is' (an MNIST score, at most 10, not "
                                              'Inception)')
  return functools.partial(apply, params)


def _dataset_reference(pipe, dataset, config, needs_features):
  """Reference statistics of the training images, from the cache or computed and cached."""
  count = min(config.fid.num_reference, dataset.num_examples)
  path = stats_files.dataset_cache_path(dataset.name, config.data_split, count,
                                        needs_features)
  if os.path.isfile(path):
    return stats_files.load(path, needs_features)
  log.info('computing FID reference statistics of %d %s images -> %s', count, dataset.name,
           path)
  out = pipe.images(dataset.reference_batches(count), total=count)
  if jax.process_index() == 0:
    stats_files.save(path, parallel.fetch(out), dataset=dataset.name,
                     split=config.data_split, keep_features=needs_features)
  return out


# Evaluators computed from Inception features share one pass of the pipeline.
INCEPTION_METRICS = {'fid': ('fid',), 'kid': ('kid',), 'pr': ('precision', 'recall'),
                     'is': ('is', 'is_std')}
# The tables' evaluators (gan_jax/tabular/evaluators.py, imported only for tables).
TABLE_METRICS = {
    'similarity': ('quality_score', 'column_shapes', 'column_pair_trends'),
    'efficacy': ('efficacy_ratio', 'efficacy_real', 'efficacy_synthetic'),
    'privacy': ('detection_auc', 'detection_score', 'dcr_synthetic_median', 'dcr_test_median',
                'dcr_closer_than_test_p5', 'dcr_exact_copies'),
}
EVALUATORS = {'modes': ModesEvaluator, 'stacked_modes': StackedModesEvaluator,
              'grid': GridEvaluator, 'class_accuracy': ClassAccuracyEvaluator}
NAMES = tuple(EVALUATORS) + tuple(INCEPTION_METRICS) + tuple(TABLE_METRICS)


def metric_names(name):
  """The metrics evaluator `name` reports."""
  if name in INCEPTION_METRICS:
    return INCEPTION_METRICS[name]
  return TABLE_METRICS[name] if name in TABLE_METRICS else EVALUATORS[name].METRICS


def build(config, dataset, g_model, mesh):
  """Instantiates the evaluators named in `config.evals`, in order; the Inception-based ones
  become one InceptionEvaluator under the key of their names joined by '+', and the tables'
  evaluators share one SyntheticTable."""
  evaluators, synthetic = {}, None
  inception_names = tuple(n for n in config.evals if n in INCEPTION_METRICS)
  for name in config.evals:
    if name in TABLE_METRICS:  # They share one synthetic table per evaluation.
      from gan_jax.tabular import evaluators as tables  # pylint: disable=import-outside-toplevel
      synthetic = synthetic or tables.SyntheticTable(config, dataset, g_model, mesh)
      evaluators[name] = tables.TableEvaluator(name, config, dataset, synthetic)
    elif name not in INCEPTION_METRICS:
      evaluators[name] = EVALUATORS[name](config, dataset, g_model, mesh)
    elif name == inception_names[0]:
      evaluators['+'.join(inception_names)] = InceptionEvaluator(
          config, dataset, g_model, mesh, inception_names)
  return evaluators
