"""GAN objectives as pure functions of discriminator outputs, and penalties.

Every loss takes raw discriminator outputs (logits for the probabilistic losses, scores for
the others) and returns a scalar mean over the batch. Probabilistic losses are written with
`softplus` on logits, since log(sigmoid(x)) = -softplus(-x) stays finite for any |x|.
"""
import dataclasses
from typing import Callable

import jax
import jax.numpy as jnp


def _bce(logits, target):
  """Binary cross-entropy of sigmoid(logits) against a (possibly smoothed) target."""
  return target * jax.nn.softplus(-logits) + (1.0 - target) * jax.nn.softplus(logits)


def minimax_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
  """-E[log D(x)] - E[log(1 - D(G(z)))], the discriminator side of the original game.

  With label smoothing (Salimans et al. 2016) the targets move off 1 and 0: one-sided
  smoothing sets real_target=0.9, two-sided also fake_target=0.1; the loss is then the
  cross-entropy against those targets.
  """
  return jnp.mean(_bce(real_logits, real_target)) + jnp.mean(_bce(fake_logits, fake_target))


def minimax_g_loss(fake_logits):
  """E[log(1 - D(G(z)))]: the saturating generator loss of Goodfellow et al. (2014)."""
  return -jnp.mean(jax.nn.softplus(fake_logits))


def ns_g_loss(fake_logits):
  """-E[log D(G(z))]: the non-saturating generator loss."""
  return jnp.mean(jax.nn.softplus(-fake_logits))


def wgan_d_loss(real_logits, fake_logits):
  """E[D(G(z))] - E[D(x)]: the critic maximises the Wasserstein-1 estimate."""
  return jnp.mean(fake_logits) - jnp.mean(real_logits)


def wgan_g_loss(fake_logits):
  """-E[D(G(z))], shared by the WGAN and hinge generators."""
  return -jnp.mean(fake_logits)


def hinge_d_loss(real_logits, fake_logits):
  """E[max(0, 1 - D(x))] + E[max(0, 1 + D(G(z)))] (Lim & Ye 2017; Miyato et al. 2018)."""
  return jnp.mean(jax.nn.relu(1.0 - real_logits)) + jnp.mean(jax.nn.relu(1.0 + fake_logits))


def lsgan_d_loss(real_logits, fake_logits, real_target=1.0, fake_target=0.0):
  """0.5 E[(D(x) - b)^2] + 0.5 E[(D(G(z)) - a)^2] (Mao et al. 2017; a=0, b=1 unless the
  labels are smoothed)."""
  return (0.5 * jnp.mean((real_logits - real_target) ** 2)
          + 0.5 * jnp.mean((fake_logits - fake_target) ** 2))


def lsgan_g_loss(fake_logits):
  """0.5 E[(D(G(z)) - 1)^2]."""
  return 0.5 * jnp.mean((fake_logits - 1.0) ** 2)


def gradient_penalty(critic_fn, real, fake, eps):
  """WGAN-GP penalty E[(||grad_x D(x_hat)||_2 - 1)^2] on random interpolates (Gulrajani 2017).

  Args:
    critic_fn: maps a batch of inputs to per-example scores of shape (batch,). Examples must
      not interact (no batch norm), so the gradient of the summed scores is per-example.
    real: real batch, shape (batch, ...), or a pytree of such arrays (an example's parts,
      such as a table row and its condition one-hot): each is interpolated with the same
      weight, and the norm is taken over all of an example's parts together.
    fake: generated batch, the same structure and shapes.
    eps: interpolation weights in [0, 1], shape (batch,).
  Returns:
    The scalar penalty (without its weight).
  """
  def blend(r, f):
    e = eps.reshape((-1,) + (1,) * (r.ndim - 1))
    return e * r + (1.0 - e) * f

  grads = jax.grad(lambda x: jnp.sum(critic_fn(x)))(jax.tree.map(blend, real, fake))
  sq_norms = sum(jnp.sum(g.reshape(g.shape[0], -1) ** 2, axis=1)
                 for g in jax.tree.leaves(grads))
  # The tiny offset keeps the derivative of sqrt finite where a gradient is exactly zero.
  norms = jnp.sqrt(sq_norms + 1e-12)
  return jnp.mean((norms - 1.0) ** 2)


def r1_penalty(critic_fn, real):
  """R1 penalty E[||grad_x D(x)||^2] on real data (Mescheder et al. 2018), without gamma / 2.

  Args:
    critic_fn: maps a batch to per-example outputs of shape (batch,); examples independent.
    real: the real batch.
  Returns:
    The scalar mean squared input-gradient norm.
  """
  grads = jax.grad(lambda x: jnp.sum(critic_fn(x)))(real)
  return jnp.mean(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=1))


def dragan_penalty(critic_fn, real, noise, alpha, data_std):
  """DRAGAN penalty E[(||grad_x D(x_hat)||_2 - 1)^2] around the real data (Kodali et al.
  2017): x_hat = x + alpha * (x_p - x) with perturbed points x_p = x + 0.5 std(x) u, u ~ U[0, 1).

  Args:
    critic_fn: per-example critic, (batch, ...) -> (batch,); examples independent.
    real: the real batch.
    noise: u, uniform in [0, 1), same shape as `real`.
    alpha: interpolation weights in [0, 1), shape (batch,).
    data_std: std(x), the standard deviation of the (global) real batch's values.
  Returns:
    The scalar penalty (without its weight).
  """
  perturbed = real + 0.5 * data_std * noise
  return gradient_penalty(critic_fn, perturbed, real, alpha)


def drift_penalty(real_logits):
  """ProGAN's drift term E[D(x)^2] on real data (Karras et al. 2018, weight epsilon_drift
  0.001 there), without its weight: keeps a Wasserstein critic's scores from drifting far
  from 0, which its loss alone does not pin.

  Args:
    real_logits: the critic's scores of the real batch.
  Returns:
    The scalar penalty.
  """
  return jnp.mean(jnp.square(real_logits))


def orthogonal_penalty(params):
  """BigGAN's orthogonal regulariser sum_W ||W^T W * (1 - I)||_F^2 (Brock et al. 2019, eq. 3).

  Each kernel (a 'kernel' leaf of two or more axes: dense and convolution weights) is taken
  as a matrix whose columns are its output filters; embeddings, biases and scales are left
  out, as BigGAN leaves out its shared embedding.

  Args:
    params: a parameter pytree.
  Returns:
    The penalty, a float32 scalar.
  """
  total = jnp.zeros((), jnp.float32)
  for path, w in jax.tree_util.tree_leaves_with_path(params):
    if jax.tree_util.keystr(path[-1:]) != "['kernel']" or w.ndim < 2:
      continue
    m = w.reshape(-1, w.shape[-1]).astype(jnp.float32)
    gram = m.T @ m
    total = total + jnp.sum(jnp.square(gram * (1.0 - jnp.eye(gram.shape[0]))))
  return total


@dataclasses.dataclass(frozen=True)
class Objective:
  """A GAN objective: the two losses and how the discriminator's outputs are read.

  Attributes:
    d_loss: (real_logits, fake_logits) -> scalar discriminator loss; the probabilistic and
      least-squares ones also take real_target and fake_target (label smoothing).
    g_loss: fake_logits -> scalar generator loss.
    probabilistic: outputs are logits of P(real); measurements report sigmoid means.
    penalty: name of a penalty the objective requires ('gp'), or None.
    clip_weights: the critic's weights are clipped after every update (WGAN).
    threshold: the output above which the critic calls a sample real (its accuracy).
  """
  d_loss: Callable
  g_loss: Callable
  probabilistic: bool
  penalty: str | None = None
  clip_weights: bool = False
  threshold: float | None = 0.0

  @property
  def smoothable(self):
    """Whether the critic's loss has targets that label smoothing can move."""
    return self.d_loss in (minimax_d_loss, lsgan_d_loss)


OBJECTIVES = {
    'minimax': Objective(minimax_d_loss, minimax_g_loss, probabilistic=True),
    'ns': Objective(minimax_d_loss, ns_g_loss, probabilistic=True),
    # A Wasserstein critic's scores have no fixed origin: its accuracy is taken against the
    # midpoint of the batch's mean real and fake scores (threshold None).
    'wgan': Objective(wgan_d_loss, wgan_g_loss, probabilistic=False, clip_weights=True,
                      threshold=None),
    'wgan_gp': Objective(wgan_d_loss, wgan_g_loss, probabilistic=False, penalty='gp',
                         threshold=None),
    'hinge': Objective(hinge_d_loss, wgan_g_loss, probabilistic=False),
    'lsgan': Objective(lsgan_d_loss, lsgan_g_loss, probabilistic=False, threshold=0.5),
}


def get(name):
  """Returns the Objective registered under `name` (one of OBJECTIVES)."""
  return OBJECTIVES[name]
