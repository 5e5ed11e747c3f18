"""Inception Score: exp E_x KL(p(y|x) || p(y)), averaged over splits.

As the original (Salimans et al. 2016) code and torch-fidelity compute it: the samples are cut
into `splits` consecutive parts, each part's score uses its own marginal p(y), and the mean and
standard deviation over parts are reported. Computed on device in float64.
"""
import functools

import jax
import jax.numpy as jnp

from gan_jax.metrics.fid import local_float64


@functools.partial(jax.jit, static_argnames='splits')
def _score(logits, splits):
  n = logits.shape[0] // splits
  parts = logits[:n * splits].reshape(splits, n, -1)
  log_p = jax.nn.log_softmax(parts, axis=-1)
  log_marginal = jnp.log(jnp.mean(jnp.exp(log_p), axis=1, keepdims=True))
  kl = jnp.sum(jnp.exp(log_p) * (log_p - log_marginal), axis=-1)
  scores = jnp.exp(jnp.mean(kl, axis=1))
  return jnp.mean(scores), jnp.std(scores)


def inception_score(logits, splits=10):
  """Inception Score of class logits.

  Args:
    logits: (n, classes) unnormalised log-probabilities of each sample's class.
    splits: number of parts (n // splits samples each; the remainder is dropped).
  Returns:
    (mean, std) over splits as Python floats.
  """
  if logits.shape[0] < splits:
    raise ValueError(f'the Inception Score needs at least splits={splits} samples, '
                     f'got {logits.shape[0]}')
  with jax.enable_x64(True):
    mean, std = _score(*local_float64(logits), splits)
    return float(mean), float(std)
