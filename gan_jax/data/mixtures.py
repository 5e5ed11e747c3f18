"""2-D Gaussian mixtures, the mode-collapse benchmarks of VEEGAN and PacGAN, sampled on device."""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax.data import arrays


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An equal-weight isotropic Gaussian mixture.

  Attributes:
    centers: (num_modes, 2) float array of mode centres.
    std: standard deviation of every component.
  """
  centers: np.ndarray
  std: float


def ring8():
  """8 modes evenly spaced on a circle of radius 2, std 0.02."""
  angles = 2 * np.pi * np.arange(8) / 8
  return Mixture(2.0 * np.stack([np.cos(angles), np.sin(angles)], axis=1), 0.02)


def grid25():
  """25 modes on the 5x5 grid {-4, -2, 0, 2, 4}^2, std 0.05."""
  xs = np.arange(-4.0, 5.0, 2.0)
  return Mixture(np.stack(np.meshgrid(xs, xs, indexing='ij'), axis=-1).reshape(-1, 2), 0.05)


MIXTURES = {'ring8': ring8, 'grid25': grid25}


def sample(key, mixture, shape):
  """Draws samples of shape (*shape, 2) from `mixture`."""
  k_mode, k_noise = jax.random.split(key)
  centers = jnp.asarray(mixture.centers, jnp.float32)
  idx = jax.random.randint(k_mode, shape, 0, centers.shape[0])
  return centers[idx] + mixture.std * jax.random.normal(k_noise, tuple(shape) + (2,))


class MixtureData:
  """Batches of a mixture generated on device; batch t is a pure function of (seed, t).

  Each batch is {'x': (real_batches_per_step, batch_size, 2)}, sharded over the mesh's 'data' axis on the
  batch dimension, so every process materialises only its own shard.
  """

  def __init__(self, config, mesh):
    self.name = config.dataset
    self.mixture = MIXTURES[config.dataset]()
    self.sample_shape = (2,)
    self.num_classes = 0
    self._key = jax.random.fold_in(jax.random.PRNGKey(config.seed), 0x0DA7A)
    shape = (arrays.real_batches_per_step(config), config.batch_size)
    self._batch_at = jax.jit(
        functools.partial(self._sample, shape=shape),
        out_shardings=NamedSharding(mesh, P(None, 'data')))

  def _sample(self, step, *, shape):
    return {'x': sample(jax.random.fold_in(self._key, step), self.mixture, shape)}

  def batch_at(self, step):
    """Returns the batch for training step `step`."""
    return self._batch_at(step)
