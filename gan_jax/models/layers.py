"""Layers shared by the image models: spectral norm, (conditional) batch norm, equalized
learning rate and pixel norm, minibatch layers, init helpers."""
import math
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax.models import conv
from gan_jax.parallel import DATA_AXIS

SPECTRAL = 'spectral'  # The mutable collection holding the power-iteration vectors.

# config.compute_dtype -> the layers' dtype; None computes in the parameters' dtype.
COMPUTE_DTYPES = {'float32': None, 'bfloat16': jnp.bfloat16}


def compute_dtype(config):
  """The dtype the models compute in (`config.compute_dtype`); parameters, optimizer
  state and losses stay float32 (mixed precision)."""
  return COMPUTE_DTYPES[config.compute_dtype]


def full_precision(x):
  """`x` as float32 when it was computed in a 16-bit dtype, else unchanged: models hand
  their outputs to losses and metrics in full precision."""
  return x.astype(jnp.float32) if jnp.finfo(x.dtype).bits < 32 else x


dcgan_init = nn.initializers.normal(0.02)  # N(0, 0.02) for every conv, as in the DCGAN paper.


# Odd multipliers of the row hash, fixed so a row's noise is the same in every process.
_HASH_WORDS = 4096
_MULTIPLIERS = np.random.default_rng(0xC7A9).integers(
    1, 2 ** 32, size=(2, _HASH_WORDS), dtype=np.uint64).astype(np.uint32) | np.uint32(1)


def row_keys(x):
  """One PRNG key per row of `x` (rows, features), hashed from the bits of the row.

  Args:
    x: float array (rows, features); only its bits are read (no gradient flows).
  Returns:
    Typed PRNG keys of shape (rows,).
  """
  bits = jax.lax.bitcast_convert_type(jax.lax.stop_gradient(x).astype(jnp.float32), jnp.uint32)
  bits = bits.reshape(x.shape[0], -1)
  words = bits.shape[1]
  reps = -(-words // _HASH_WORDS)
  mult = jnp.asarray(np.tile(_MULTIPLIERS, (1, reps))[:, :words])
  # Two multiply-add hashes make the key's two words; threefry then mixes them.
  data = jnp.stack([jnp.sum(bits * mult[0], axis=1, dtype=jnp.uint32),
                    jnp.sum(bits * mult[1], axis=1, dtype=jnp.uint32)], -1)
  return jax.random.wrap_key_data(data, impl='threefry2x32')


def dcgan_scale_init(key, shape, dtype=jnp.float32):
  """Batch-norm scales ~ N(1, 0.02), the DCGAN reference initialisation."""
  return 1.0 + 0.02 * jax.random.normal(key, shape, dtype)


def spectral(layer, x, *, enabled, train):
  """Applies `layer` to `x`, its kernels divided by their spectral norm when `enabled`.

  One power-iteration step per training-mode call updates the persistent `u` vectors in the
  'spectral' collection; in eval mode the stored vectors are read and never written.

  Args:
    layer: an unbound Linen layer (Dense, Conv, ConvTranspose, Embed).
    x: its input.
    enabled: wrap the layer in spectral normalisation.
    train: training mode.
  Returns:
    The layer's output.
  """
  if not enabled:
    return layer(x)
  return SpectralNorm(layer)(x, update_stats=train)


def _l2_normalize(x, eps):
  return x * jax.lax.rsqrt((x * x).sum(keepdims=True) + eps)


class SpectralNorm(nn.Module):
  """A layer whose kernels are divided by their spectral norm (Miyato et al. 2018).

  Computes what flax.linen.SpectralNorm computes with one power-iteration step, and keeps
  its variables ('<layer>/<param>/u' and '.../sigma' in the 'spectral' collection, the
  layer's parameters where the layer was made), so checkpoints restore into either. The
  power iteration runs on the kernel with its gradient stopped: Flax differentiates the
  iteration and then discards that gradient, a quarter of the tracing time of a BigGAN
  generator and critic's forward and backward pass.

  Attributes:
    layer_instance: the wrapped Linen layer (Dense, Conv, ConvTranspose, Embed).
    epsilon: added under the square root of each L2 normalisation.
  """
  layer_instance: nn.Module
  epsilon: float = 1e-12

  @nn.compact
  def __call__(self, x, *, update_stats):
    """The layer's output on `x` with normalised kernels; `update_stats` stores the power
    iteration's new `u` and `sigma`."""
    def normalise(variables):
      return jax.tree_util.tree_map_with_path(
          lambda path, v: self._normalise(path, v, update_stats), variables)
    return nn.map_variables(lambda layer: layer(x), trans_in_fn=normalise,
                            init=self.is_initializing(), mutable=True)(self.layer_instance)

  def _normalise(self, path, value, update_stats):
    if value.ndim <= 1:  # Biases and scales are left as they are.
      return value
    name = '/'.join([self.layer_instance.name] + [key.key for key in path[1:]])
    matrix = value.reshape(-1, value.shape[-1])
    u_var = self.variable(SPECTRAL, f'{name}/u', jax.random.normal,
                          None if self.has_variable(SPECTRAL, f'{name}/u')
                          else self.make_rng('params'), (1, matrix.shape[-1]), jnp.float32)
    sigma_var = self.variable(SPECTRAL, f'{name}/sigma', jnp.ones, (), jnp.float32)
    fixed = jax.lax.stop_gradient(matrix)
    v = _l2_normalize(jnp.matmul(u_var.value, fixed.T), self.epsilon)
    u = _l2_normalize(jnp.matmul(v, fixed), self.epsilon)
    # The gradient flows through sigma's dependence on the kernel only, as in Flax.
    sigma = jnp.matmul(jnp.matmul(v, matrix), u.T)[0, 0]
    if update_stats:
      u_var.value, sigma_var.value = u, sigma
    return (matrix / jnp.where(sigma != 0, sigma, 1)).reshape(value.shape)


BN_MOMENTUM = 0.9  # Running averages keep 0.9 of their value per update: PyTorch's 0.1.


class BatchNorm(nn.Module):
  """Batch norm over every axis but the last, with statistics that can be held fixed.

  Same variables, statistics and running-average update as flax.linen.BatchNorm (the mean
  of x and of x^2, reduced in at least float32). With `fixed_statistics` the batch mean and
  variance are constants for differentiation, so each output's input gradient is that
  example's own: what gradient penalties of a batch-norm critic need (a plain batch-norm
  critic's summed-output gradient mixes every example's term).

  Attributes:
    use_running_average: normalise with the running averages (eval mode), else with the
      batch statistics, updating the averages.
    axis_name: average the batch statistics over this mesh axis (outside initialisation).
    use_scale, use_bias, scale_init: the learned affine transform.
    dtype: the output's dtype (None: the input's, at least float32).
    fixed_statistics: stop the gradient through the batch statistics.
    groups: G > 1 normalises example i with the statistics of the examples at i's position
      modulo G (G interleaved groups), and updates the running averages with the mean of
      the groups' statistics. With G = pac these are the groups PacGAN's reference code
      draws in pac generator calls, each normalised on its own (models.pack puts G
      consecutive examples in one packed sample).
  """
  use_running_average: bool
  axis_name: str | None = None
  use_scale: bool = True
  use_bias: bool = True
  scale_init: Any = nn.initializers.ones
  dtype: Any = None
  fixed_statistics: bool = False
  groups: int = 1

  @nn.compact
  def __call__(self, x):
    features = x.shape[-1]
    ra_mean = self.variable('batch_stats', 'mean', jnp.zeros, (features,), jnp.float32)
    ra_var = self.variable('batch_stats', 'var', jnp.ones, (features,), jnp.float32)
    xf = x.astype(jnp.promote_types(x.dtype, jnp.float32))
    # The initialiser's single example makes no groups; it only shapes the variables.
    groups = 1 if self.use_running_average or self.is_initializing() else self.groups
    if x.shape[0] % groups:
      raise ValueError(f'batch norm in {groups} groups needs a batch divisible by {groups}, '
                       f'got {x.shape[0]} examples')
    # Grouped: (batch / G, G, ..., features), reduced over every axis but 1 and the last.
    xg = xf.reshape((x.shape[0] // groups, groups) + x.shape[1:]) if groups > 1 else xf
    if self.use_running_average:
      mean, var = ra_mean.value, ra_var.value
    else:
      axes = tuple(a for a in range(xg.ndim - 1) if groups == 1 or a != 1)
      moments = jnp.stack([jnp.mean(xg, axes), jnp.mean(xg * xg, axes)])
      if self.axis_name is not None and not self.is_initializing():
        moments = jax.lax.pmean(moments, self.axis_name)
      mean, var = moments[0], jnp.maximum(moments[1] - moments[0] ** 2, 0.0)
      if self.fixed_statistics:
        mean, var = jax.lax.stop_gradient(mean), jax.lax.stop_gradient(var)
      if not self.is_initializing():
        ra_mean.value = (BN_MOMENTUM * ra_mean.value
                         + (1.0 - BN_MOMENTUM) * mean.reshape(-1, features).mean(0))
        ra_var.value = (BN_MOMENTUM * ra_var.value
                        + (1.0 - BN_MOMENTUM) * var.reshape(-1, features).mean(0))
      if groups > 1:  # Each group's statistics, broadcast over its examples' other axes.
        mean = mean.reshape((groups,) + (1,) * (x.ndim - 2) + (features,))
        var = var.reshape(mean.shape)
    y = ((xg - mean) * jax.lax.rsqrt(var + 1e-5)).reshape(x.shape)
    if self.use_scale:
      y = y * self.param('scale', self.scale_init, (features,))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (features,))
    return y.astype(self.dtype or xf.dtype)


def batch_norm(*, train, sync, scale_init=nn.initializers.ones, dtype=None, fixed=False,
               affine=True, groups=1, name=None):
  """Batch norm with PyTorch's defaults (momentum 0.1, eps 1e-5).

  Args:
    train: use batch statistics and update the running averages.
    sync: in training mode, average the statistics over the 'data' mesh axis, so a
      data-parallel step normalises exactly like one device holding the global batch.
    scale_init: initialiser of the scale.
    dtype: the output's dtype (None: the input's); statistics are reduced in float32.
    fixed: hold the batch statistics fixed for differentiation (BatchNorm).
    affine: learn a scale and a shift; False leaves them to the caller (conditional batch
      norms, whose scale and shift depend on the example).
    groups: normalise G interleaved groups of examples apart (BatchNorm.groups).
    name: optional module name.
  Returns:
    A BatchNorm module.
  """
  return BatchNorm(use_running_average=not train,
                   axis_name=DATA_AXIS if (sync and train) else None, use_scale=affine,
                   use_bias=affine, scale_init=scale_init, dtype=dtype,
                   fixed_statistics=fixed, groups=groups, name=name)


class ConditionalBatchNorm(nn.Module):
  """Batch norm whose scale and shift are looked up per class (de Vries et al. 2017).

  Attributes:
    num_classes: number of classes.
    sync: synchronise batch statistics over the 'data' axis in training mode.
    dtype: the computation's dtype (None: the input's).
  """
  num_classes: int
  sync: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, labels, train: bool = False):
    features = x.shape[-1]
    h = batch_norm(train=train, sync=self.sync, dtype=self.dtype, affine=False)(x)
    gamma = nn.Embed(self.num_classes, features, embedding_init=nn.initializers.ones,
                     dtype=self.dtype)(labels)
    beta = nn.Embed(self.num_classes, features, embedding_init=nn.initializers.zeros,
                    dtype=self.dtype)(labels)
    return h * gamma[:, None, None, :] + beta[:, None, None, :]


# For output phase a (row or column parity), the 4x4 kernel tap that each of the 3 positions
# of a 3x3 window over the input uses; 4 selects a zero tap.
_PHASE_TAPS = np.array([[0, 2, 4], [4, 1, 3]])


def up_conv_subpixel(x, kernel):
  """The stride-2, 4x4 transposed convolution of UpConv, as one 3x3 convolution.

  Output pixel (2i + a, 2j + b) depends on a 3x3 input window through the taps of phase
  (a, b): the four phases become 4 x C_out channels of an ordinary convolution, then move
  to their pixels (depth to space). XLA:CPU differentiates ordinary convolutions about four
  times faster than input-dilated ones; the result is the same.
  """
  c_in, c_out = kernel.shape[2:]
  padded = jnp.pad(kernel, ((0, 1), (0, 1), (0, 0), (0, 0)))
  phases = [padded[_PHASE_TAPS[a]][:, _PHASE_TAPS[b]] for a in (0, 1) for b in (0, 1)]
  k = jnp.stack(phases, axis=3).reshape(3, 3, c_in, 4 * c_out)
  y = jax.lax.conv_general_dilated(x, k, (1, 1), ((1, 1), (1, 1)),
                                   dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
  b, h, w, _ = y.shape
  return y.reshape(b, h, w, 2, 2, c_out).transpose(0, 1, 3, 2, 4, 5).reshape(
      b, 2 * h, 2 * w, c_out)


def _phase_window(phase):
  """(first window position, kernel taps) of the 2 non-zero taps of `phase`'s 3-window."""
  positions = np.flatnonzero(_PHASE_TAPS[phase] != 4)
  return positions[0], _PHASE_TAPS[phase][positions]


def up_conv_phases(x, kernel):
  """The stride-2, 4x4 transposed convolution of UpConv, as four 2x2 convolutions.

  Each output phase (a, b) is a 2x2 convolution of the input with its own four taps of the
  kernel, computed as a matrix product over patches (conv.patch_conv): the transposed
  convolution's own work, none of the zero taps up_conv_subpixel multiplies, and
  derivatives that are matrix products too. The phases then interleave into pixels.
  """
  n, h, w, _ = x.shape
  padded = jnp.pad(x, ((0, 0), (1, 1), (1, 1), (0, 0)))
  rows = []
  for a in (0, 1):
    (top, rows_taps), cols = _phase_window(a), []
    for b in (0, 1):
      left, col_taps = _phase_window(b)
      window = padded[:, top:top + h + 1, left:left + w + 1]
      k = kernel[rows_taps][:, col_taps]
      cols.append(conv.patch_conv(window, k, (1, 1), ((0, 0), (0, 0))))
    rows.append(jnp.stack(cols, axis=3))
  return jnp.stack(rows, axis=2).reshape(n, 2 * h, 2 * w, kernel.shape[-1])


def up_conv_transpose(x, kernel):
  """The same operation as flax's ConvTranspose(4x4, stride 2, padding (2, 2))."""
  return jax.lax.conv_transpose(x, kernel, (2, 2), ((2, 2), (2, 2)),
                                dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


class UpConv(nn.Module):
  """Doubles height and width: a 4x4, stride-2 transposed convolution without bias, like
  PyTorch's ConvTranspose2d(k=4, s=2, p=1), with the kernel layout of flax's ConvTranspose.

  On CPU it runs as matrix products over patches (up_conv_phases), or where those do not pay
  (conv.patches_pay: RGB outputs, tiny models) as one ordinary convolution
  (up_conv_subpixel); elsewhere as the transposed convolution the accelerator libraries
  implement directly. `dtype` is the computation's dtype (None: the input's; the kernel is
  stored in float32).
  """
  features: int
  kernel_init: nn.initializers.Initializer = dcgan_init
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
    op = up_conv_transpose
    if jax.default_backend() == 'cpu':
      n, h, w, c = x.shape  # Each phase: a 2x2 convolution of an (h + 1, w + 1) window.
      phase_pays = conv.patches_pay((n, h + 1, w + 1, c), (2, 2, c, self.features), (1, 1),
                                    ((0, 0), (0, 0)))
      op = up_conv_phases if phase_pays else up_conv_subpixel
    if self.dtype is not None:
      x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    return op(x, kernel)


def equalized_gain(fan_in, lr_mul=1.0, gain=1.0):
  """The run-time weight scale of an equalized layer: gain x lr_mul / sqrt(fan_in).

  Equalized learning rate (Karras et al. 2018): the stored weight is drawn N(0, 1 / lr_mul^2)
  and scaled by this constant at every call, so the effective weight starts He-initialised
  (for `gain` sqrt(2), ProGAN's) while Adam's step on the stored weight moves every layer's
  effective weight at the same relative rate, lr x lr_mul.
  """
  return gain * lr_mul / math.sqrt(fan_in)


def pixel_norm(x, eps=1e-8):
  """x scaled to unit root-mean-square over its last axis (ProGAN's pixelwise feature
  normalisation; StyleGAN2's normalisation of z)."""
  return x * jax.lax.rsqrt(jnp.mean(jnp.square(x), axis=-1, keepdims=True) + eps)


class EqualDense(nn.Module):
  """A dense layer with equalized learning rate (equalized_gain), bias times lr_mul."""
  features: int
  lr_mul: float = 1.0
  bias_init: float = 0.0
  gain: float = 1.0
  use_bias: bool = True

  @nn.compact
  def __call__(self, x):
    fan_in = x.shape[-1]
    w = self.param('kernel', lambda k, s: jax.random.normal(k, s) / self.lr_mul,
                   (fan_in, self.features))
    y = x @ (w * equalized_gain(fan_in, self.lr_mul, self.gain)).astype(x.dtype)
    if not self.use_bias:
      return y
    b = self.param('bias', nn.initializers.constant(self.bias_init / self.lr_mul),
                   (self.features,))
    return y + (b * self.lr_mul).astype(x.dtype)


class EqualConv(nn.Module):
  """A k x k NHWC convolution with equalized learning rate (equalized_gain).

  It goes through conv.py, whose patch products make the penalties' second derivatives
  (R1, WGAN-GP) up to 1.8x faster on CPU where they pay (conv.patches_pay).
  """
  features: int
  kernel: int
  stride: int = 1
  padding: Any = 'SAME'
  use_bias: bool = True
  gain: float = 1.0

  @nn.compact
  def __call__(self, x):
    k, c_in = self.kernel, x.shape[-1]
    w = self.param('kernel', nn.initializers.normal(1.0), (k, k, c_in, self.features))
    w = w * equalized_gain(k * k * c_in, gain=self.gain)
    y = conv.conv_general_dilated(x, w.astype(x.dtype), (self.stride, self.stride),
                                  self.padding, dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    if self.use_bias:
      y = y + self.param('bias', nn.initializers.zeros, (self.features,)).astype(y.dtype)
    return y


def check_square_power_of_two(model, data_shape):
  """Raises ValueError unless the data are square images of a power-of-two size >= 8, as
  the resolution-doubling models (stylegan2, progan) need."""
  size = data_shape[0] if data_shape else 0
  if not (len(data_shape) == 3 and size == data_shape[1] and size >= 8
          and size & (size - 1) == 0):
    raise ValueError(f'{model} needs square images of a power-of-two size >= 8 (H, H, C), '
                     f'the data has shape {tuple(data_shape)} (mnist5k32 pads the digits to '
                     f'32x32)')


MINIBATCH = ('none', 'discrimination', 'stddev')


def global_batch(x, sync=True):
  """All examples of the global batch when `sync` and inside the data-parallel step (so a
  sharded step sees what one device would), else this call's own batch."""
  if not sync:
    return x
  try:
    return jax.lax.all_gather(x, DATA_AXIS, tiled=True)
  except NameError:  # Outside shard_map (initialisation): no axis to gather over.
    return x


def own_rows(x_global, n):
  """This device's `n` rows of a global-batch array (the inverse of global_batch)."""
  try:
    start = jax.lax.axis_index(DATA_AXIS) * n
  except NameError:
    return x_global
  return jax.lax.dynamic_slice_in_dim(x_global, start, n)


def _l1_over_last_axis(a, b):
  """sum(|a - b|) over the (broadcast) last axis, its few terms added one by one rather than
  reduced: XLA:CPU then vectorises over the axes before it and differentiates without
  building the broadcast array (minibatch discrimination's (batch, all, kernels, dim) one:
  the grid config's layer, forward 2.5x, gradient 4x)."""
  return sum(jnp.abs(a[..., d] - b[..., d]) for d in range(a.shape[-1]))


class MinibatchDiscrimination(nn.Module):
  """Minibatch discrimination (Salimans et al. 2016): o_b(x_i) = mean_{j != i}
  exp(-||M_{i,b} - M_{j,b}||_1) with M = f T and T a learned (A, kernels, dim) tensor.

  Returns (batch, kernels) features telling the critic how close each example is to the
  others in its batch, which a collapsed generator cannot hide. The paper sums over j; the
  mean keeps the features in [0, 1] whatever the batch size (a rescaling the readout absorbs).
  With `fixed_statistics` the other examples' M are constants for differentiation, so an
  output's input gradient is its own example's (gradient penalties).
  """
  kernels: int = 32
  dim: int = 8
  sync: bool = True
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, f):
    t = self.param('T', nn.initializers.normal(0.05), (f.shape[-1], self.kernels * self.dim))
    m = (f @ t).reshape(f.shape[0], self.kernels, self.dim)
    anchor = jax.lax.stop_gradient(m) if self.fixed_statistics else m
    others = global_batch(anchor, self.sync)
    l1 = _l1_over_last_axis(m[:, None], others[None])  # (batch, all, kernels)
    # Minus each example's similarity with itself: exp(0) = 1, written as the same
    # expression as its term in the sum so that its gradient cancels too.
    itself = jnp.exp(-_l1_over_last_axis(m, anchor))
    return (jnp.sum(jnp.exp(-l1), axis=1) - itself) / (others.shape[0] - 1)


def minibatch_stddev(h, *, group_size=4, sync=True, fixed_statistics=False):
  """ProGAN's minibatch standard deviation (Karras et al. 2018): `h` with one more feature
  map, each example's group's mean standard deviation.

  The batch is split into groups of `group_size` (or the whole batch if smaller); within a
  group each feature's (and position's) standard deviation over the group's examples is
  taken, averaged over features and positions, and appended as a constant channel (a column
  for (batch, features) inputs). ProGAN's reshape groups examples strided across the batch;
  here groups are consecutive examples of the global batch, the same statistic for shuffled
  batches, so a sharded step sees one device's groups.

  Args:
    h: activations (batch, ..., C).
    group_size: examples per group; the global batch must divide by min(group_size, batch).
    sync: group over the global batch (gathered from every device).
    fixed_statistics: the group statistic is a constant for differentiation.
  Returns:
    (batch, ..., C + 1).
  """
  everyone = global_batch(full_precision(h), sync)
  g = min(group_size, everyone.shape[0])
  groups = everyone.reshape((everyone.shape[0] // g, g, -1))
  std = jnp.mean(jnp.sqrt(jnp.var(groups, axis=1) + 1e-8), axis=-1)  # (groups,)
  std = own_rows(jnp.repeat(std, g), h.shape[0]) if sync else jnp.repeat(std, g)
  if fixed_statistics:
    std = jax.lax.stop_gradient(std)
  column = jnp.broadcast_to(std.reshape((-1,) + (1,) * (h.ndim - 1)).astype(h.dtype),
                            h.shape[:-1] + (1,))
  return jnp.concatenate([h, column], axis=-1)


def critic_head(module, h, out, *, minibatch, kernels=32, dim=8, sync=True, sn=False,
                train=False, fixed_statistics=False, readout_init=nn.initializers.normal(0.02)):
  """The critic's last step: records its penultimate features and adds minibatch
  discrimination.

  Sows the flattened features as 'intermediates'/'features' (feature matching and the
  diversity diagnostic read them). With minibatch discrimination, adds a learned linear
  readout of its (batch, k) features to the critic's output, which equals a final linear
  layer over the concatenation. (The minibatch standard deviation enters earlier, before
  the critic's last layers, as ProGAN has it: see minibatch_stddev.)

  Args:
    module: the calling critic (for sow).
    h: penultimate activations (batch, ...).
    out: the critic's output (batch,) without the minibatch layer, in any dtype.
    minibatch: one of MINIBATCH.
    kernels, dim: minibatch discrimination's tensor size.
    sync: compute minibatch features over the global batch.
    sn, train: spectrally normalise the readout (training mode updates its vectors).
    fixed_statistics: hold the other examples fixed for differentiation.
    readout_init: the readout's kernel initialiser.
  Returns:
    the critic's output (batch,), at least float32.
  """
  # Full precision from here on: the losses, feature matching and diagnostics read these.
  f = full_precision(h.reshape(h.shape[0], -1))
  out = full_precision(out)
  module.sow('intermediates', 'features', f)
  if minibatch != 'discrimination':
    return out
  extra = MinibatchDiscrimination(kernels, dim, sync, fixed_statistics, name='minibatch')(f)
  readout = nn.Dense(1, use_bias=False, kernel_init=readout_init)
  return out + spectral(readout, extra, enabled=sn, train=train)[:, 0]
