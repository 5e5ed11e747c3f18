"""Stacked MNIST (Metz et al. 2017; Lin et al. 2018): three digits as the channels of one
28x28x3 image, so the data has 1,000 modes, the 3-digit numbers.

The digits are the 1,000 bundled mnist5k digits that the digit classifier
(metrics/classifier.py) holds out: the classifier, trained on the other 4,000, labels the
generated channels, so it has never seen a digit the GAN trains on, and its held-out accuracy
is measured on exactly the GAN's digits. (The reference, fjxmlzn/PacGAN, draws from MNIST's
60,000 training digits, on which its Keras classifier was also trained.) As in the reference
(model.py, generate_stacked_mnist), each channel of each example is an independent uniform
draw, with replacement, from the digits.
"""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import seeds
from gan_jax.metrics import classifier

NAME = 'stacked_mnist'
CHANNELS = 3
NUM_MODES = 10 ** CHANNELS
PLACE_VALUES = (100, 10, 1)  # Channel 0 is the label's hundreds digit.


def gan_digits():
  """The digits Stacked MNIST draws from: mnist5k's digits held out from the classifier.

  Returns:
    (uint8 digits (1000, 28, 28), int labels (1000,)).
  """
  _, _, images, labels = classifier.split()
  return images[..., 0], labels


def stack(digits, labels, idx):
  """Stacked images and their labels from digit indices.

  Args:
    digits: uint8 (N, 28, 28).
    labels: int (N,) digit labels.
    idx: int (..., 3): the digit of each channel.
  Returns:
    (float32 images (..., 28, 28, 3) in [-1, 1], int32 labels (...,) 100 a + 10 b + c).
  """
  images = jnp.moveaxis(digits[idx], -3, -1).astype(jnp.float32) / 127.5 - 1.0
  return images, labels[idx] @ jnp.array(PLACE_VALUES, labels.dtype)


class StackedMNIST:
  """Stacked MNIST batches made on device; batch t is a pure function of (seed, t).

  Each batch is {'x': float32 in [-1, 1] of shape (n_critic, batch_size, 28, 28, 3), 'y':
  int32 (n_critic, batch_size), the 3-digit labels}, sharded over the 'data' axis. The
  labels are for evaluation and conditional models; an unconditional GAN ignores them.

  Args:
    config: experiment config (seed, num_seeds, n_critic, batch_size).
    mesh: the device mesh.
  """

  def __init__(self, config, mesh):
    self.name = NAME
    self.sample_shape = (28, 28, CHANNELS)
    self.num_classes = NUM_MODES
    digits, labels = gan_digits()
    replicated = NamedSharding(mesh, P())
    self.digits = jax.device_put(digits, replicated)
    self.digit_labels = jax.device_put(np.asarray(labels, np.int32), replicated)
    self._keys = seeds.keys(config, 0x0DA7A)
    shape = (config.n_critic, config.batch_size, CHANNELS)
    self._batch_at = jax.jit(
        seeds.vmap(config, functools.partial(self._sample, shape=shape),
                   in_axes=(None, None, 0, None)),
        out_shardings=seeds.batch_sharding(config, mesh))

  def _sample(self, digits, labels, key, step, *, shape):
    idx = jax.random.randint(jax.random.fold_in(key, step), shape, 0, digits.shape[0])
    x, y = stack(digits, labels, idx)
    return {'x': x, 'y': y}

  def batch_at(self, step):
    """Returns the batch for training step `step` (one per seed, stacked, for num_seeds > 1)."""
    return self._batch_at(self.digits, self.digit_labels, self._keys, step)
