"""Image models: shapes, the DCGAN table's parameter counts, spectral norm, conditioning,
mixed precision."""
import re

import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import default
from gan_jax import models
from gan_jax.models import dcgan, layers, resnet


def _init(module, x, labels=None):
  return module.init(jax.random.PRNGKey(0), x, labels, train=False)


@pytest.mark.parametrize('resolution,channels', [(64, 3), (32, 3), (28, 1)])
@pytest.mark.parametrize('norm', dcgan.D_NORMS)
def test_dcgan_shapes_at_every_resolution_and_norm(resolution, channels, norm):
  g = dcgan.DCGANGenerator(resolution, channels, width=8)
  d = dcgan.DCGANDiscriminator(resolution, width=8, norm=norm)
  z = jnp.ones((3, 100))
  images = g.apply(_init(g, z), z)
  assert images.shape == (3, resolution, resolution, channels)
  assert float(jnp.max(jnp.abs(images))) <= 1.0  # tanh output
  assert d.apply(_init(d, images), images).shape == (3,)


def test_dcgan64_has_the_parameter_count_of_the_pytorch_reference():
  # pytorch/examples dcgan with bias-free convs: netG 3,576,704 and netD 2,765,568 params.
  g, d = dcgan.DCGANGenerator(64, 3), dcgan.DCGANDiscriminator(64)
  assert models.count_params(_init(g, jnp.ones((1, 100)))['params']) == 3_576_704
  assert models.count_params(_init(d, jnp.ones((1, 64, 64, 3)))['params']) == 2_765_568


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
  images = g.apply(_init(g, z, labels), z, labels)
  assert images.shape == (2, 32, 32, 3)
  assert d.apply(_init(d, images, labels), images, labels).shape == (2,)


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
  out_k = generator.apply(variables, z, jnp.full(4, 3))
  out_j = generator.apply(variables, z, jnp.full(4, 7))
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
    ('resnet', (32, 32, 3), 'spectral')])
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
    want, got = full.apply(variables, x), half.apply(variables, x)
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
