"""Mode coverage of samples from a Gaussian mixture (the VEEGAN/PacGAN protocol)."""
import jax
import jax.numpy as jnp


def mode_statistics(samples, centers, std, *, hq_stds=3.0):
  """Mode coverage and sample quality against a known mixture.

  A sample is high quality if it lies within `hq_stds` standard deviations of its nearest
  mode; a mode is captured if it is the nearest mode of at least one high-quality sample.

  Args:
    samples: (n, 2) generated samples.
    centers: (k, 2) mode centres.
    std: the components' standard deviation.
    hq_stds: the high-quality radius in standard deviations.
  Returns:
    dict with 'modes' (captured modes), 'hq_fraction' (share of high-quality samples) and
    'mode_kl' (KL divergence from the uniform distribution over modes to the histogram of
    high-quality samples over their nearest modes; NaN when no sample is high quality).
  """
  d2 = jnp.sum((samples[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
  nearest = jnp.argmin(d2, axis=1)
  hq = jnp.sqrt(jnp.min(d2, axis=1)) <= hq_stds * std
  k = centers.shape[0]
  counts = jnp.sum(jax.nn.one_hot(nearest, k) * hq[:, None], axis=0)
  p = counts / jnp.sum(counts)
  kl = jnp.sum(jnp.where(counts > 0, p * jnp.log(jnp.where(counts > 0, p * k, 1.0)), 0.0))
  kl = jnp.where(jnp.sum(counts) > 0, kl, jnp.nan)
  return {'modes': jnp.sum(counts > 0).astype(jnp.int32),
          'hq_fraction': jnp.mean(hq.astype(jnp.float32)),
          'mode_kl': kl}
