"""CTGAN's generator and critic for tables (Xu et al. 2019, "Modeling Tabular Data using
Conditional GAN"), on rows encoded by gan_jax/tabular/transformer.py.

The generator maps (latent, condition) to a row: residual blocks (Linear without bias ->
batch norm -> ReLU, the output concatenated with the block's input), then one Linear to the
row, with tanh on each continuous column's scalar and a Gumbel-softmax (temperature `tau`)
on each mode indicator and categorical one-hot. The condition (CTGAN's conditional vector)
is one category of one categorical column, a flat index into all their categories; the
generator also sows the cross-entropy of its logits on the conditioned column
('condition_loss'), which the generator's loss adds. The critic judges `pac` rows at once
(PacGAN), each with its condition: Linear -> LeakyReLU(0.2) -> dropout blocks, then a
Linear score.

The generator's Gumbel noise comes from a key hashed from the bits of each latent, so it
stays a pure function of its inputs, as every generator here is, and every sampler of the
library draws tables without knowing about the noise: the noise is the same on any number
of devices and in evaluation, distinct latents draw independent noise, and gradients do not
flow through the hash. The critic's dropout masks come from keys the step draws (`noise`).
"""
from typing import Any, Sequence

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models import layers


def gumbel_noise(keys, dim):
  """Standard Gumbel noise (rows, dim), row i drawn from keys[i]."""
  return jax.vmap(lambda k: jax.random.gumbel(k, (dim,), jnp.float32))(keys)


def gumbel_softmax(logits, noise, tau):
  """Soft samples softmax((logits + g) / tau) for Gumbel noise g (gumbel_noise).

  Args:
    logits: (..., k); an entry of -inf (padding) gets probability 0.
    noise: (..., k) standard Gumbel noise.
    tau: the temperature (CTGAN: 0.2).
  Returns:
    (..., k) points on the simplex; their argmax is a sample of softmax(logits).
  """
  return jax.nn.softmax((logits.astype(jnp.float32) + noise) / tau, axis=-1)


def _gather_table(spans):
  """Static indices that gather one-hot spans ((start, size), ...) side by side.

  A Python loop of slices, one per span, made the train step many small kernels (german's
  13 spans: 6.9 s of XLA:CPU compilation against 2.6 s gathered), so the spans are gathered
  into one padded array instead.

  Returns:
    (index, valid): int (spans, K) row positions of each span's entries, K the largest
    size, padded with the span's last position; bool (spans, K), False at the padding.
  """
  width = max(size for _, size in spans)
  index = np.array([[start + min(j, size - 1) for j in range(width)] for start, size in spans])
  valid = np.array([[j < size for j in range(width)] for _, size in spans])
  return index, valid


def condition_cross_entropy(logits, labels, condition_spans):
  """CTGAN's generator term: cross-entropy of the conditioned column's logits with the
  conditioned category, averaged over rows.

  Args:
    logits: the generator's raw outputs (rows, D).
    labels: flat condition indices (rows,): category j of the categorical columns taken
      in order, their categories concatenated.
    condition_spans: ((start, size), ...) of each categorical column's one-hot in a row.
  Returns:
    The scalar mean cross-entropy.
  """
  index, valid = _gather_table(condition_spans)
  sizes = [size for _, size in condition_spans]
  column = jnp.asarray(np.repeat(np.arange(len(sizes)), sizes))[labels]
  position = jnp.asarray(np.concatenate([start + np.arange(size)
                                         for start, size in condition_spans]))[labels]
  logits = logits.astype(jnp.float32)
  span = jnp.where(jnp.asarray(valid)[column],
                   jnp.take_along_axis(logits, jnp.asarray(index)[column], axis=1), -jnp.inf)
  picked = jnp.take_along_axis(logits, position[:, None], axis=1)[:, 0]
  return jnp.mean(jax.nn.logsumexp(span, axis=1) - picked)


def activate(logits, noise, spans, tau):
  """The generator's output row: tanh of each scalar, the Gumbel-softmax of each one-hot.

  Args:
    logits: (rows, D) raw outputs.
    noise: (rows, D) standard Gumbel noise (gumbel_noise).
    spans: ((start, size, kind), ...) covering the row, kind 'scalar' or 'softmax'.
    tau: the Gumbel-softmax temperature.
  Returns:
    (rows, D) float32.
  """
  logits = logits.astype(jnp.float32)
  one_hots = [(start, size) for start, size, kind in spans if kind != 'scalar']
  if not one_hots:
    return jnp.tanh(logits)
  index, valid = _gather_table(one_hots)
  soft = gumbel_softmax(jnp.where(valid, logits[:, index], -jnp.inf), noise[:, index], tau)
  # Each one-hot entry's place in the flattened (spans, K) soft samples.
  flat = np.zeros(logits.shape[1], np.int32)
  for s, (start, size) in enumerate(one_hots):
    flat[start:start + size] = s * index.shape[1] + np.arange(size)
  scalar = np.zeros(logits.shape[1], bool)
  for start, size, kind in spans:
    scalar[start:start + size] = kind == 'scalar'
  return jnp.where(scalar, jnp.tanh(logits), soft.reshape(soft.shape[0], -1)[:, flat])


def _condition(labels, num_conditions, dtype):
  return jax.nn.one_hot(labels, num_conditions, dtype=dtype or jnp.float32)


WEIGHT_INITS = ('lecun', 'pytorch')


def _linear(features, fan_in, weight_init, dtype, use_bias=True):
  """nn.Dense initialised as flax does ('lecun': truncated-normal weights of variance
  1 / fan_in, zero biases) or as PyTorch's nn.Linear, which CTGAN's networks use
  ('pytorch': weights and biases uniform in +-1 / sqrt(fan_in), a third of the variance)."""
  if weight_init == 'lecun':
    return nn.Dense(features, use_bias=use_bias, dtype=dtype)
  bound = 1.0 / np.sqrt(fan_in)
  uniform = lambda key, shape, dtype=jnp.float32: jax.random.uniform(  # noqa: E731
      key, shape, dtype, -bound, bound)
  return nn.Dense(features, use_bias=use_bias, dtype=dtype, kernel_init=uniform,
                  bias_init=uniform)


class CTGANGenerator(nn.Module):
  """Maps latents (rows, z_dim) and conditions (rows,) to encoded rows (rows, D).

  Attributes:
    spans: ((start, size, kind), ...) covering the row: kind 'scalar' (tanh) or 'softmax'
      (Gumbel-softmax).
    condition_spans: ((start, size), ...) of the categorical one-hots the conditions index.
    widths: the residual blocks' widths (CTGAN: 256, 256).
    tau: the Gumbel-softmax temperature.
    sync_batch_stats: average batch statistics over the 'data' mesh axis when training.
    dtype: the computation's dtype (None: the parameters'); outputs are float32.
    weight_init: the Linear layers' initialisation, one of WEIGHT_INITS (see _linear).
  """
  spans: Sequence[Any]
  condition_spans: Sequence[Any]
  widths: Sequence[int] = (256, 256)
  tau: float = 0.2
  sync_batch_stats: bool = True
  dtype: Any = None
  weight_init: str = 'lecun'

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    num_conditions = sum(size for _, size in self.condition_spans)
    h = z if labels is None else jnp.concatenate(
        [z, _condition(labels, num_conditions, z.dtype)], axis=-1)
    for width in self.widths:
      # No bias: batch norm's shift replaces it (CTGAN's Linear has one, whose gradient is
      # zero but for rounding, which Adam's first steps would blow up to +-lr).
      out = _linear(width, h.shape[-1], self.weight_init, self.dtype, use_bias=False)(h)
      out = layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype)(out)
      h = jnp.concatenate([nn.relu(out), h.astype(out.dtype)], axis=-1)
    dim = sum(size for _, size, _ in self.spans)
    logits = layers.full_precision(_linear(dim, h.shape[-1], self.weight_init, self.dtype)(h))
    if labels is not None:
      self.sow('intermediates', 'condition_loss',
               condition_cross_entropy(logits, labels, self.condition_spans))
    # One draw per row for the whole row (one generator to compile).
    return activate(logits, gumbel_noise(layers.row_keys(z), dim), self.spans, self.tau)


class CTGANCritic(nn.Module):
  """Scores packed rows: input (rows / pac, pac * D), conditions (rows,); output (rows / pac,).

  Its dropout masks come from `noise`, uint32 (rows / pac, 2): one PRNG key per pack, drawn
  by the step for the global batch (a hash of the inputs would not do: the critic's inputs
  are computed values, whose last bits differ with the device count).

  Each row's condition one-hot joins its pack (the pac one-hots after the pac rows: a fixed
  permutation of CTGAN's row-then-condition order, which the first Linear absorbs). The
  conditions come as indices (rows,), or as weights (rows / pac, pac * num_conditions): the
  packed one-hots or their blends, which CTGAN's gradient penalty interpolates.

  Attributes:
    num_conditions: the number of conditions (0: unconditional).
    widths: the hidden layers' widths (CTGAN: 256, 256).
    dropout: the dropout rate after each hidden layer (CTGAN: 0.5), active when training.
    minibatch: 'none' or 'discrimination' (minibatch discrimination before the score,
      layers.critic_head).
    minibatch_kernels, minibatch_dim: its tensor's size.
    dtype: the computation's dtype.
    fixed_statistics: hold the other examples fixed for differentiation (the penalties'
      critic, a clone with it set).
    weight_init: the Linear layers' initialisation, one of WEIGHT_INITS (see _linear).
  """
  num_conditions: int = 0
  widths: Sequence[int] = (256, 256)
  dropout: float = 0.5
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  dtype: Any = None
  fixed_statistics: bool = False
  weight_init: str = 'lecun'

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False, noise=None):
    h = x
    if labels is not None:  # Indices, or weights over the conditions (packed interpolates).
      cond = (labels.astype(x.dtype) if jnp.issubdtype(labels.dtype, jnp.floating)
              else _condition(labels, self.num_conditions, x.dtype))
      h = jnp.concatenate([x, cond.reshape(x.shape[0], -1)], axis=-1)
    dropping = train and self.dropout > 0
    if dropping and noise is None:
      raise ValueError('the CTGAN critic drops units in training: give it `noise`, one '
                       'uint32 key pair per pack (steps.py draws them)')
    keep = None
    if dropping:  # Every layer's mask in one draw per pack: one generator to compile.
      keys = jax.random.wrap_key_data(noise, impl='threefry2x32')
      keep = jax.vmap(lambda k: jax.random.bernoulli(k, 1.0 - self.dropout,
                                                     (sum(self.widths),)))(keys)
    offset = 0
    for width in self.widths:
      h = nn.leaky_relu(_linear(width, h.shape[-1], self.weight_init, self.dtype)(h), 0.2)
      if keep is not None:
        h = jnp.where(keep[:, offset:offset + width], h / (1.0 - self.dropout),
                      0.0).astype(h.dtype)
      offset += width
    out = _linear(1, h.shape[-1], self.weight_init, self.dtype)(h)[:, 0]
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              kernels=self.minibatch_kernels, dim=self.minibatch_dim,
                              fixed_statistics=self.fixed_statistics)


def build(config, layout):
  """Returns (generator, critic) for the rows laid out by `layout`.

  Args:
    config: the experiment config (config.tabular: widths, tau, dropout; num_classes: the
      number of conditions, 0 for an unconditional model).
    layout: the table's RowLayout (data/table_data.py): 'spans' ((start, size, kind), ...)
      and 'condition_spans' ((start, size), ...).
  Returns:
    (CTGANGenerator, CTGANCritic).
  """
  t, dtype = config.tabular, layers.compute_dtype(config)
  condition_spans = tuple(layout.condition_spans) if config.num_classes else ()
  generator = CTGANGenerator(tuple(layout.spans), condition_spans, tuple(t.g_widths), t.tau,
                             config.sync_batch_stats, dtype, weight_init=t.weight_init)
  critic = CTGANCritic(config.num_classes, tuple(t.d_widths), t.dropout, config.d_minibatch,
                       config.minibatch_kernels, config.minibatch_dim, dtype,
                       weight_init=t.weight_init)
  return generator, critic
