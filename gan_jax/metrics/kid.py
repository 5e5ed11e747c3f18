"""Kernel Inception Distance: unbiased MMD^2 with the cubic polynomial kernel, on subsets.

As StyleGAN2-ADA's metrics/kernel_inception_distance.py computes it: k(x, y) =
(x.y / d + 1)^3, averaged over `num_subsets` random subsets of `subset_size` real and
generated features.
"""
import jax
import jax.numpy as jnp

from gan_jax.metrics.fid import HIGHEST, on_first_device


def _subset_mmd(x, y):
  """Unbiased MMD^2 estimate of one pair of equal-size subsets (float64 after the matmuls)."""
  m, d = x.shape
  kernel = lambda a, b: (jnp.matmul(a, b.T, precision=HIGHEST).astype(jnp.float64)  # noqa
                         / d + 1.0) ** 3
  a = kernel(x, x) + kernel(y, y)
  b = kernel(x, y)
  return (jnp.sum(a) - jnp.trace(a)) / (m - 1) - jnp.sum(b) * 2.0 / m


@jax.jit
def _kid(real, fake, real_idx, fake_idx):
  mmd = jax.lax.map(lambda ij: _subset_mmd(fake[ij[1]], real[ij[0]]), (real_idx, fake_idx))
  return jnp.mean(mmd) / real_idx.shape[1]


def kernel_inception_distance(real, fake, key, num_subsets=100, subset_size=1000,
                              subsets=None):
  """KID between two sets of features, subsets drawn without replacement from `key`.

  Args:
    real, fake: (n_real, d), (n_fake, d) features.
    key: PRNG key for the subsets.
    num_subsets: number of subset pairs.
    subset_size: subset size, capped at the smaller set.
    subsets: optional (real_idx, fake_idx), each (num_subsets, m) indices, used instead of
      drawing them (to compare with a reference on the same subsets).
  Returns:
    KID as a Python float (the kernels' matmuls in float32 at full precision, the sums of
    kernel values, a small difference of large numbers, in float64).
  """
  if subsets is None:
    m = min(real.shape[0], fake.shape[0], subset_size)
    keys = jax.random.split(key, 2 * num_subsets)
    pick = lambda k, n: jax.random.permutation(k, n)[:m]  # noqa: E731
    subsets = (jnp.stack([pick(k, real.shape[0]) for k in keys[:num_subsets]]),
               jnp.stack([pick(k, fake.shape[0]) for k in keys[num_subsets:]]))
  with jax.enable_x64(True):
    args = on_first_device(real, fake, dtype=jnp.float32) + on_first_device(*subsets)
    return float(_kid(*args))
