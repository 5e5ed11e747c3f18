"""Feature moments accumulated on device, and the Fréchet distance computed on device.

Accuracy: features are accumulated relative to a shift (the mean of the first batch), so the
covariance is not the difference of two large numbers; each batch's sum and sum of outer
products come from one float32 matmul at full precision (never TF32/bf16), and batches are
added with Kahan compensation, so 50k samples lose no more than a few float32 ulps. The
distance itself runs in float64 (enabled for that call only): FID near 0 is a difference of
traces in the hundreds.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp

HIGHEST = jax.lax.Precision.HIGHEST


class Moments(NamedTuple):
  """Running first and second moments of features; a pytree, updated inside jit."""
  count: jax.Array  # int32 ()
  shift: jax.Array  # (d,) subtracted from every feature before summing
  total: jax.Array  # (d,) sum of shifted features
  total_c: jax.Array  # Kahan compensation of `total`
  outer: jax.Array  # (d, d) sum of outer products of shifted features
  outer_c: jax.Array


def init_moments(dim):
  """Empty moments of `dim`-dimensional features."""
  z = jnp.zeros((dim,), jnp.float32)
  zz = jnp.zeros((dim, dim), jnp.float32)
  return Moments(jnp.zeros((), jnp.int32), z, z, z, zz, zz)


def _kahan_add(total, comp, x):
  y = x - comp
  t = total + y
  return t, (t - total) - y


def update_moments(m, features, axis_name=None, valid=None):
  """Adds a batch of features.

  Args:
    m: Moments (the same on every device).
    features: (n, d) features of this batch (this device's shard under shard_map).
    axis_name: the mesh axis the batch is sharded over, when called per device: the batch
      sums are psum-ed over it, so the moments stay the same on every device.
    valid: optional (n,) bool; rows that are False are ignored (padding of a last batch).
  Returns:
    the updated Moments.
  """
  features = features.astype(jnp.float32)
  w = jnp.ones(features.shape[:1], jnp.float32) if valid is None else valid.astype(jnp.float32)
  reduce = (lambda x: jax.lax.psum(x, axis_name)) if axis_name else (lambda x: x)
  n = reduce(jnp.sum(w))
  first_mean = reduce(jnp.sum(features * w[:, None], 0)) / jnp.maximum(n, 1.0)
  shift = jnp.where(m.count == 0, first_mean, m.shift)
  d = (features - shift) * w[:, None]
  total, total_c = _kahan_add(m.total, m.total_c, reduce(jnp.sum(d, 0)))
  outer, outer_c = _kahan_add(m.outer, m.outer_c,
                              reduce(jnp.matmul(d.T, d, precision=HIGHEST)))
  return Moments(m.count + n.astype(jnp.int32), shift, total, total_c, outer, outer_c)


def mean_cov(m):
  """(mu, sigma) from moments: the mean and the unbiased covariance, like np.cov."""
  n = m.count.astype(jnp.float32)
  centred = (m.total - m.total_c) / n
  outer = m.outer - m.outer_c
  sigma = (outer - n * jnp.outer(centred, centred)) / (n - 1.0)
  return m.shift + centred, (sigma + sigma.T) / 2.0


@jax.jit
def _frechet(mu1, sigma1, mu2, sigma2):
  w, v = jnp.linalg.eigh(sigma1)
  root1 = (v * jnp.sqrt(jnp.clip(w, 0.0))) @ v.T
  product = root1 @ sigma2 @ root1
  eig = jnp.linalg.eigvalsh((product + product.T) / 2.0)
  trace_sqrt = jnp.sum(jnp.sqrt(jnp.clip(eig, 0.0)))
  diff = mu1 - mu2
  return diff @ diff + jnp.trace(sigma1) + jnp.trace(sigma2) - 2.0 * trace_sqrt


def frechet_distance(mu1, sigma1, mu2, sigma2):
  """The Fréchet distance between N(mu1, sigma1) and N(mu2, sigma2), on device in float64.

  tr sqrt(sigma1 sigma2) is computed as the sum of square roots of the eigenvalues of the
  symmetric PSD matrix sqrt(sigma1) sigma2 sqrt(sigma1), which has the same eigenvalues, so
  rank-deficient covariances (fewer samples than dimensions) need no regularising offset.

  Args:
    mu1, mu2: (d,) means; sigma1, sigma2: (d, d) covariances (device or host arrays).
  Returns:
    the distance as a Python float.
  """
  with jax.enable_x64(True):
    # A distance is never negative; for two samples of one distribution the rounding of
    # float32 covariances can leave about -1e-4, which reads as a bug.
    return max(float(_frechet(*local_float64(mu1, sigma1, mu2, sigma2))), 0.0)


def on_first_device(*arrays, dtype=None):
  """Replicated device (or host) arrays -> copies on this process's first device.

  Statistics of different meshes (or from files) can then meet in one computation, and each
  process of a multi-host run computes the same value.
  """
  device = jax.local_devices()[0]
  local = [a.addressable_data(0) if isinstance(a, jax.Array) else a for a in arrays]
  return [jax.device_put(jnp.asarray(a, dtype), device) for a in local]


def local_float64(*arrays):
  """`on_first_device` in float64; call inside `jax.enable_x64(True)`."""
  return on_first_device(*arrays, dtype=jnp.float64)
