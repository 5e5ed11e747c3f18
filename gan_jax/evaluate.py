"""Evaluators, chosen by name in `config.evals` and run every `config.eval_every` steps.

Each evaluator lists the names of its metrics in METRICS and has
`run(state) -> (metrics, artifacts)`: `metrics` a dict of scalars for
metrics.jsonl and TensorBoard, `artifacts` a dict of host arrays the loop turns into PNGs:
'scatter' (2-D samples, drawn over 'centers') or 'grid' (images in [-1, 1], 'grid_cols' wide).
"""
import jax
import jax.numpy as jnp

from gan_jax import models, parallel
from gan_jax.metrics import modes as modes_lib
from gan_jax.state import sampling_params


def make_sampler(g_model, mesh, z, labels=None):
  """A compiled function state -> host samples of the generator for fixed `z` (and labels).

  It uses the weights evaluation uses (EMA when kept) in eval mode, and returns the samples
  replicated, so it also works in multi-process runs.
  """
  generate = jax.jit(
      lambda params, model_state: models.apply(g_model, params, model_state, z, labels,
                                               train=False)[0],
      out_shardings=parallel.replicated(mesh))
  return lambda state: parallel.fetch(generate(sampling_params(state), state.g_model_state))


class ModesEvaluator:
  """Mode coverage on a Gaussian-mixture dataset, from a fixed set of latents.

  The same latents are used at every evaluation, so successive scatter plots and figures
  differ only because the generator changed.
  """

  METRICS = ('modes', 'hq_fraction', 'mode_kl')

  def __init__(self, config, dataset, g_model, mesh):
    z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1),
                          (config.num_eval_samples, config.z_dim))
    mixture = dataset.mixture
    self.centers = mixture.centers

    def evaluate(params, model_state):
      samples, _ = models.apply(g_model, params, model_state, z, train=False)
      return modes_lib.mode_statistics(samples, mixture.centers, mixture.std), samples

    self._evaluate = jax.jit(evaluate, out_shardings=parallel.replicated(mesh))

  def run(self, state):
    """Returns ({'modes', 'hq_fraction', 'mode_kl'}, {'scatter', 'centers'})."""
    stats, samples = parallel.fetch(
        self._evaluate(sampling_params(state), state.g_model_state))
    metrics = {'modes': int(stats['modes']), 'hq_fraction': float(stats['hq_fraction']),
               'mode_kl': float(stats['mode_kl'])}
    return metrics, {'scatter': samples, 'centers': self.centers}


class GridEvaluator:
  """A grid of samples from fixed latents: 8x8, or one class per row when conditional."""

  COLS = 8
  METRICS = ()

  def __init__(self, config, dataset, g_model, mesh):
    del dataset
    rows = min(config.num_classes, 10) if config.num_classes else self.COLS
    z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x6121D),
                          (rows * self.COLS, config.z_dim))
    labels = (jnp.repeat(jnp.arange(rows), self.COLS) if config.num_classes else None)
    self._sample = make_sampler(g_model, mesh, z, labels)

  def run(self, state):
    """Returns ({}, {'grid': images in [-1, 1], 'grid_cols': 8})."""
    return {}, {'grid': self._sample(state), 'grid_cols': self.COLS}


EVALUATORS = {
    'modes': ModesEvaluator,
    'grid': GridEvaluator,
}


def build(config, dataset, g_model, mesh):
  """Instantiates the evaluators named in `config.evals`, in order."""
  return {name: EVALUATORS[name](config, dataset, g_model, mesh) for name in config.evals}
