"""Improved precision and recall (Kynkäänniemi et al. 2019), k-nearest-neighbour manifolds.

A set's manifold is the union of balls around each of its features with radius the distance
to its k-th nearest neighbour in the same set (k=3). Precision: the share of generated
features inside the real manifold; recall: the share of real features inside the generated
one. As StyleGAN2-ADA's metrics/precision_recall.py, with squared Euclidean distances
computed blockwise on device.
"""
import functools

import jax
import jax.numpy as jnp

from gan_jax.metrics.distances import squared_euclidean
from gan_jax.metrics.fid import on_first_device

_BLOCK = 1024


def _blocks(x):
  n = x.shape[0]
  pad = -n % _BLOCK
  return jnp.pad(x, ((0, pad), (0, 0))).reshape(-1, _BLOCK, x.shape[1]), n


def _kth_radii(x, k):
  """Squared distance of each row of x to its k-th nearest other row."""
  blocks, n = _blocks(x)
  # The k+1 smallest includes the point itself at distance 0.
  kth = jax.lax.map(lambda blk: -jax.lax.top_k(-squared_euclidean(blk, x), k + 1)[0][:, k], blocks)
  return kth.reshape(-1)[:n]


def _coverage(manifold, radii, queries):
  """Share of `queries` within radius of at least one manifold point."""
  blocks, n = _blocks(queries)
  inside = jax.lax.map(
      lambda blk: jnp.any(squared_euclidean(blk, manifold) <= radii[None, :], axis=1), blocks)
  return jnp.mean(inside.reshape(-1)[:n].astype(jnp.float32))


def precision_recall(real, fake, k=3):
  """Improved precision and recall of generated features against real ones.

  Args:
    real: (n, d) real features; fake: (m, d) generated features.
    k: neighbourhood size.
  Returns:
    (precision, recall) as Python floats.
  """
  precision, recall = _precision_recall(*on_first_device(real, fake, dtype=jnp.float32), k)
  return float(precision), float(recall)


@functools.partial(jax.jit, static_argnames='k')
def _precision_recall(real, fake, k):
  precision = _coverage(real, _kth_radii(real, k), fake)
  recall = _coverage(fake, _kth_radii(fake, k), real)
  return precision, recall
