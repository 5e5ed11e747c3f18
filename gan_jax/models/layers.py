"""Layers shared by the image models: spectral norm, (conditional) batch norm, init helpers."""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np

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
  return nn.SpectralNorm(layer, collection_name=SPECTRAL)(x, update_stats=train)


def batch_norm(*, train, sync, scale_init=nn.initializers.ones, dtype=None, name=None):
  """Batch norm with PyTorch's defaults (momentum 0.1, eps 1e-5).

  Args:
    train: use batch statistics and update the running averages.
    sync: in training mode, average the statistics over the 'data' mesh axis, so a
      data-parallel step normalises exactly like one device holding the global batch.
    scale_init: initialiser of the scale.
    dtype: the output's dtype (None: the input's); statistics are reduced in float32.
    name: optional module name.
  Returns:
    A flax.linen.BatchNorm.
  """
  return nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                      axis_name=DATA_AXIS if (sync and train) else None,
                      scale_init=scale_init, dtype=dtype, name=name)


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
    h = nn.BatchNorm(use_running_average=not train, momentum=0.9, epsilon=1e-5,
                     use_scale=False, use_bias=False, dtype=self.dtype,
                     axis_name=DATA_AXIS if (self.sync and train) else None)(x)
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


def up_conv_transpose(x, kernel):
  """The same operation as flax's ConvTranspose(4x4, stride 2, padding (2, 2))."""
  return jax.lax.conv_transpose(x, kernel, (2, 2), ((2, 2), (2, 2)),
                                dimension_numbers=('NHWC', 'HWIO', 'NHWC'))


class UpConv(nn.Module):
  """Doubles height and width: a 4x4, stride-2 transposed convolution without bias, like
  PyTorch's ConvTranspose2d(k=4, s=2, p=1), with the kernel layout of flax's ConvTranspose.

  On CPU it runs as an equivalent ordinary convolution (up_conv_subpixel); elsewhere as the
  transposed convolution the accelerator libraries implement directly. `dtype` is the
  computation's dtype (None: the input's; the kernel is stored in float32).
  """
  features: int
  kernel_init: nn.initializers.Initializer = dcgan_init
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', self.kernel_init, (4, 4, x.shape[-1], self.features))
    op = up_conv_subpixel if jax.default_backend() == 'cpu' else up_conv_transpose
    if self.dtype is not None:
      x, kernel = x.astype(self.dtype), kernel.astype(self.dtype)
    return op(x, kernel)


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


class MinibatchDiscrimination(nn.Module):
  """Minibatch discrimination (Salimans et al. 2016): o_b(x_i) = mean_{j != i}
  exp(-||M_{i,b} - M_{j,b}||_1) with M = f T and T a learned (A, kernels, dim) tensor.

  Returns (batch, kernels) features telling the critic how close each example is to the
  others in its batch, which a collapsed generator cannot hide. The paper sums over j; the
  mean keeps the features in [0, 1] whatever the batch size (a rescaling the readout absorbs).
  """
  kernels: int = 32
  dim: int = 8
  sync: bool = True

  @nn.compact
  def __call__(self, f):
    t = self.param('T', nn.initializers.normal(0.05), (f.shape[-1], self.kernels * self.dim))
    m = (f @ t).reshape(f.shape[0], self.kernels, self.dim)
    others = global_batch(m, self.sync)
    l1 = jnp.sum(jnp.abs(m[:, None] - others[None]), axis=-1)  # (batch, all, kernels)
    # Minus exp(0) = 1, each example's similarity with itself.
    return (jnp.sum(jnp.exp(-l1), axis=1) - 1.0) / (others.shape[0] - 1)


def minibatch_stddev(f, sync=True):
  """The minibatch standard deviation (Karras et al. 2018): the mean over features of each
  feature's standard deviation across the batch, one (batch, 1) column of that value."""
  everyone = global_batch(f, sync)
  std = jnp.mean(jnp.sqrt(jnp.var(everyone, axis=0) + 1e-8))
  return jnp.full((f.shape[0], 1), std, f.dtype)


def critic_head(module, h, out, *, minibatch, kernels=32, dim=8, sync=True, sn=False,
                train=False, readout_init=nn.initializers.normal(0.02)):
  """The critic's last step: records its penultimate features and adds the minibatch layer.

  Sows the flattened features as 'intermediates'/'features' (feature matching and the
  diversity diagnostic read them). With a minibatch layer, adds a learned linear readout of
  its (batch, k) features to the critic's output, which equals a final linear layer over the
  concatenation.

  Args:
    module: the calling critic (for sow).
    h: penultimate activations (batch, ...).
    out: the critic's output (batch,) without the minibatch layer, in any dtype.
    minibatch: one of MINIBATCH.
    kernels, dim: minibatch discrimination's tensor size.
    sync: compute minibatch features over the global batch.
    sn, train: spectrally normalise the readout (training mode updates its vectors).
    readout_init: the readout's kernel initialiser.
  Returns:
    the critic's output (batch,), at least float32.
  """
  # Full precision from here on: the losses, feature matching and diagnostics read these.
  f = full_precision(h.reshape(h.shape[0], -1))
  out = full_precision(out)
  module.sow('intermediates', 'features', f)
  if minibatch == 'discrimination':
    extra = MinibatchDiscrimination(kernels, dim, sync, name='minibatch')(f)
  elif minibatch == 'stddev':
    extra = minibatch_stddev(f, sync)
  else:
    return out
  readout = nn.Dense(1, use_bias=False, kernel_init=readout_init)
  return out + spectral(readout, extra, enabled=sn, train=train)[:, 0]
