"""Mode coverage of samples from a Gaussian mixture (the VEEGAN/PacGAN protocol)."""
import jax
import jax.numpy as jnp


def mode_statistics(samples, centers, std, *, hq_stds=3.0):
  """Mode coverage and sample quality against a known mixture.

  As PacGAN's reference code (fjxmlzn/PacGAN, pacgan/extensions.py MetricLogger) scores
  them: a sample is high quality if it lies strictly less than `hq_stds` standard deviations
  from its nearest mode; a mode is captured if it is the nearest mode of at least one
  high-quality sample. That code logs the entropy H(p) of p, the high-quality samples'
  histogram over their nearest modes; the paper's Table 1 reports the reverse KL
  KL(p || uniform) = log k - H(p), computed here: the generated distribution first, so a
  missed mode (p = 0) adds nothing and the value stays finite (log k when every
  high-quality sample sits on one mode).

  Args:
    samples: (n, 2) generated samples.
    centers: (k, 2) mode centres.
    std: the components' standard deviation.
    hq_stds: the high-quality radius in standard deviations.
  Returns:
    dict with 'modes' (captured modes), 'hq_fraction' (share of high-quality samples) and
    'mode_kl' (the reverse KL above; NaN when no sample is high quality).
  """
  d2 = jnp.sum((samples[:, None, :] - centers[None, :, :]) ** 2, axis=-1)
  nearest = jnp.argmin(d2, axis=1)
  hq = jnp.sqrt(jnp.min(d2, axis=1)) < hq_stds * std
  counts = jnp.sum(jax.nn.one_hot(nearest, centers.shape[0]) * hq[:, None], axis=0)
  out = coverage(counts)
  return {'modes': out['modes'], 'hq_fraction': jnp.mean(hq.astype(jnp.float32)),
          'mode_kl': jnp.where(jnp.sum(counts) > 0, out['mode_kl'], jnp.nan)}


def coverage(counts):
  """Modes covered and the reverse KL of a mode histogram.

  Args:
    counts: (K,) counts of each mode (at least one nonzero).
  Returns:
    {'modes': int32 number of modes with a count, 'mode_kl': KL(p || uniform) = the sum over
    p_k > 0 of p_k log(K p_k), in nats}.
  """
  seen = counts > 0
  p = counts / jnp.sum(counts)
  kl = jnp.sum(jnp.where(seen, p * jnp.log(jnp.where(seen, p * counts.shape[0], 1.0)), 0.0))
  return {'modes': jnp.sum(seen).astype(jnp.int32), 'mode_kl': kl}
