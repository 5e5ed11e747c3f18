"""The CPU convolutions (models/conv.py, layers.up_conv_phases): the same values and the same
first and second derivatives as XLA's own convolutions, which serve as the reference."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax import lax

from gan_jax.models import conv, layers

_DN = ('NHWC', 'HWIO', 'NHWC')


def _arrays(x_shape, k_shape, seed=0):
  rng = np.random.default_rng(seed)
  return (jnp.asarray(rng.normal(size=x_shape), jnp.float32),
          jnp.asarray(rng.normal(size=k_shape) / np.sqrt(np.prod(k_shape[:3])), jnp.float32))


def _reference(x, k, strides, padding):
  return lax.conv_general_dilated(x, k, strides, padding, dimension_numbers=_DN,
                                  precision=lax.Precision.HIGHEST)


def _penalty_grads(op, x, k):
  """d/dk and d/dx of the squared input gradient: the second derivatives WGAN-GP takes."""
  def penalty(k, x):
    g = jax.grad(lambda x: jnp.sum(jnp.tanh(op(x, k))))(x)
    return jnp.sum(g ** 2)
  return jax.grad(penalty, argnums=(0, 1))(k, x)


CASES = [  # (x shape, kernel shape, strides, padding): DCGAN's critic layers, odd sizes.
    ((2, 8, 8, 3), (4, 4, 3, 16), (2, 2), ((1, 1), (1, 1))),
    ((2, 4, 4, 8), (4, 4, 8, 1), (1, 1), ((0, 0), (0, 0))),
    ((2, 9, 7, 2), (5, 3, 2, 16), (2, 1), ((2, 1), (1, 1))),
]


@pytest.mark.parametrize('x_shape,k_shape,strides,padding', CASES)
def test_patch_conv_equals_xlas_convolution_with_its_derivatives(x_shape, k_shape, strides,
                                                                 padding):
  x, k = _arrays(x_shape, k_shape)
  ours = lambda x, k: conv.patch_conv(x, k, strides, padding)  # noqa: E731
  ref = lambda x, k: _reference(x, k, strides, padding)  # noqa: E731
  np.testing.assert_allclose(ours(x, k), ref(x, k), rtol=1e-5, atol=1e-5)
  loss = lambda f: lambda x, k: jnp.sum(jnp.sin(f(x, k)))  # noqa: E731
  for a, b in zip(jax.grad(loss(ours), argnums=(0, 1))(x, k),
                  jax.grad(loss(ref), argnums=(0, 1))(x, k)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
  for a, b in zip(_penalty_grads(ours, x, k), _penalty_grads(ref, x, k)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-4)


def test_patch_conv_computes_in_its_inputs_dtype():
  x, k = _arrays(*CASES[0][:2])
  y = conv.patch_conv(x.astype(jnp.bfloat16), k.astype(jnp.bfloat16), *CASES[0][2:])
  assert y.dtype == jnp.bfloat16
  np.testing.assert_allclose(y.astype(jnp.float32), _reference(x, k, *CASES[0][2:]),
                             atol=0.05 * float(jnp.max(jnp.abs(y.astype(jnp.float32)))))


def test_nn_conv_keeps_its_parameters_and_outputs_with_the_cpu_convolution():
  x, _ = _arrays((2, 8, 8, 3), (1, 1, 1, 1))
  make = lambda **kw: nn.Conv(16, (4, 4), strides=(2, 2), padding='SAME', **kw)  # noqa: E731
  variables = make().init(jax.random.PRNGKey(0), x)
  ours = make(conv_general_dilated=conv.conv_general_dilated)
  assert jax.tree.map(jnp.shape, ours.init(jax.random.PRNGKey(0), x)) == jax.tree.map(
      jnp.shape, variables)
  np.testing.assert_allclose(ours.apply(variables, x), make().apply(variables, x),
                             rtol=1e-5, atol=1e-5)


def test_patches_are_used_only_where_they_pay():
  same = ((1, 1), (1, 1))
  assert conv.patches_pay((8, 64, 64, 64), (4, 4, 64, 128), (2, 2), same)
  # Too narrow (DCGAN's RGB layer), or too small to matter (a test's tiny model).
  assert not conv.patches_pay((8, 32, 32, 64), (3, 3, 64, 3), (1, 1), same)
  assert not conv.patches_pay((1, 8, 8, 16), (4, 4, 16, 16), (2, 2), same)
  # A critic's 4x4 readout of a 4x4 map copies nothing; of an 8x8 map it would.
  valid = ((0, 0), (0, 0))
  assert conv.patches_pay((4096, 4, 4, 512), (4, 4, 512, 1), (1, 1), valid)
  assert not conv.patches_pay((4096, 8, 8, 512), (4, 4, 512, 1), (1, 1), valid)


def test_dilated_or_grouped_convolutions_fall_back_to_xla():
  x, k = _arrays((1, 8, 8, 4), (3, 3, 2, 16))
  out = conv.conv_general_dilated(x, k, (1, 1), 'SAME', rhs_dilation=(2, 2),
                                  dimension_numbers=_DN, feature_group_count=2)
  ref = lax.conv_general_dilated(x, k, (1, 1), 'SAME', rhs_dilation=(2, 2),
                                 dimension_numbers=_DN, feature_group_count=2)
  np.testing.assert_array_equal(out, ref)


@pytest.mark.parametrize('features', [3, 16])
def test_up_conv_phases_and_subpixel_equal_the_transposed_convolution(features):
  x, k = _arrays((2, 4, 4, 8), (4, 4, 8, features), seed=1)
  ref = layers.up_conv_transpose
  for op in (layers.up_conv_phases, layers.up_conv_subpixel):
    np.testing.assert_allclose(op(x, k), ref(x, k), rtol=1e-5, atol=1e-5)
    loss = lambda f: lambda x, k: jnp.sum(jnp.sin(f(x, k)))  # noqa: E731,B023
    for a, b in zip(jax.grad(loss(op), argnums=(0, 1))(x, k),
                    jax.grad(loss(ref), argnums=(0, 1))(x, k)):
      np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
