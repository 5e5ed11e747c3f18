"""Mode coverage on Stacked MNIST (Metz et al. 2017; Lin et al. 2018, Table 3).

Each channel of a sample is labelled by a digit classifier; the sample's mode is the 3-digit
number they spell. The metrics, as fjxmlzn/PacGAN computes them (unrolled_GAN_experiment/*/
model.py, log_metrics): the number of distinct modes among the samples, and KL(p || q) in nats
between the samples' mode histogram p and the uniform q over the 1,000 modes, summed over the
modes with p > 0 (no smoothing).
"""
import jax
import jax.numpy as jnp

from gan_jax.data import stacked_mnist
from gan_jax.metrics import generated
from gan_jax.metrics.modes import coverage


def stacked_labels(logits_fn, images):
  """The mode of each stacked image: 100 x digit(channel 0) + 10 x digit(1) + digit(2).

  Args:
    logits_fn: the digit classifier, (n, 28, 28, 1) pixels on the 0..255 scale -> (n, 10)
      logits.
    images: (n, 28, 28, 3) in [-1, 1]: generator outputs or data batches.
  Returns:
    int32 (n,).
  """
  n = images.shape[0]
  channels = jnp.moveaxis(images, -1, 1).reshape((n * stacked_mnist.CHANNELS,)
                                                  + images.shape[1:3] + (1,))
  # Unquantised, as the reference classifies the generator's floats (rescaled to [0, 1]).
  digits = jnp.argmax(logits_fn((channels + 1.0) * 127.5), axis=-1).reshape(n, -1)
  return (digits @ jnp.array(stacked_mnist.PLACE_VALUES)).astype(jnp.int32)


def label_counts(labels, valid=None):
  """The (1000,) int32 histogram of `labels`, counting only entries where `valid`."""
  weights = jnp.ones_like(labels) if valid is None else valid.astype(jnp.int32)
  return jnp.zeros(stacked_mnist.NUM_MODES, jnp.int32).at[labels].add(weights)


def make_generated_coverage(g_model, classifier_apply, mesh, *, num_samples, batch_size,
                            z_dim):
  """A compiled function (g_params, g_model_state, classifier_params, key) -> coverage of
  `num_samples` generated samples, computed on the devices of `mesh`.

  The samples are drawn and labelled batch by batch as generated.make_counter does (the
  histograms summed over devices), so the result does not depend on the device count.

  Args:
    g_model: the generator (eval mode: batch-norm running averages).
    classifier_apply: (classifier_params, pixels (n, 28, 28, 1) on 0..255) -> logits.
    mesh: the device mesh; `batch_size` must divide by its size.
    num_samples: samples to label (25,600 in the reference).
    batch_size: global samples per step.
    z_dim: latent dimension.
  Returns:
    The function; its output is replicated: coverage()'s dict.
  """
  def counts(c_params, images, labels, valid):
    del labels  # Unconditional.
    return label_counts(stacked_labels(lambda x: classifier_apply(c_params, x), images),
                        valid)

  counter = generated.make_counter(
      g_model, counts, jnp.zeros(stacked_mnist.NUM_MODES, jnp.int32), mesh,
      num_samples=num_samples, batch_size=batch_size, z_dim=z_dim)
  return jax.jit(lambda *args: coverage(counter(*args)))
