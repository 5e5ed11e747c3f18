"""Pairwise distances between sets of feature vectors, on device."""
import jax.numpy as jnp
from jax import lax


def squared_euclidean(a, b):
  """Squared Euclidean distances between the rows of `a` (n, d) and of `b` (m, d), (n, m).

  Computed from the Gram matrix (one matmul at full float32 precision, never TF32) instead
  of an (n, m, d) difference tensor; rounding can make |a|^2 + |b|^2 - 2ab slightly negative,
  so it is clamped at 0. Centre both sets by the same vector first when they lie far from
  the origin, to keep that cancellation small.
  """
  d = (jnp.sum(a * a, 1)[:, None] + jnp.sum(b * b, 1)[None, :]
       - 2.0 * jnp.matmul(a, b.T, precision=lax.Precision.HIGHEST))
  return jnp.maximum(d, 0.0)
