"""Whether a class-conditional generator follows its labels: the share of its samples that
a classifier assigns to the class they were generated for.

On the bundled digits this is the bundled digit classifier's accuracy on generated digits
(chance 1/10; on its held-out real digits 0.959): GAN-test of Shmelkov et al. 2018, a
classifier trained on real images judging the samples.
"""
import jax
import jax.numpy as jnp

from gan_jax.data import bundled
from gan_jax.metrics import generated

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

  Sample j is generated for class j mod num_classes (every class equally often, up to one);
  the samples are drawn and counted as generated.make_counter does, so the result does not
  depend on the device count.

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
  def hits(c_params, images, labels, valid):
    logits = classifier_apply(c_params, digit_pixels(images, border))[:, :num_classes]
    return jnp.sum(((jnp.argmax(logits, axis=-1) == labels) & valid).astype(jnp.int32))

  counter = generated.make_counter(g_model, hits, jnp.zeros((), jnp.int32), mesh,
                                   num_samples=num_samples, batch_size=batch_size,
                                   z_dim=z_dim, num_classes=num_classes)
  return jax.jit(lambda *args: counter(*args).astype(jnp.float32) / num_samples)
