"""Whether a class-conditional generator follows its labels: the share of its samples that
a classifier assigns to the class they were generated for.

On the bundled digits this is the bundled digit classifier's accuracy on generated digits
(chance 1/10; on its held-out real digits 0.959): GAN-test of Shmelkov et al. 2018, a
classifier trained on real images judging the samples.
"""
import math

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from gan_jax import models
from gan_jax.data import bundled
from gan_jax.parallel import DATA_AXIS

# The digit datasets the classifier reads, and the border to crop back to its 28x28 input.
DATASETS = {'mnist5k': 0, 'mnist5k32': bundled.MNIST32_PAD}


def digit_pixels(images, border):
  """Generator outputs in [-1, 1], (n, H, W, 1) -> the classifier's (n, 28, 28, 1) pixels on
  the 0..255 scale, unquantised, with `border` pixels cut from each side."""
  if border:
    images = images[:, border:-border, border:-border]
  return (images + 1.0) * 127.5


def make_generated_accuracy(g_model, classifier_apply, mesh, *, num_samples, batch_size,
                            z_dim, num_classes, border):
  """A compiled function (g_params, g_model_state, classifier_params, key) -> the share of
  `num_samples` generated samples the classifier labels with their own class.

  Sample j of the run is generated for class j mod num_classes (every class equally often,
  up to one), from latents fold_in(key, i) for its batch i; each device generates and
  classifies its slice of every batch and the counts are summed over devices, so the result
  does not depend on the device count.

  Args:
    g_model: the generator (eval mode: batch-norm running averages).
    classifier_apply: (classifier_params, pixels (n, 28, 28, 1) on 0..255) -> logits.
    mesh: the device mesh; `batch_size` must divide by its size.
    num_samples: samples to classify.
    batch_size: global samples per step.
    z_dim: latent dimension.
    num_classes: the generator's classes (the classifier's first num_classes outputs).
    border: pixels to cut from each side of a sample (digit_pixels).
  Returns:
    The function; its output, a float32 scalar, is replicated.
  """
  local = batch_size // mesh.devices.size
  steps = math.ceil(num_samples / batch_size)

  def per_device(g_params, g_model_state, c_params, key):
    start = jax.lax.axis_index(DATA_AXIS) * local

    def body(correct, i):
      z = jax.random.normal(jax.random.fold_in(key, i), (batch_size, z_dim))
      position = i * batch_size + start + jnp.arange(local)
      labels = position % num_classes
      images, _ = models.apply(g_model, g_params, g_model_state,
                               jax.lax.dynamic_slice_in_dim(z, start, local), labels,
                               train=False)
      logits = classifier_apply(c_params, digit_pixels(images, border))[:, :num_classes]
      hits = (jnp.argmax(logits, axis=-1) == labels) & (position < num_samples)
      return correct + jnp.sum(hits.astype(jnp.int32)), None

    correct, _ = jax.lax.scan(body, jnp.zeros((), jnp.int32), jnp.arange(steps))
    return jax.lax.psum(correct, DATA_AXIS).astype(jnp.float32) / num_samples

  return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(), P(), P()),
                               out_specs=P(), check_vma=False))
