"""Evaluators, chosen by name in `config.evals` and run every `config.eval_every` steps.

Each evaluator has `run(state) -> (metrics, artifacts)`: `metrics` a dict of scalars for
metrics.jsonl and TensorBoard, `artifacts` a dict of host arrays for plots (e.g. samples).
"""
import jax
import numpy as np

from gan_jax import models
from gan_jax.metrics import modes as modes_lib
from gan_jax.state import sampling_params


class ModesEvaluator:
  """Mode coverage on a Gaussian-mixture dataset, from a fixed set of latents.

  The same latents are used at every evaluation, so successive scatter plots and figures
  differ only because the generator changed.
  """

  def __init__(self, config, dataset, g_model):
    z = jax.random.normal(jax.random.fold_in(jax.random.PRNGKey(config.seed), 0xE7A1),
                          (config.num_eval_samples, config.z_dim))
    mixture = dataset.mixture
    self.centers = mixture.centers

    def evaluate(params, model_state):
      samples, _ = models.apply(g_model, params, model_state, z, train=False)
      return modes_lib.mode_statistics(samples, mixture.centers, mixture.std), samples

    self._evaluate = jax.jit(evaluate)

  def run(self, state):
    """Returns ({'modes', 'hq_fraction', 'mode_kl'}, {'samples': (n, 2) array})."""
    stats, samples = self._evaluate(sampling_params(state), state.g_model_state)
    stats = jax.device_get(stats)
    metrics = {'modes': int(stats['modes']), 'hq_fraction': float(stats['hq_fraction']),
               'mode_kl': float(stats['mode_kl'])}
    return metrics, {'samples': np.asarray(samples)}


EVALUATORS = {
    'modes': ModesEvaluator,
}


def build(config, dataset, g_model):
  """Instantiates the evaluators named in `config.evals`, in order."""
  return {name: EVALUATORS[name](config, dataset, g_model) for name in config.evals}
