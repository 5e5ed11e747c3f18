"""StyleGAN2's mechanisms (models/stylegan2.py) against their definitions, computed in numpy
float64: the [1, 3, 3, 1] resampling filter, modulation and demodulation, the equalized
learning-rate constants, the tracked w_avg and the truncation trick, and a generator that is a
function of each latent alone (noise and style mixing included)."""
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import stylegan2 as sg2_config
from gan_jax import models, validation
from gan_jax.models import layers, stylegan2
from tests.helpers import apply, init, jit_model_fn

styles_of = jit_model_fn(stylegan2.styles_of)
draw_styles = jit_model_fn(stylegan2.draw_styles)
path_lengths = jit_model_fn(stylegan2.path_lengths)
path_length_penalty = jit_model_fn(stylegan2.path_length_penalty)


def _upfirdn(x, pad, up, down):
  """upfirdn2d's definition on (B, H, W, C) float64: zero-insert, pad, correlate, decimate."""
  f = np.outer([1., 3., 3., 1.], [1., 3., 3., 1.])
  f = f / f.sum() * up * up
  b, h, w, c = x.shape
  z = np.zeros((b, h * up, w * up, c))
  z[:, ::up, ::up] = x
  z = np.pad(z, ((0, 0), pad, pad, (0, 0)))
  ho, wo = z.shape[1] - 3, z.shape[2] - 3
  out = sum(f[i, j] * z[:, i:i + ho, j:j + wo] for i in range(4) for j in range(4))
  return out[:, ::down, ::down]


def _conv_same(x, w):
  """'SAME' NHWC x HWIO correlation in float64, one example's kernel per example when w has a
  leading batch axis."""
  k = w.shape[-4]
  p = (k - 1) // 2
  xp = np.pad(x, ((0, 0), (p, k - 1 - p), (p, k - 1 - p), (0, 0)))
  h, wd = x.shape[1:3]
  spec = 'bhwi,bio->bhwo' if w.ndim == 5 else 'bhwi,io->bhwo'
  return sum(np.einsum(spec, xp[:, i:i + h, j:j + wd], w[..., i, j, :, :])
             for i in range(k) for j in range(k))


@pytest.mark.parametrize('pad,up,down', [((2, 1), 2, 1), ((1, 1), 1, 2), ((2, 2), 1, 1)])
def test_fir_filter_is_upfirdn2d_with_the_1331_filter(pad, up, down):
  x = np.random.default_rng(0).normal(size=(2, 6, 6, 3))
  got = stylegan2.fir_filter(jnp.asarray(x, jnp.float32), pad=pad, up=up, down=down)
  np.testing.assert_allclose(got, _upfirdn(x, pad, up, down), atol=1e-5)


def test_upsampling_keeps_a_constant_image_constant_inside_the_border():
  up = np.asarray(stylegan2.upsample(jnp.ones((1, 8, 8, 1))))
  np.testing.assert_allclose(up[0, 1:-1, 1:-1, 0], 1.0, atol=1e-6)
  assert up.shape == (1, 16, 16, 1)


def test_demodulated_weights_have_unit_l2_norm_per_output_channel():
  rng = np.random.default_rng(1)
  weight, styles = rng.normal(size=(3, 3, 5, 7)), rng.normal(size=(4, 5)) + 1.0
  w = np.asarray(stylegan2.modulated_weights(jnp.asarray(weight), jnp.asarray(styles), True))
  np.testing.assert_allclose(np.sqrt(np.sum(w ** 2, axis=(1, 2, 3))), 1.0, atol=1e-6)
  # Without demodulation each example's kernel is the weight scaled by its input styles.
  plain = np.asarray(stylegan2.modulated_weights(jnp.asarray(weight), jnp.asarray(styles), False))
  np.testing.assert_allclose(plain[2], weight * styles[2][None, None, :, None], rtol=1e-6)


@pytest.mark.parametrize('kernel,demodulate', [(3, True), (1, False)])
def test_modulated_conv_is_a_per_example_convolution_with_the_modulated_weights(kernel,
                                                                                 demodulate):
  rng = np.random.default_rng(2)
  x, w_lat = rng.normal(size=(3, 6, 6, 4)), rng.normal(size=(3, 8))
  layer = stylegan2.ModulatedConv(5, kernel, demodulate)
  params = layer.init(jax.random.key(0), jnp.asarray(x, jnp.float32),
                      jnp.asarray(w_lat, jnp.float32))
  got = layer.apply(params, jnp.asarray(x, jnp.float32), jnp.asarray(w_lat, jnp.float32))
  p = jax.tree.map(lambda a: np.asarray(a, np.float64), params['params'])
  # The affine map is an equalized dense layer with bias 1.
  styles = w_lat @ (p['affine']['kernel'] / math.sqrt(8)) + p['affine']['bias']
  if not demodulate:
    styles = styles / math.sqrt(kernel * kernel * 4)  # toRGB's weight gain.
  per_example = stylegan2.modulated_weights(jnp.asarray(p['kernel']), jnp.asarray(styles),
                                            demodulate)
  np.testing.assert_allclose(got, _conv_same(x, np.asarray(per_example, np.float64)),
                             rtol=2e-4, atol=2e-4)


def test_equalized_layers_scale_stored_weights_by_the_he_constant():
  assert layers.equalized_gain(512, 0.01) == pytest.approx(0.01 / math.sqrt(512))
  assert layers.equalized_gain(512, gain=math.sqrt(2)) == pytest.approx(1 / 16)
  x = np.random.default_rng(3).normal(size=(4096, 64))
  dense = layers.EqualDense(32, lr_mul=0.01, bias_init=0.5)
  params = dense.init(jax.random.key(1), jnp.asarray(x[:1], jnp.float32))['params']
  # Stored N(0, 1/lr_mul^2) and bias_init / lr_mul, so Adam steps move them 1/lr_mul slower.
  assert np.std(params['kernel']) == pytest.approx(100.0, rel=0.1)
  np.testing.assert_allclose(params['bias'], 50.0)
  y = np.asarray(dense.apply({'params': params}, jnp.asarray(x, jnp.float32)))
  ref = x @ (np.asarray(params['kernel'], np.float64) * 0.01 / 8.0) + 0.5
  np.testing.assert_allclose(y, ref, rtol=1e-4, atol=1e-4)
  assert np.std(y - 0.5) == pytest.approx(1.0, rel=0.1)  # He: unit output variance.
  conv = layers.EqualConv(6, 3)
  xc = np.random.default_rng(4).normal(size=(2, 5, 5, 4))
  cp = conv.init(jax.random.key(2), jnp.asarray(xc, jnp.float32))['params']
  got = conv.apply({'params': cp}, jnp.asarray(xc, jnp.float32))
  ref = _conv_same(xc, np.asarray(cp['kernel'], np.float64) / math.sqrt(36)) + np.asarray(
      cp['bias'])
  np.testing.assert_allclose(got, ref, rtol=1e-4, atol=1e-4)


def _generator(**overrides):
  """A 16x16 StyleGAN2 generator (8 styles of 16 dimensions), its noise made visible."""
  c = sg2_config.get_config('mnist32,smoke')
  for k, v in overrides.items():
    c.stylegan[k] = v
  g, _ = models.build(c, (16, 16, 1))
  z = jax.random.normal(jax.random.key(5), (6, c.z_dim))
  params, state = init(g, jax.random.key(6), z)
  # Noise strengths start at 0; make the noise visible to the tests.
  params = jax.tree_util.tree_map_with_path(
      lambda path, v: v + 0.3 if 'noise_strength' in jax.tree_util.keystr(path) else v, params)
  return g, params, state, z


@jit_model_fn
def _mapped_w(g, params, state, z):
  _, inter = g.apply({'params': params, **state}, z, None, train=False,
                     capture_intermediates=True, mutable=['intermediates'])
  return inter['intermediates']['mapping']['__call__'][0]


def test_w_avg_moves_towards_the_batch_mean_of_w_in_training():
  g, params, state, z = _generator(w_avg_beta=0.9)
  w = np.asarray(_mapped_w(g, params, state, z), np.float64)
  _, new = apply(g, params, state, z, train=True)
  np.testing.assert_allclose(new['w_avg']['w_avg'], 0.1 * w.mean(0), rtol=1e-5, atol=1e-7)
  _, same = apply(g, params, state, z, train=False)  # Evaluation leaves it alone.
  np.testing.assert_array_equal(same['w_avg']['w_avg'], state['w_avg']['w_avg'])


def test_truncation_psi_zero_gives_the_w_avg_image():
  g, params, state, z = _generator()
  w0 = _mapped_w(g, params, state, z[:1])
  state = {'w_avg': {'w_avg': w0[0]}}  # w_avg = w(z_0): psi 0 draws z_0's image for every z.
  plain = apply(g, params, state, z[:1], train=False)[0]
  g0 = g.clone(truncation_psi=0.0)
  images = np.asarray(apply(g0, params, state, z, train=False)[0])
  np.testing.assert_allclose(images[0], plain[0], atol=1e-5)
  # Other latents keep only their own per-pixel noise, which vanishes with its strength.
  quiet = jax.tree_util.tree_map_with_path(
      lambda path, v: 0 * v if 'noise_strength' in jax.tree_util.keystr(path) else v, params)
  silent = np.asarray(apply(g0, quiet, state, z, train=False)[0])
  np.testing.assert_allclose(silent, np.broadcast_to(silent[:1], silent.shape), atol=1e-5)


def test_generator_is_a_function_of_each_latent_alone_with_noise_and_mixing():
  g, params, state, z = _generator(mixing_prob=0.5)
  whole = np.asarray(apply(g, params, state, z, train=True)[0])
  part = np.asarray(apply(g, params, state, z[2:4], train=True)[0])
  np.testing.assert_allclose(whole[2:4], part, atol=1e-5)  # Any split over devices.
  # Without mixing, training and evaluation draw the same image: the noise is z's.
  g_plain, params, state, z = _generator(mixing_prob=0.0)
  np.testing.assert_allclose(apply(g_plain, params, state, z, train=True)[0],
                             apply(g_plain, params, state, z, train=False)[0],
                             atol=1e-5)
  # Mixing every example changes its fine layers' styles, hence its image.
  g_mix = g_plain.clone(mixing_prob=1.0)
  mixed = np.asarray(apply(g_mix, params, state, z, train=True)[0])
  plain = np.asarray(apply(g_plain, params, state, z, train=True)[0])
  assert np.all(np.abs(mixed - plain).reshape(len(z), -1).max(1) > 1e-3)


def test_num_ws_and_feature_maps_follow_the_reference_layout():
  assert stylegan2.num_ws(32) == 8 and stylegan2.num_ws(1024) == 18  # StyleGAN2's 18 at 1k.
  assert [stylegan2.feature_maps(512, r) for r in (4, 16, 32, 64)] == [512, 512, 256, 128]


@pytest.mark.parametrize('variant', sg2_config.VARIANTS)
def test_stylegan2_variants_carry_the_papers_lazy_r1_settings(variant):
  c = sg2_config.get_config(variant)
  validation.validate(c)
  assert c.model == 'stylegan2' and c.r1_every == 16 and c.loss == 'ns'
  assert c.d_lr == pytest.approx(0.0025 * 16 / 17) and c.g_lr == pytest.approx(0.0025 * 4 / 5)
  assert c.d_betas[1] == pytest.approx(0.99 ** (16 / 17))
  assert c.g_betas[1] == pytest.approx(0.99 ** (4 / 5)) and c.stylegan.pl_every == 4
  assert c.stylegan.pl_weight == (2.0 if variant == 'celeba64' else 0.0)


def test_stylegan2_refuses_non_power_of_two_images_and_labels():
  with pytest.raises(ValueError, match='power-of-two'):
    models.check_data_shape('stylegan2', (28, 28, 1))
  c = sg2_config.get_config('mnist32')
  c.num_classes = 10
  with pytest.raises(validation.ConfigError, match='unconditional'):
    validation.validate(c)
  c.num_classes, c.d_minibatch = 0, 'discrimination'
  with pytest.raises(validation.ConfigError, match="d_minibatch='discrimination'"):
    validation.validate(c)
  for field, value in (('truncation_psi', -1.0), ('mixing_prob', 1.5), ('w_dim', 0)):
    bad = sg2_config.get_config('mnist32')
    bad.stylegan[field] = value
    with pytest.raises(validation.ConfigError, match=f'config.stylegan.{field}='):
      validation.validate(bad)
  with pytest.raises(ValueError, match='allowed: one of mnist32'):
    sg2_config.get_config('mnist64')


def test_drawing_a_latents_own_styles_is_drawing_the_latent():
  g, params, state, z = _generator()
  state = {'w_avg': {'w_avg': jnp.full((16,), 0.2)}}
  g7 = g.clone(truncation_psi=0.7)
  ws = styles_of(g7, params, state, z)
  w = _mapped_w(g, params, state, z)
  np.testing.assert_allclose(ws, np.broadcast_to(0.2 + 0.7 * (w[:, None] - 0.2), ws.shape),
                             rtol=1e-5, atol=1e-6)
  # Truncating psi-1 styles afterwards (scripts/sample.py's style pictures) is the same.
  np.testing.assert_allclose(stylegan2.truncate(np.asarray(styles_of(g, params, state, z)),
                                                np.full((16,), 0.2, np.float32), 0.7),
                             ws, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(draw_styles(g7, params, state, z, ws),
                             apply(g7, params, state, z, train=False)[0], atol=1e-5)


def test_a_mixing_grid_takes_coarse_styles_from_rows_and_fine_from_columns():
  rng = np.random.default_rng(7)
  rows, cols = (rng.normal(size=s).astype(np.float32) for s in ((2, 8, 3), (3, 8, 3)))
  grid = np.asarray(stylegan2.mixing_styles(jnp.asarray(rows), jnp.asarray(cols), 4))
  for r in range(2):
    for c in range(3):
      np.testing.assert_array_equal(grid[r * 3 + c], np.concatenate([rows[r, :4], cols[c, 4:]]))


def test_path_lengths_match_central_differences_of_the_images_in_w():
  g = stylegan2.StyleGAN2Generator(8, 1, 4, w_dim=4, mapping_layers=1, mixing_prob=0.0)
  z = jax.random.normal(jax.random.key(8), (1, 4))
  params, state = init(g, jax.random.key(9), z)
  params = jax.tree.map(lambda v: v + 0.1, params)  # Noise strengths and biases on.
  ws = styles_of(g, params, state, z)
  noise = jax.random.normal(jax.random.key(10), (1, 8, 8, 1))
  got = path_lengths(g, params, state, z, ws, noise)
  n, eps = ws[0].size, 1e-3  # One central difference per coordinate of the styles.
  steps = eps * jnp.eye(n).reshape((n,) + ws.shape[1:])
  f = lambda w: np.asarray(jnp.sum(  # noqa: E731
      draw_styles(g, params, state, jnp.repeat(z, n, 0), w) * noise / 8.0,
      axis=(1, 2, 3)), np.float64)
  grads = (f(ws + steps) - f(ws - steps)) / (2 * eps)  # d <image, y> / d w_k = (J^T y)_k.
  want = np.sqrt(np.sum(grads ** 2) / ws.shape[1])  # Summed over w's axis, mean over layers.
  np.testing.assert_allclose(got, [want], rtol=2e-3)


def test_path_length_penalty_moves_pl_mean_then_penalises_the_deviation():
  g, params, state, z = _generator(mixing_prob=0.0)
  g = g.clone(path_length=True)
  state = {**state, stylegan2.PATH_LENGTH: {'pl_mean': jnp.asarray(0.5)}}
  noise = jax.random.normal(jax.random.key(11), (len(z), 16, 16, 1))
  penalty, new = path_length_penalty(g, params, state, z, noise, 0.01)
  lengths = np.asarray(path_lengths(g, params, state, z,
                                              styles_of(g, params, state, z), noise),
                       np.float64)
  pl_mean = 0.5 + 0.01 * (lengths.mean() - 0.5)
  np.testing.assert_allclose(new[stylegan2.PATH_LENGTH]['pl_mean'], pl_mean, rtol=1e-6)
  np.testing.assert_allclose(penalty, np.mean((lengths - pl_mean) ** 2), rtol=1e-5)
