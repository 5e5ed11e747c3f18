"""class_accuracy: the share of a conditional generator's samples a classifier puts in the
class they were generated for, on hand-made generators and classifiers with known answers."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import parallel, validation
from gan_jax.data import bundled
from gan_jax.metrics import class_accuracy
from tests.helpers import tiny_config

# Class k is drawn as a 28x28 square at pixel level LEVELS[k] inside a border of 255s, which
# a classifier that did not crop the border would read as another class.
LEVELS = np.arange(10) * 25.0
PAD = bundled.MNIST32_PAD


class _Squares(nn.Module):
  """A 'generator' of 32x32 samples: label y gives the square of class drawn[y]."""
  drawn: tuple

  @nn.compact
  def __call__(self, z, labels=None, train=False):
    del train
    self.param('unused', nn.initializers.zeros, ())
    level = jnp.asarray(LEVELS, jnp.float32)[jnp.asarray(self.drawn)[labels]] / 127.5 - 1.0
    inside = jnp.zeros((32, 32), bool).at[PAD:-PAD, PAD:-PAD].set(True)
    images = jnp.where(inside, level[:, None, None], 1.0) + 0.0 * z[:, :1, None]
    return images[..., None]


def _nearest_level(levels, pixels):
  """A 'classifier': logits peak at the class whose level is nearest the mean pixel."""
  return -jnp.abs(jnp.mean(pixels, axis=(1, 2, 3))[:, None] - levels)


@pytest.mark.parametrize('devices', [1, 8])
def test_accuracy_counts_each_sample_of_its_label_once_on_any_device_count(devices):
  # Classes 8 and 9 are drawn as each other: 8 of 10 classes right. 253 samples in batches of
  # 16 (the last one part-used): labels j mod 10 give classes 0-2 26 samples, 3-9 25.
  g = _Squares(drawn=(0, 1, 2, 3, 4, 5, 6, 7, 9, 8))
  params = g.init(jax.random.PRNGKey(0), jnp.zeros((1, 4)), jnp.zeros((1,), int))['params']
  fn = class_accuracy.make_generated_accuracy(
      g, _nearest_level, parallel.make_mesh(jax.devices()[:devices]), num_samples=253,
      batch_size=16, z_dim=4, num_classes=10, border=PAD)
  got = float(parallel.fetch(fn(params, {}, jnp.asarray(LEVELS), jax.random.PRNGKey(1))))
  assert got == pytest.approx((3 * 26 + 5 * 25) / 253, abs=1e-7)


def test_digit_pixels_crop_the_border_and_rescale_to_the_classifier_range():
  images = np.full((2, 32, 32, 1), -1.0, np.float32)
  images[:, PAD:-PAD, PAD:-PAD] = 1.0
  pixels = np.asarray(class_accuracy.digit_pixels(jnp.asarray(images), PAD))
  assert pixels.shape == (2, 28, 28, 1) and np.all(pixels == 255.0)
  assert np.asarray(class_accuracy.digit_pixels(jnp.zeros((1, 28, 28, 1)), 0)).max() == 127.5


@pytest.mark.parametrize('overrides', [dict(dataset='mnist5k32', num_classes=0),
                                       dict(dataset='digits8x8', model='dcgan',
                                            image_shape=(8, 8, 1), num_classes=10)])
def test_class_accuracy_needs_a_generator_conditional_on_the_digits(overrides):
  config = tiny_config(evals=('class_accuracy',), **overrides)
  with pytest.raises(validation.ConfigError) as error:
    validation.validate(config)
  assert "'class_accuracy'" in str(error.value) and 'num_classes=10' in str(error.value)
