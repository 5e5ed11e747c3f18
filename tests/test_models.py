"""Models: shapes, the DCGAN table's and PacGAN's parameter counts, spectral norm, maxout,
batch norm, conditioning, mixed precision."""
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from gan_jax import models
from gan_jax.models import dcgan, layers, resnet
from gan_jax.models import mlp as mlp_models
from tests.helpers import init, jit_model_fn


@jit_model_fn
def _init(module, x, labels=None):
  return module.init(jax.random.PRNGKey(0), x, labels, train=False)


@jit_model_fn
def _apply(module, variables, *args):
  return module.apply(variables, *args)


@pytest.mark.parametrize('resolution,channels', [(64, 3), (32, 3), (28, 1)])
@pytest.mark.parametrize('norm', dcgan.D_NORMS)
def test_dcgan_shapes_at_every_resolution_and_norm(resolution, channels, norm):
  g = dcgan.DCGANGenerator(resolution, channels, width=8)
  d = dcgan.DCGANDiscriminator(resolution, width=8, norm=norm)
  z = jnp.ones((3, 100))
  images = _apply(g, _init(g, z), z)
  assert images.shape == (3, resolution, resolution, channels)
  assert float(jnp.max(jnp.abs(images))) <= 1.0  # tanh output
  assert _apply(d, _init(d, images), images).shape == (3,)


def test_dcgan64_has_the_parameter_count_of_the_pytorch_reference():
  # pytorch/examples dcgan with bias-free convs: netG 3,576,704 and netD 2,765,568 params.
  g, d = dcgan.DCGANGenerator(64, 3), dcgan.DCGANDiscriminator(64)
  shapes = lambda m, x: jax.eval_shape(lambda: _init(m, x))['params']  # noqa: E731
  assert models.count_params(shapes(g, jnp.ones((1, 100)))) == 3_576_704
  assert models.count_params(shapes(d, jnp.ones((1, 64, 64, 3)))) == 2_765_568


def test_dcgan_rejects_unsupported_resolutions():
  assert dcgan.geometry(64) == (4, 4) and dcgan.geometry(28) == (7, 2)
  for resolution in (48, 30, 4):
    with pytest.raises(ValueError, match='power of two'):
      dcgan.geometry(resolution)


@pytest.mark.parametrize('num_classes', [0, 10])
def test_sngan_resnet_shapes(num_classes):
  labels = jnp.arange(2) if num_classes else None
  g = resnet.ResNetGenerator(3, width=32, num_classes=num_classes)
  d = resnet.ResNetDiscriminator(width=32, num_classes=num_classes)
  z = jnp.ones((2, 128))
  images = _apply(g, _init(g, z, labels), z, labels)
  assert images.shape == (2, 32, 32, 3)
  assert _apply(d, _init(d, images, labels), images, labels).shape == (2,)


@pytest.mark.parametrize('op', [layers.up_conv_subpixel, layers.up_conv_transpose])
def test_up_conv_equals_flax_conv_transpose(op):
  x = jax.random.normal(jax.random.PRNGKey(1), (2, 5, 5, 6))
  reference = nn.ConvTranspose(4, (4, 4), strides=(2, 2), padding=((2, 2), (2, 2)),
                               use_bias=False)
  variables = reference.init(jax.random.PRNGKey(2), x)
  want = reference.apply(variables, x)
  got = op(x, variables['params']['kernel'])
  assert got.shape == (2, 10, 10, 4)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-5)


class _SNDense(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    return layers.spectral(nn.Dense(7), x, enabled=True, train=train)


class _SNConv(nn.Module):
  @nn.compact
  def __call__(self, x, train):
    return layers.spectral(nn.Conv(5, (3, 3)), x, enabled=True, train=train)


@pytest.mark.parametrize('module,x,name', [
    (_SNDense(), jnp.ones((2, 11)), 'Dense_0'),
    (_SNConv(), jnp.ones((2, 6, 6, 4)), 'Conv_0'),
])
def test_spectral_norm_sigma_converges_to_largest_singular_value(module, x, name):
  variables = module.init(jax.random.PRNGKey(0), x, train=False)
  params, state = variables['params'], {'spectral': variables['spectral']}
  step = jax.jit(lambda s: module.apply({'params': params, **s}, x, train=True,
                                        mutable=['spectral'])[1])
  for _ in range(60):
    state = step(state)
  sigma = [v for k, v in jax.tree_util.tree_leaves_with_path(state)
           if 'sigma' in jax.tree_util.keystr(k)][0]
  kernel = np.asarray(params[name]['kernel'], np.float64)
  largest = np.linalg.svd(kernel.reshape(-1, kernel.shape[-1]), compute_uv=False)[0]
  np.testing.assert_allclose(float(sigma), largest, rtol=0.01)
  # The normalised layer then has unit spectral norm: |W x| <= |x| for the Dense case.
  if name == 'Dense_0':
    np.testing.assert_allclose(
        np.linalg.svd(kernel / float(sigma), compute_uv=False)[0], 1.0, rtol=0.01)


def test_spectral_norm_eval_mode_never_updates_its_vectors():
  module = _SNDense()
  variables = module.init(jax.random.PRNGKey(0), jnp.ones((2, 11)), train=False)
  _, updated = module.apply(variables, jnp.ones((2, 11)), train=False, mutable=['spectral'])
  for a, b in zip(jax.tree.leaves(updated), jax.tree.leaves(variables['spectral'])):
    np.testing.assert_array_equal(a, b)
  _, updated = module.apply(variables, jnp.ones((2, 11)), train=True, mutable=['spectral'])
  assert any(not np.array_equal(a, b) for a, b in
             zip(jax.tree.leaves(updated), jax.tree.leaves(variables['spectral'])))


class _SNLayers(nn.Module):
  """A Conv, a Dense and an Embed, each spectrally normalised by `wrap`."""
  wrap: object

  @nn.compact
  def __call__(self, x, y, train):
    h = self.wrap(nn.Conv(3, (3, 3), strides=2))(x, update_stats=train)
    h = self.wrap(nn.Dense(4, name='out'))(h.reshape(x.shape[0], -1), update_stats=train)
    return h * self.wrap(nn.Embed(5, 4))(y, update_stats=train)


def test_spectral_norm_is_flaxs_bit_for_bit_with_the_same_variables():
  # Checkpoints written with flax.linen.SpectralNorm restore, and train the same.
  flax_sn = _SNLayers(lambda layer: nn.SpectralNorm(layer, collection_name=layers.SPECTRAL))
  ours = _SNLayers(layers.SpectralNorm)
  x, y = jax.random.normal(jax.random.key(1), (2, 6, 6, 2)), jnp.array([1, 4])

  def outputs(module):
    variables = module.init(jax.random.key(0), x, y, train=False)

    def loss(params):
      out, state = module.apply({**variables, 'params': params}, x, y, train=True,
                                mutable=[layers.SPECTRAL])
      return jnp.sum(jnp.sin(out)), (out, state)
    grads, (out, state) = jax.grad(loss, has_aux=True)(variables['params'])
    return variables, grads, out, state, module.apply(variables, x, y, train=False)
  want, got = outputs(flax_sn), outputs(ours)
  assert jax.tree.structure(got) == jax.tree.structure(want)
  for a, b in zip(jax.tree.leaves(got), jax.tree.leaves(want)):
    np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize('generator', [
    dcgan.DCGANGenerator(28, 1, width=8, num_classes=10),
    resnet.ResNetGenerator(3, width=16, num_classes=10),
])
def test_conditional_generator_depends_on_the_label(generator):
  z = jax.random.normal(jax.random.PRNGKey(3), (4, 100))
  variables = _init(generator, z, jnp.zeros(4, jnp.int32))
  # Make the class-dependent parameters differ per class, as training would.
  variables = jax.tree_util.tree_map_with_path(
      lambda p, v: v + jax.random.normal(jax.random.PRNGKey(4), v.shape)
      if 'Embed' in jax.tree_util.keystr(p) else v, variables)
  out_k = _apply(generator, variables, z, jnp.full(4, 3))
  out_j = _apply(generator, variables, z, jnp.full(4, 7))
  # Relative: at initialisation in eval mode the DCGAN's outputs are tiny.
  assert float(jnp.mean(jnp.abs(out_k - out_j))) > 0.05 * float(jnp.mean(jnp.abs(out_k)))


def test_batch_norm_updates_statistics_in_training_mode_only():
  g = dcgan.DCGANGenerator(28, 1, width=8, sync_batch_stats=False)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 100))
  variables = _init(g, z)
  params, state = variables.pop('params'), dict(variables)
  _, same = models.apply(g, params, state, z, train=False)
  _, updated = models.apply(g, params, state, z, train=True)
  assert same is state
  assert any(not np.array_equal(a, b)
             for a, b in zip(jax.tree.leaves(updated), jax.tree.leaves(state)))


def _output_dtypes(primitive, fn, *args):
  """Output dtypes of every `primitive` operation `fn` computes."""
  text = str(jax.make_jaxpr(fn)(*args))
  return set(re.findall(rf'\w+:(\w+)\[[^\]]*\] = {primitive}\[', text))


@pytest.mark.parametrize('model,shape,norm', [
    ('mlp', (2,), 'none'), ('dcgan', (32, 32, 3), 'batch'), ('dcgan', (28, 28, 1), 'spectral'),
    ('resnet', (32, 32, 3), 'spectral'), ('metz', (28, 28, 3), 'batch')])
def test_bfloat16_models_compute_in_bfloat16_with_float32_params_and_outputs(model, shape, norm):
  config = default.get_config()
  config.model, config.d_norm, config.g_width, config.d_width = model, norm, 16, 16
  config.mlp.width = 32
  nets = {}
  for dtype in ('float32', 'bfloat16'):
    config.compute_dtype = dtype
    nets[dtype] = models.build(config, shape)
  z = jax.random.normal(jax.random.PRNGKey(3), (4, config.z_dim))
  for i, x in ((0, z), (1, jax.random.uniform(jax.random.PRNGKey(4), (4,) + shape, minval=-1))):
    full, half = nets['float32'][i], nets['bfloat16'][i]
    variables = _init(full, x)
    assert jax.tree.structure(variables) == jax.tree.structure(_init(half, x))
    assert {leaf.dtype for leaf in jax.tree.leaves(_init(half, x))} == {jnp.dtype('float32')}
    want, got = _apply(full, variables, x), _apply(half, variables, x)
    assert got.dtype == jnp.float32
    # bfloat16 keeps 8 significant bits: outputs agree to a few percent of their scale.
    np.testing.assert_allclose(got, want, atol=0.05 * float(jnp.max(jnp.abs(want))))
    assert not np.array_equal(got, want)
    # The layers' products (the spectral norm's power iteration on the float32 weights is
    # not one: it stays float32).
    primitive = 'dot_general' if model == 'mlp' else 'conv_general_dilated'
    assert _output_dtypes(primitive, lambda v, x, m=half: m.apply(v, x), variables, x) == {'bf16'}
    assert _output_dtypes(primitive, lambda v, x, m=full: m.apply(v, x), variables, x) == {'f32'}


def _glorot_limit(kernel, gain):
  receptive = int(np.prod(kernel.shape[:-2])) if kernel.ndim > 2 else 1
  fan_in, fan_out = receptive * kernel.shape[-2], receptive * kernel.shape[-1]
  return gain * np.sqrt(6.0 / (fan_in + fan_out))


@pytest.mark.parametrize('num_classes', [0, 10])
def test_sngan_resnet_init_is_glorot_with_gain_sqrt2_on_residual_convs_only(num_classes):
  # Miyato et al.'s chainer code and Mimicry: GlorotUniform(sqrt(2)) for the blocks' 3x3
  # convolutions; gain 1 for shortcuts, linear layers, embeddings and G's output conv.
  labels = jnp.arange(2) % max(num_classes, 1) if num_classes else None
  g = resnet.ResNetGenerator(3, width=64, num_classes=num_classes)
  d = resnet.ResNetDiscriminator(width=64, norm='none', num_classes=num_classes)
  trees = [_init(g, jnp.ones((2, 128)), labels), _init(d, jnp.ones((2, 32, 32, 3)), labels)]
  checked = set()
  for tree in trees:
    for path, w in jax.tree_util.tree_flatten_with_path(tree['params'])[0]:
      names = [p.key for p in path]
      if names[-1] not in ('kernel', 'embedding') or any('Conditional' in n for n in names):
        continue
      residual = w.ndim == 4 and w.shape[0] == 3 and any('Block' in n for n in names)
      if names[-1] == 'embedding':  # Glorot over (classes, features).
        limit = _glorot_limit(w, 1.0)
      else:
        limit = _glorot_limit(w, np.sqrt(2.0) if residual else 1.0)
      top = float(np.max(np.abs(w)))
      assert 0.9 * limit <= top <= limit, ('/'.join(names), top, limit)
      checked.add(residual)
  assert checked == {True, False}


def _pacgan_config(**mlp):
  """The PacGAN mixture networks (configs/pacgan_common.py) with `mlp` overrides."""
  config = default.get_config()
  config.z_dim = 2
  config.mlp.update(width=400, depth=4, g_norm='batch', d_width=200, d_depth=3, d_maxout=5,
                    init_std=0.02)
  config.mlp.update(mlp)
  return config


def test_maxout_is_the_max_over_consecutive_groups_of_pieces():
  x = np.asarray(jax.random.normal(jax.random.PRNGKey(0), (6, 3)), np.float64)
  layer = mlp_models.Maxout(features=4, pieces=5)
  params = layer.init(jax.random.PRNGKey(1), jnp.asarray(x, jnp.float32))
  w = np.asarray(params['params']['Dense_0']['kernel'], np.float64)
  b = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (20,)), np.float64)
  params = {'params': {'Dense_0': {'kernel': jnp.asarray(w, jnp.float32),
                                   'bias': jnp.asarray(b, jnp.float32)}}}
  # Blocks' LinearMaxout (PacGAN's reference): unit j is the max of affine outputs
  # 5j .. 5j + 4.
  affine = x @ w + b
  want = np.stack([affine[:, 5 * j:5 * j + 5].max(axis=1) for j in range(4)], axis=1)
  np.testing.assert_allclose(layer.apply(params, jnp.asarray(x, jnp.float32)), want,
                             rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('pac', [1, 2])
def test_pacgan_networks_have_the_reference_parameter_counts(pac):
  # Generator: 2x400 + 3 x 400x400 (no biases before batch norm) + 4 x 800 (scale, shift)
  # + 400x2 + 2. Critic: maxout (2 pac)x1000 + 1000, 2 x (200x1000 + 1000), 200 + 1.
  g, d = models.build(_pacgan_config(), (2,))
  g_params, g_state = init(g, jax.random.PRNGKey(0), jnp.zeros((1, 2)))
  d_params, d_state = init(d, jax.random.PRNGKey(1), jnp.zeros((1, 2 * pac)))
  assert models.count_params(g_params) == 800 + 3 * 160_000 + 4 * 800 + 802
  assert models.count_params(d_params) == 2 * pac * 1000 + 1000 + 2 * 201_000 + 201
  assert set(g_state) == {'batch_stats'} and len(g_state['batch_stats']) == 4
  assert d_state == {}


def test_pacgan_networks_draw_kernels_from_n_0_002_and_start_biases_at_0():
  g, d = models.build(_pacgan_config(), (2,))
  for net, x in ((g, jnp.zeros((1, 2))), (d, jnp.zeros((1, 2)))):
    params, _ = init(net, jax.random.PRNGKey(3), x)
    for path, w in jax.tree_util.tree_flatten_with_path(params)[0]:
      name = '/'.join(p.key for p in path)
      if name.endswith('kernel') and w.size >= 400:  # Enough entries for a 15% estimate.
        assert 0.85 * 0.02 < float(jnp.std(w)) < 1.15 * 0.02, name
      elif name.endswith('bias') and 'BatchNorm' not in name:
        assert not np.any(w), name


def test_batch_norm_generator_normalises_with_batch_statistics_and_evaluates_with_stored():
  config = _pacgan_config(width=16)
  config.sync_batch_stats = False  # No 'data' mesh axis outside the train step.
  g, _ = models.build(config, (2,))
  z = jax.random.normal(jax.random.PRNGKey(0), (64, 2))
  params, state = models.init(g, jax.random.PRNGKey(1), z)
  out, new_state = models.apply(g, params, state, z, train=True)
  # The first layer's statistics are those of z @ W (no bias); one update from the initial
  # (0, 1) keeps 0.9 of them and adds 0.1 of the batch's.
  h = np.asarray(z, np.float64) @ np.asarray(params['Dense_0']['kernel'], np.float64)
  stats = new_state['batch_stats']['BatchNorm_0']
  np.testing.assert_allclose(stats['mean'], 0.1 * h.mean(0), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(stats['var'], 0.9 + 0.1 * h.var(0), rtol=1e-4)
  # Stored statistics equal to every layer's batch moments reproduce the training output.
  zeros = jax.tree.map(jnp.zeros_like, state)
  _, moments = models.apply(g, params, zeros, z, train=True)
  exact = jax.tree.map(lambda v: v / (1.0 - layers.BN_MOMENTUM), moments)
  evaluated, unchanged = models.apply(g, params, exact, z, train=False)
  assert unchanged is exact
  np.testing.assert_allclose(evaluated, out, rtol=1e-4, atol=1e-5)
  # In training mode a sample's output depends on its batch; in eval mode it does not.
  alone, _ = models.apply(g, params, state, z[:8], train=True)
  assert not np.allclose(alone, out[:8], atol=1e-4)
  np.testing.assert_allclose(models.apply(g, params, exact, z[:8], train=False)[0],
                             evaluated[:8], rtol=1e-5, atol=1e-6)


def test_per_pac_batch_norm_generator_equals_pac_calls_as_the_pacgan_reference_draws_them():
  # PacGAN's reference runs its batch-norm generator once per pac position and packs the
  # calls' i-th samples together; g_norm='batch_pac' computes that in one call.
  config = _pacgan_config(width=16, g_norm='batch_pac')
  config.pac, config.sync_batch_stats = 3, False
  per_pac, _ = models.build(config, (2,))
  config.mlp.g_norm = 'batch'
  plain, _ = models.build(config, (2,))
  z = jax.random.normal(jax.random.PRNGKey(0), (36, 2))
  params, state = models.init(per_pac, jax.random.PRNGKey(1), z)
  out, updated = models.apply(per_pac, params, state, z, train=True)
  calls = [models.apply(plain, params, state, z[j::3], train=True) for j in range(3)]
  # models.pack puts samples 3i .. 3i + 2 in packed sample i: position j is call j's i-th.
  expected = np.stack([o for o, _ in calls], axis=1).reshape(36, 2)
  np.testing.assert_allclose(out, expected, rtol=1e-5, atol=1e-6)
  # The running averages take the mean of the calls' statistics, as the reference's
  # population updates do.
  averaged = jax.tree.map(lambda *s: sum(s) / 3, *[u for _, u in calls])
  for a, b in zip(jax.tree.leaves(updated), jax.tree.leaves(averaged)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-7)
  # In eval mode both normalise with the stored statistics alone.
  np.testing.assert_array_equal(models.apply(per_pac, params, state, z, train=False)[0],
                                models.apply(plain, params, state, z, train=False)[0])


def test_grouped_batch_norm_on_images_normalises_each_interleaved_group_with_its_moments():
  x = np.asarray(jax.random.normal(jax.random.PRNGKey(2), (8, 3, 3, 4)), np.float64) * 2 + 1
  bn = layers.BatchNorm(use_running_average=False, use_scale=False, use_bias=False, groups=2)
  variables = bn.init(jax.random.PRNGKey(0), jnp.asarray(x[:1], jnp.float32))
  y, _ = bn.apply(variables, jnp.asarray(x, jnp.float32), mutable=['batch_stats'])
  for j in range(2):  # Examples j, j + 2, ...: moments over them and their pixels.
    g = x[j::2]
    ref = (g - g.mean((0, 1, 2))) / np.sqrt(g.var((0, 1, 2)) + 1e-5)
    np.testing.assert_allclose(np.asarray(y)[j::2], ref, rtol=1e-4, atol=1e-5)
  with pytest.raises(ValueError, match='divisible by 2'):
    bn.apply(variables, jnp.asarray(x[:3], jnp.float32), mutable=['batch_stats'])


@pytest.mark.parametrize('minibatch', ['discrimination', 'stddev'])
def test_maxout_critic_keeps_its_features_for_the_minibatch_layers(minibatch):
  config = _pacgan_config(d_width=8)
  config.d_minibatch, config.minibatch_kernels, config.minibatch_dim = minibatch, 4, 2
  _, d = models.build(config, (2,))
  x = jax.random.normal(jax.random.PRNGKey(0), (8, 2))
  params, state = init(d, jax.random.PRNGKey(1), x)
  out, _, features = models.apply_with_features(d, params, state, x, train=True)
  assert out.shape == (8,) and features.shape == (8, 8)
  assert ('minibatch' in params) == (minibatch == 'discrimination')
  # The penalties' critic (batch statistics held fixed) runs on the same parameters.
  fixed, _ = models.apply(d.clone(fixed_statistics=True), params, state, x, train=True)
  np.testing.assert_allclose(fixed, out, rtol=1e-6)
