"""2-D Gaussian mixtures, the mode-collapse benchmarks of VEEGAN and PacGAN, sampled on device."""
import dataclasses
import functools

import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import seeds


@dataclasses.dataclass(frozen=True)
class Mixture:
  """An equal-weight isotropic Gaussian mixture.

  Attributes:
    centers: (num_modes, 2) float array of mode centres.
    std: standard deviation of every component.
  """
  centers: np.ndarray
  std: float


def ring8(radius=2.0, std=0.02):
  """8 modes evenly spaced on a circle, the first at angle 0.

  The defaults, radius 2 and std 0.02, are the library's original ring; PacGAN's reference
  code (configs/pacgan_ring.py) uses the unit circle with std 0.01.
  """
  angles = 2 * np.pi * np.arange(8) / 8
  return Mixture(radius * np.stack([np.cos(angles), np.sin(angles)], axis=1), std)


def grid25(std=0.05):
  """25 modes on the 5x5 grid {-4, -2, 0, 2, 4}^2."""
  xs = np.arange(-4.0, 5.0, 2.0)
  return Mixture(np.stack(np.meshgrid(xs, xs, indexing='ij'), axis=-1).reshape(-1, 2), std)


MIXTURES = {'ring8': ring8, 'grid25': grid25}
# The mixtures whose centres config.data_radius places (grid25's are fixed).
HAS_RADIUS = ('ring8',)


def from_config(config):
  """The mixture `config.dataset` with `config.data_radius` and `config.data_std` applied.

  Args:
    config: the experiment config; a data_radius or data_std of 0 keeps the default.
  Returns:
    A Mixture.
  """
  overrides = {}
  if config.data_std:
    overrides['std'] = float(config.data_std)
  if config.data_radius:
    if config.dataset not in HAS_RADIUS:
      raise ValueError(f'{config.dataset} has no radius (its centres are fixed)')
    overrides['radius'] = float(config.data_radius)
  return MIXTURES[config.dataset](**overrides)


def sample(key, mixture, shape):
  """Draws samples of shape (*shape, 2) from `mixture`."""
  k_mode, k_noise = jax.random.split(key)
  centers = jnp.asarray(mixture.centers, jnp.float32)
  idx = jax.random.randint(k_mode, shape, 0, centers.shape[0])
  return centers[idx] + mixture.std * jax.random.normal(k_noise, tuple(shape) + (2,))


class MixtureData:
  """Batches of a mixture generated on device; batch t is a pure function of (seed, t).

  Each batch is {'x': (n_critic, batch_size, 2)}, sharded over the mesh's 'data'
  axis on the batch dimension, so every process materialises only its own shard. `mixture`
  is from_config(config), which the modes evaluator scores against.
  """

  def __init__(self, config, mesh):
    self.name = config.dataset
    self.mixture = from_config(config)
    self.sample_shape = (2,)
    self.num_classes = 0
    self._keys = seeds.keys(config, 0x0DA7A)
    shape = (config.n_critic, config.batch_size)
    self._batch_at = jax.jit(
        seeds.vmap(config, functools.partial(self._sample, shape=shape), in_axes=(0, None)),
        out_shardings=seeds.batch_sharding(config, mesh))

  def _sample(self, key, step, *, shape):
    return {'x': sample(jax.random.fold_in(key, step), self.mixture, shape)}

  def batch_at(self, step):
    """Returns the batch for training step `step` (one per seed, stacked, for num_seeds > 1)."""
    return self._batch_at(self._keys, step)
