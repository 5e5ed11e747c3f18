"""StyleGAN2's generator and residual critic (Karras et al. 2020, "Analyzing and Improving the
Image Quality of StyleGAN"), as config F of stylegan2-ada-pytorch's training/networks.py.

Generator: z -> pixel norm -> mapping network (`mapping_layers` equalized dense layers with
learning-rate multiplier 0.01, leaky ReLU) -> w, broadcast to one w per layer; a learned 4x4
constant; per resolution two 3x3 modulated convolutions (style = an affine map of w scaling
the input channels, then demodulation: each output channel's per-example weights scaled to
unit L2 norm), each followed by per-pixel noise with a learned strength, a bias and leaky ReLU;
a skip architecture: a non-demodulated 1x1 toRGB per resolution, the image upsampled and
summed. Up- and downsampling use the [1, 3, 3, 1] low-pass filter, as upfirdn2d does.
Critic: fromRGB, residual blocks (two 3x3 convolutions, the second downsampling, plus a 1x1
downsampled skip, summed times sqrt(1/2)), then the minibatch standard deviation (groups of 4),
a 3x3 convolution and two dense layers. Every weight is drawn N(0, 1) and scaled at run time
by its He constant (equalized learning rate).

In training the generator tracks w_avg, the moving average of w over the global batch
(collection 'w_avg', the batch-norm-like state that every step already threads), and mixes
styles: with probability `mixing_prob` an example's layers from a random crossover on take
the w of a second latent. Outside training `truncation_psi` pulls every w towards w_avg
(psi 0 gives the w_avg image). The second latents, crossovers and per-pixel noise come from
keys hashed from each latent's bits (layers.row_keys), so the generator stays a pure
function of z: the same on any number of devices and in every sampler.

Differences from the reference: no fused grouped convolution (the same arithmetic: the input
is scaled by the style and the output by the demodulation coefficients), no fp16 clamping,
unconditional only, and an upsampling layer filters the nearest-zero-inserted input before
its 3x3 convolution, where the reference filters after a transposed convolution.
"""
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax import lax

from gan_jax.models import layers

D_NORMS = ('none',)
PATH_LENGTH = 'path_length'  # The generator's collection holding pl_mean.
_GAIN = math.sqrt(2.0)  # bias_act's lrelu gain: keeps a unit second moment.
_FIR = np.array([1.0, 3.0, 3.0, 1.0])


def lrelu(x):
  """Leaky ReLU (slope 0.2) times sqrt(2)."""
  return nn.leaky_relu(x, 0.2) * _GAIN


def _fir_axis(x, axis, pad, up, down):
  """The 1-D [1, 3, 3, 1] filter (summing to `up`) along `axis`, as shifted slices: XLA:CPU
  runs a depthwise convolution far slower than these few adds."""
  if up > 1:  # Zero insertion: x0 0 x1 0 ...
    x = jnp.stack([x, jnp.zeros_like(x)], axis + 1)
    x = x.reshape(x.shape[:axis] + (-1,) + x.shape[axis + 2:])
  widths = [(0, 0)] * x.ndim
  widths[axis] = pad
  x = jnp.pad(x, widths)
  n = x.shape[axis] - len(_FIR) + 1
  taps = _FIR / _FIR.sum() * up
  out = sum(t * lax.slice_in_dim(x, i, i + n, axis=axis) for i, t in enumerate(taps))
  return lax.slice_in_dim(out, 0, n, stride=down, axis=axis)


def fir_filter(x, *, pad, up=1, down=1):
  """upfirdn2d with the separable [1, 3, 3, 1] filter: zero-insert by `up`, pad, filter, keep
  every `down`-th pixel. The filter sums to up^2, so upsampling keeps the mean.

  Args:
    x: (B, H, W, C).
    pad: (low, high) padding of each spatial axis, after the zero insertion.
    up, down: 1 or 2.
  Returns:
    The filtered (B, H', W', C).
  """
  return _fir_axis(_fir_axis(x, 1, pad, up, down), 2, pad, up, down)


def upsample(x):
  """2x upsampling (upfirdn2d.upsample2d)."""
  return fir_filter(x, pad=(2, 1), up=2)


def modulated_weights(weight, styles, demodulate, eps=1e-8):
  """Per-example modulated kernels, the definition the convolution below computes.

  Args:
    weight: (k, k, I, O) kernel.
    styles: (B, I) scales of the input channels.
    demodulate: scale each example's output channel to unit L2 norm over (k, k, I).
  Returns:
    (B, k, k, I, O).
  """
  w = weight[None] * styles[:, None, None, :, None]
  if demodulate:
    w = w * lax.rsqrt(jnp.sum(jnp.square(w), axis=(1, 2, 3), keepdims=True) + eps)
  return w


def _conv(x, kernel):
  """The generator's 'same' convolutions: XLA's own, 1.4x faster than conv.py's patches for
  the whole mnist32 step (batch 32), where the critic's (layers.EqualConv) gain 1.8x in R1's
  second derivative."""
  return lax.conv_general_dilated(x, kernel.astype(x.dtype), (1, 1), 'SAME',
                                  dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


def down_conv(features, kernel, name, use_bias=True):
  """An equalized k x k convolution that filters and halves the resolution
  (conv2d_resample's padding for a k x k kernel), as a function of its input."""
  p = 2 + (kernel - 1)  # The filter's 4 - 2 plus the kernel's k - 1.
  conv = layers.EqualConv(features, kernel, stride=2, padding='VALID', use_bias=use_bias,
                          name=name)
  return lambda x: conv(fir_filter(x, pad=((p + 1) // 2, p // 2)))


class ModulatedConv(nn.Module):
  """A k x k convolution modulated by a style of w: modulated_weights applied without
  building per-example kernels (input scaled by the style, output by the demodulation)."""
  features: int
  kernel: int
  demodulate: bool = True

  @nn.compact
  def __call__(self, x, w):
    k, c_in = self.kernel, x.shape[-1]
    styles = layers.EqualDense(c_in, bias_init=1.0, name='affine')(w)
    weight = self.param('kernel', nn.initializers.normal(1.0), (k, k, c_in, self.features))
    if not self.demodulate:  # toRGB: the equalized gain, folded into the style.
      styles = styles * layers.equalized_gain(k * k * c_in)
    y = _conv(x * styles[:, None, None, :].astype(x.dtype), weight)
    if self.demodulate:
      sq = jnp.einsum('bi,io->bo', jnp.square(styles), jnp.sum(jnp.square(weight), (0, 1)))
      y = y * lax.rsqrt(sq + 1e-8)[:, None, None, :].astype(y.dtype)
    return y


class SynthesisLayer(nn.Module):
  """Modulated 3x3 convolution (optionally after 2x upsampling), noise, bias, leaky ReLU."""
  features: int
  up: bool = False

  @nn.compact
  def __call__(self, x, w, noise_keys):
    if self.up:
      x = upsample(x)
    y = ModulatedConv(self.features, 3)(x, w)
    noise = jax.vmap(lambda key: jax.random.normal(key, y.shape[1:3] + (1,)))(noise_keys)
    strength = self.param('noise_strength', nn.initializers.zeros, ())
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    return lrelu(y + (noise * strength).astype(y.dtype) + bias.astype(y.dtype))


class ToRGB(nn.Module):
  """Non-demodulated modulated 1x1 convolution to the image channels, plus a bias."""
  channels: int

  @nn.compact
  def __call__(self, x, w):
    y = ModulatedConv(self.channels, 1, demodulate=False)(x, w)
    return y + self.param('bias', nn.initializers.zeros, (self.channels,)).astype(y.dtype)


class MappingNetwork(nn.Module):
  """z -> pixel norm -> `depth` equalized dense layers (lr multiplier `lr_mul`) -> w."""
  w_dim: int
  depth: int
  lr_mul: float

  @nn.compact
  def __call__(self, z):
    h = layers.pixel_norm(z)
    for _ in range(self.depth):
      h = lrelu(layers.EqualDense(self.w_dim, lr_mul=self.lr_mul)(h))
    return h


def num_ws(resolution):
  """Styles of a generator: two per resolution above 4x4, one at 4x4, one for the last toRGB
  (a block's toRGB shares the next block's first w)."""
  return 2 * int(math.log2(resolution)) - 2


def feature_maps(width, resolution):
  """Channels at `resolution`: `width` up to 16x16, halved for every doubling above."""
  return max(min(width, width * 16 // resolution), 1)


def _keys(row_keys, salt):
  return jax.vmap(lambda k: jax.random.fold_in(k, salt))(row_keys)


class StyleGAN2Generator(nn.Module):
  """StyleGAN2's generator, called as (z, labels=None, train)."""
  resolution: int
  channels: int
  width: int
  w_dim: int = 512
  mapping_layers: int = 8
  mapping_lr_mul: float = 0.01
  mixing_prob: float = 0.9
  w_avg_beta: float = 0.995
  truncation_psi: float = 1.0
  path_length: bool = False
  sync: bool = True
  dtype: Any = None

  def _styles(self, z, train, row_keys, w_avg):
    """The per-layer styles of z: mapped, tracked into w_avg and mixed in training,
    truncated towards w_avg otherwise."""
    n = num_ws(self.resolution)
    mapping = MappingNetwork(self.w_dim, self.mapping_layers, self.mapping_lr_mul,
                             name='mapping')
    w = mapping(z)
    if train and not self.is_initializing():
      batch_mean = jnp.mean(layers.global_batch(lax.stop_gradient(w), self.sync), axis=0)
      w_avg.value = batch_mean + self.w_avg_beta * (w_avg.value - batch_mean)
    if train and self.mixing_prob > 0:
      return self._mix(mapping, z, w, row_keys)
    ws = jnp.broadcast_to(w[:, None], (w.shape[0], n, self.w_dim))
    if not train and self.truncation_psi != 1.0:
      ws = truncate(ws, w_avg.value, self.truncation_psi)
    return ws

  def _mix(self, mapping, z, w, row_keys):
    """Style mixing: each example's ws from a random crossover on are a second latent's w."""
    n = num_ws(self.resolution)
    z2 = jax.vmap(lambda k: jax.random.normal(k, z.shape[1:]))(_keys(row_keys, 1))
    w2 = mapping(z2)
    u = jax.vmap(lambda k: jax.random.uniform(k, (2,)))(_keys(row_keys, 2))
    cut = jnp.where(u[:, 0] < self.mixing_prob,
                    1 + jnp.floor(u[:, 1] * (n - 1)).astype(jnp.int32), n)
    return jnp.where(jnp.arange(n)[None, :, None] < cut[:, None, None], w[:, None], w2[:, None])

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False, styles=None, return_styles=False):
    """Images (B, H, W, C) of latents z (B, z_dim).

    Args:
      z: the latents; with `styles` given they supply only the per-pixel noise.
      labels: unused (unconditional).
      train: training mode: update w_avg and mix styles; otherwise truncate by psi.
      styles: (B, num_ws, w_dim) per-layer styles to draw instead of z's (style mixing
        grids, interpolation in w).
      return_styles: return z's per-layer styles (B, num_ws, w_dim), truncated outside
        training, instead of the images.
    """
    del labels
    row_keys = layers.row_keys(z)
    w_avg = self.variable('w_avg', 'w_avg', jnp.zeros, (self.w_dim,), jnp.float32)
    if self.path_length:  # The regulariser's running mean: state the train step updates.
      self.variable(PATH_LENGTH, 'pl_mean', jnp.zeros, (), jnp.float32)
    ws = self._styles(z, train, row_keys, w_avg) if styles is None else styles
    if return_styles:
      return ws
    ws = ws.astype(self.dtype or jnp.float32)
    const = self.param('const', nn.initializers.normal(1.0),
                       (4, 4, feature_maps(self.width, 4)))
    x = jnp.broadcast_to(const.astype(ws.dtype), (z.shape[0],) + const.shape)
    x = SynthesisLayer(feature_maps(self.width, 4), name='b4_conv')(
        x, ws[:, 0], _keys(row_keys, 10))
    img = ToRGB(self.channels, name='b4_torgb')(x, ws[:, 1])
    for i in range(1, int(math.log2(self.resolution)) - 1):
      res, ch = 4 * 2 ** i, feature_maps(self.width, 4 * 2 ** i)
      x = SynthesisLayer(ch, up=True, name=f'b{res}_conv0')(
          x, ws[:, 2 * i - 1], _keys(row_keys, 10 + 2 * i - 1))
      x = SynthesisLayer(ch, name=f'b{res}_conv1')(x, ws[:, 2 * i], _keys(row_keys, 10 + 2 * i))
      img = upsample(img) + ToRGB(self.channels, name=f'b{res}_torgb')(x, ws[:, 2 * i + 1])
    return layers.full_precision(img)


class StyleGAN2Critic(nn.Module):
  """StyleGAN2's residual critic with the minibatch standard deviation, called as
  (x, labels=None, train)."""
  resolution: int
  width: int
  minibatch_group: int = 4
  sync: bool = True
  dtype: Any = None
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del labels, train  # Unconditional; no state.
    x = x.astype(self.dtype or jnp.float32)
    h = lrelu(layers.EqualConv(feature_maps(self.width, self.resolution), 1, name='fromrgb')(x))
    res = self.resolution
    while res > 4:
      ch, ch_next = feature_maps(self.width, res), feature_maps(self.width, res // 2)
      skip = down_conv(ch_next, 1, f'b{res}_skip', use_bias=False)(h)
      h = lrelu(layers.EqualConv(ch, 3, name=f'b{res}_conv0')(h))
      h = lrelu(down_conv(ch_next, 3, f'b{res}_conv1')(h))
      h = (skip + h) * math.sqrt(0.5)
      res //= 2
    h = layers.minibatch_stddev(h, group_size=self.minibatch_group, sync=self.sync,
                                fixed_statistics=self.fixed_statistics)
    ch = feature_maps(self.width, 4)
    h = lrelu(layers.EqualConv(ch, 3, name='b4_conv')(h))
    h = lrelu(layers.EqualDense(ch, name='b4_fc')(h.reshape(h.shape[0], -1)))
    out = layers.EqualDense(1, name='out')(h)[:, 0]
    return layers.critic_head(self, h, out, minibatch='none')


def truncate(styles, w_avg, psi):
  """The truncation trick: `styles` pulled towards `w_avg`, w_avg + psi (styles - w_avg).

  Args:
    styles: (..., w_dim) styles, jax or numpy.
    w_avg: (w_dim,) the generator's tracked mean of w.
    psi: 1 keeps the styles; 0 gives w_avg.
  Returns:
    The truncated styles, of the styles' shape.
  """
  return w_avg + psi * (styles - w_avg)


def styles_of(g_model, params, model_state, z):
  """The per-layer styles (B, num_ws, w_dim) evaluation draws z with (truncated by the
  module's psi)."""
  return g_model.apply({'params': params, **model_state}, z, None, train=False,
                       return_styles=True)


def draw_styles(g_model, params, model_state, z, styles):
  """Evaluation-mode images of per-layer `styles` (B, num_ws, w_dim); z gives the noise."""
  return g_model.apply({'params': params, **model_state}, z, None, train=False,
                       styles=styles)


def path_lengths(g_model, params, model_state, z, styles, noise):
  """StyleGAN2's path lengths ||J_w^T y||: J the Jacobian of each image with respect to its
  styles, y = noise / sqrt(H W); the squared norm is summed over w's dimensions and averaged
  over the layers, as the reference does.

  Args:
    g_model, params, model_state: the generator.
    z: the latents (B, z_dim), for the per-pixel noise.
    styles: (B, num_ws, w_dim) per-layer styles to differentiate at.
    noise: (B, H, W, C) standard normal.
  Returns:
    (B,) path lengths.
  """
  images = lambda ws: draw_styles(g_model, params, model_state, z, ws)  # noqa: E731
  out, vjp = jax.vjp(images, styles)
  (grads,) = vjp(noise.astype(out.dtype) / math.sqrt(out.shape[1] * out.shape[2]))
  return jnp.sqrt(jnp.mean(jnp.sum(jnp.square(grads.astype(jnp.float32)), axis=2), axis=1))


def path_length_penalty(g_model, params, model_state, z, noise, decay, mean=jnp.mean):
  """The path-length regulariser E (a - pl_mean)^2, pl_mean moved `decay` of the way to this
  batch's mean length first (gradients flow through that move, as in the reference).

  Args:
    g_model, params, model_state: the generator, model_state holding pl_mean.
    z: the latents; their styles are drawn as training draws them (style mixing included).
    noise: (B, H, W, C) standard normal, the random image-space direction.
    decay: pl_mean's step towards the batch mean (StyleGAN2: 0.01).
    mean: the global batch's mean of a per-device mean (a pmean in the train step), for
      pl_mean.
  Returns:
    (penalty, the new model_state with pl_mean updated).
  """
  variables = {'params': params, **model_state}
  styles, _ = g_model.apply(variables, z, None, train=True, return_styles=True,
                            mutable=list(model_state))
  lengths = path_lengths(g_model, params, model_state, z, styles, noise)
  old = model_state[PATH_LENGTH]['pl_mean']
  pl_mean = old + decay * (mean(jnp.mean(lengths)) - old)
  # This device's mean: the step averages gradients and measurements over devices.
  penalty = jnp.mean(jnp.square(lengths - pl_mean))
  return penalty, {**model_state, PATH_LENGTH: {'pl_mean': lax.stop_gradient(pl_mean)}}


def mixing_styles(row_styles, col_styles, cut):
  """Styles of a style-mixing grid: cell (r, c) takes its first `cut` layers' styles (the
  coarse ones) from row r and the rest from column c.

  Args:
    row_styles: (R, num_ws, w_dim).
    col_styles: (C, num_ws, w_dim).
    cut: layers 0 .. cut-1 come from the row.
  Returns:
    (R * C, num_ws, w_dim), row-major.
  """
  r, c = row_styles.shape[0], col_styles.shape[0]
  coarse = jnp.arange(row_styles.shape[1]) < cut
  grid = jnp.where(coarse[None, None, :, None], row_styles[:, None], col_styles[None, :])
  return grid.reshape((r * c,) + row_styles.shape[1:])


def build(config, data_shape):
  """(generator, critic) for images of shape (H, H, C) from the config."""
  s, dtype = config.stylegan, layers.compute_dtype(config)
  return (StyleGAN2Generator(data_shape[0], data_shape[-1], config.g_width, s.w_dim,
                             s.mapping_layers, s.mapping_lr_mul, s.mixing_prob, s.w_avg_beta,
                             s.truncation_psi, s.pl_weight > 0, config.sync_batch_stats,
                             dtype),
          StyleGAN2Critic(data_shape[0], config.d_width, config.minibatch_group,
                          config.sync_batch_stats, dtype))
