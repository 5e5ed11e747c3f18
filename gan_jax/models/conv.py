"""Convolutions that differentiate fast on every backend.

XLA:CPU runs a plain convolution well but its derivatives (input-dilated convolutions for
the input gradient, batch-contracting ones for the kernel gradient) several times slower, and
the second derivative a gradient penalty takes slowest of all: a DCGAN64 WGAN-GP step ran
4.7x slower than with the matrix products below (benchmarks/RESULTS.md). On CPU,
`conv_general_dilated` therefore computes an NHWC x HWIO convolution as one matrix product
over the input's patches, whose derivatives of every order
are matrix products, strided slices and pads, all of which XLA:CPU runs at full speed. On
other backends, and for any convolution outside that form, it is `lax.conv_general_dilated`.
"""
import jax
import jax.numpy as jnp
from jax import lax

_NHWC = ('NHWC', 'HWIO', 'NHWC')


def _output_size(padded_hw, window, strides):
  return tuple((size - k) // s + 1 for size, k, s in zip(padded_hw, window, strides))


def patch_conv(x, kernel, strides, padding, precision=None):
  """A 2-D NHWC x HWIO convolution as one matrix product over the patches of `x`.

  Args:
    x: input, shape (N, H, W, C).
    kernel: shape (KH, KW, C, F).
    strides: (SH, SW).
    padding: ((top, bottom), (left, right)).
    precision: as `jnp.dot`'s.
  Returns:
    (N, H', W', F), equal to `lax.conv_general_dilated` with the same arguments.
  """
  kh, kw, c, f = kernel.shape
  x = jnp.pad(x, ((0, 0), *padding, (0, 0)))
  (sh, sw), n = strides, x.shape[0]
  ho, wo = _output_size(x.shape[1:3], (kh, kw), strides)
  taps = [x[:, i:i + sh * (ho - 1) + 1:sh, j:j + sw * (wo - 1) + 1:sw]
          for i in range(kh) for j in range(kw)]
  patches = jnp.concatenate(taps, axis=-1) if len(taps) > 1 else taps[0]
  y = jnp.dot(patches.reshape(n * ho * wo, kh * kw * c), kernel.reshape(kh * kw * c, f),
              precision=precision)
  return y.reshape(n, ho, wo, f)


# Below this many output channels a patch matrix that repeats the input costs more to copy
# than its product saves (DCGAN's RGB output layer: 3x slower as patches).
MIN_PATCH_FEATURES = 16
# Below this many multiply-adds a convolution takes milliseconds either way, and XLA's own
# compiles faster (patches took a DCGAN step 1.7x longer to compile): tests' tiny models.
MIN_PATCH_MACS = 2 ** 24


def patches_pay(x_shape, kernel_shape, strides, padding):
  """Whether `patch_conv` beats XLA:CPU's own convolution: the convolution is large enough
  to matter, and its product wide enough or its patch matrix no larger than the input (a
  critic's last, whole-map convolution)."""
  kh, kw, c, f = kernel_shape
  h, w = (x_shape[1 + i] + sum(padding[i]) for i in (0, 1))
  ho, wo = _output_size((h, w), (kh, kw), strides)
  macs = x_shape[0] * ho * wo * kh * kw * c * f
  return macs >= MIN_PATCH_MACS and (f >= MIN_PATCH_FEATURES or ho * wo * kh * kw <= h * w)


def _is_plain_nhwc(lhs, rhs, dimension_numbers, dilations, feature_group_count):
  if lhs.ndim != 4 or feature_group_count != 1:
    return False
  if any(d is not None and tuple(d) != (1, 1) for d in dilations):
    return False
  plain = lax.conv_dimension_numbers(lhs.shape, rhs.shape, _NHWC)
  given = lax.conv_dimension_numbers(lhs.shape, rhs.shape, dimension_numbers or _NHWC)
  return given == plain


def conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation=None,
                         rhs_dilation=None, dimension_numbers=None, feature_group_count=1,
                         precision=None, **kwargs):
  """`lax.conv_general_dilated`, as `patch_conv` on CPU where the convolution allows and
  `patches_pay`.

  Pass it as `nn.Conv(..., conv_general_dilated=conv.conv_general_dilated)`: the layer's
  parameters and results stay those of `nn.Conv`.

  Args:
    lhs, rhs, window_strides, padding, lhs_dilation, rhs_dilation, dimension_numbers,
      feature_group_count, precision, kwargs: as `lax.conv_general_dilated`.
  Returns:
    The convolution's output.
  """
  if jax.default_backend() == 'cpu' and _is_plain_nhwc(
      lhs, rhs, dimension_numbers, (lhs_dilation, rhs_dilation), feature_group_count):
    strides = tuple(window_strides)
    pads = (lax.padtype_to_pads(lhs.shape[1:3], rhs.shape[:2], strides, padding)
            if isinstance(padding, str) else padding)
    pads = tuple(tuple(p) for p in pads)
    if patches_pay(lhs.shape, rhs.shape, strides, pads):
      return patch_conv(lhs, rhs, strides, pads, precision)
  return lax.conv_general_dilated(lhs, rhs, window_strides, padding, lhs_dilation,
                                  rhs_dilation, dimension_numbers, feature_group_count,
                                  precision=precision, **kwargs)
