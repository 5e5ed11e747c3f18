"""Stacked MNIST: the data, the Metz et al. networks against the reference's layers, the
3-digit labelling, the mode metrics against float64, and the experiment config end to end."""
import functools
import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from configs import stacked_mnist as stacked_config
from gan_jax import models, parallel, train, validation
from gan_jax.data import stacked_mnist
from gan_jax.metrics import classifier, modes, stacked_modes
from gan_jax.models import metz


def _random_variables(module, x, std=0.02, seed=0):
  """Variables of `module` drawn in numpy, so no initialiser is compiled (seconds per
  network on a loaded 2-core CPU): every parameter ~ N(0, std), batch-norm running means 0
  and variances 1.

  Returns:
    (params, model_state).
  """
  shapes = dict(jax.eval_shape(module.init, jax.random.PRNGKey(0), x))
  rng = np.random.default_rng(seed)

  def leaf(path, shape):
    fill = {'mean': np.zeros, 'var': np.ones}.get(path[-1].key)
    if fill is not None:
      return fill(shape.shape, np.float32)
    return rng.normal(0.0, std, shape.shape).astype(np.float32)

  variables = jax.tree_util.tree_map_with_path(leaf, shapes)
  return variables.pop('params'), variables


def _batches(config, step):
  return jax.device_get(stacked_mnist.StackedMNIST(config, parallel.make_mesh()).batch_at(step))


def test_every_channel_is_a_gan_digit_the_classifier_never_saw_and_labels_spell_them():
  config = stacked_config.get_config('smoke')
  config.batch_size, config.n_critic = 16, 2
  data = stacked_mnist.StackedMNIST(config, parallel.make_mesh())
  assert data.sample_shape == (28, 28, 3) and data.num_classes == 1000
  batch = data.batch_at(5)
  assert batch['x'].sharding.spec == P(None, 'data')
  batch = jax.device_get(batch)
  assert batch['x'].shape == (2, 16, 28, 28, 3) and batch['y'].shape == (2, 16)
  digits, labels = stacked_mnist.gan_digits()
  assert digits.shape == (1000, 28, 28)
  index = {d.tobytes(): i for i, d in enumerate(digits)}
  seen_by_classifier = {d.tobytes() for d in classifier.split()[0]}
  pixels = np.round((batch['x'] + 1.0) * 127.5).astype(np.uint8)
  np.testing.assert_allclose(pixels / 127.5 - 1.0, batch['x'], atol=1e-6)  # uint8 digits.
  for image, y in zip(pixels.reshape(-1, 28, 28, 3), batch['y'].reshape(-1)):
    channels = [image[..., c].tobytes() for c in range(3)]
    assert not set(channels) & seen_by_classifier
    a, b, c = (labels[index[ch]] for ch in channels)
    assert y == 100 * a + 10 * b + c


def test_batches_are_a_function_of_seed_and_step():
  config = stacked_config.get_config('smoke')
  first = _batches(config, 3)
  np.testing.assert_array_equal(_batches(config, 3)['x'], first['x'])
  assert not np.array_equal(_batches(config, 4)['x'], first['x'])
  config.seed = 1
  assert not np.array_equal(_batches(config, 3)['x'], first['x'])


def test_the_classifier_reports_its_accuracy_on_the_gan_digits():
  params, accuracy = classifier.load_or_train()
  digits, labels = stacked_mnist.gan_digits()
  assert accuracy == pytest.approx(classifier.accuracy(params, digits[..., None], labels))
  assert accuracy > 0.95  # Measured 0.959: about 88% of real stacks labelled right.


def _classify(params):
  net = classifier.DigitClassifier()
  return lambda x: net.apply({'params': params}, x)


def test_stacks_of_known_digits_get_their_three_digit_labels():
  params, _ = classifier.load_or_train()
  digits, labels = stacked_mnist.gan_digits()
  predicted = np.argmax(np.asarray(_classify(params)(digits[..., None])), axis=-1)
  # One digit of each class that the classifier recognises.
  first = {k: int(np.flatnonzero((labels == k) & (predicted == k))[0]) for k in range(10)}
  triples = [(3, 7, 1), (1, 7, 3), (0, 0, 9), (9, 5, 0), (4, 4, 4)]
  images, stated = stacked_mnist.stack(jnp.asarray(digits), jnp.asarray(labels),
                                       jnp.array([[first[k] for k in t] for t in triples]))
  expected = [100 * a + 10 * b + c for a, b, c in triples]
  np.testing.assert_array_equal(stated, expected)
  np.testing.assert_array_equal(stacked_modes.stacked_labels(_classify(params), images),
                                expected)


def _kl_float64(labels):
  p = np.bincount(labels, minlength=1000).astype(np.float64)
  p = p[p > 0] / p.sum()
  return float(np.sum(p * np.log(p / (1.0 / 1000))))


def test_modes_and_kl_of_a_hand_made_label_set():
  labels = np.array([7] * 5 + [123] * 3 + [999] * 2 + [0])
  # Masked entries (another label, a label already present) count for nothing.
  padded = np.concatenate([labels, [500, 7, 7]])
  valid = np.arange(padded.size) < labels.size
  counts = stacked_modes.label_counts(jnp.asarray(padded), jnp.asarray(valid))
  np.testing.assert_array_equal(counts, np.bincount(labels, minlength=1000))
  stats = modes.coverage(counts)
  assert int(stats['modes']) == 4
  np.testing.assert_allclose(float(stats['mode_kl']), _kl_float64(labels), rtol=1e-6)
  uniform = modes.coverage(stacked_modes.label_counts(jnp.arange(1000).repeat(3)))
  assert int(uniform['modes']) == 1000 and abs(float(uniform['mode_kl'])) < 1e-5
  one = modes.coverage(stacked_modes.label_counts(jnp.full((64,), 42)))
  assert int(one['modes']) == 1
  np.testing.assert_allclose(float(one['mode_kl']), math.log(1000), rtol=1e-6)


def test_generated_coverage_on_many_devices_labels_each_sample_once():
  g = metz.MetzGenerator()
  # Large weights make the untrained generator's samples differ enough to get many labels.
  params, state = _random_variables(g, jnp.ones((1, 256)), std=0.6)
  c_params, _ = classifier.load_or_train()
  num_samples, batch_size, key = 20, 8, jax.random.PRNGKey(7)  # The last batch is half used.
  z = jnp.concatenate([jax.random.normal(jax.random.fold_in(key, i), (batch_size, 256))
                       for i in range(3)])[:num_samples]

  @jax.jit
  def want_fn(z):
    images, _ = models.apply(g, params, state, z, train=False)
    return modes.coverage(stacked_modes.label_counts(
        stacked_modes.stacked_labels(_classify(c_params), images)))

  want = want_fn(z)
  assert int(want['modes']) > 5
  apply = lambda p, x: classifier.DigitClassifier().apply({'params': p}, x)  # noqa: E731
  # On 8 devices, each generating and labelling one sample of every batch.
  fn = stacked_modes.make_generated_coverage(g, apply, parallel.make_mesh(),
                                             num_samples=num_samples, batch_size=batch_size,
                                             z_dim=256)
  got = parallel.fetch(fn(params, state, c_params, key))
  assert int(got['modes']) == int(want['modes'])
  np.testing.assert_allclose(got['mode_kl'], want['mode_kl'], rtol=1e-6)


# Layer by layer, the reference's variables (model.py: linear/deconv2d/conv2d with biases,
# batch norm with scale and shift), D = 1/4 G.
G_LAYERS = {'Dense_0': (256, 1024), 'BatchNorm_0': 64, 'ConvTranspose_0': (3, 3, 32, 64),
            'BatchNorm_1': 32, 'ConvTranspose_1': (3, 3, 16, 32), 'BatchNorm_2': 16,
            'ConvTranspose_2': (3, 3, 8, 16), 'BatchNorm_3': 8, 'Conv_0': (3, 3, 8, 3)}
D_LAYERS = {'Conv_0': (3, 3, 3, 2), 'BatchNorm_0': 2, 'Conv_1': (3, 3, 2, 4), 'BatchNorm_1': 4,
            'Conv_2': (3, 3, 4, 8), 'BatchNorm_2': 8, 'Dense_0': (128, 1)}


def _layer_shapes(params):
  return {name: (p['kernel'].shape if 'kernel' in p else p['scale'].shape[0])
          for name, p in params.items()}


def _param_shapes(module, x):
  return jax.eval_shape(module.init, jax.random.PRNGKey(0), x)['params']


def test_metz_networks_have_the_reference_layers_and_parameter_counts():
  g, d = metz.MetzGenerator(), metz.MetzDiscriminator(width=2, sync_batch_stats=False)
  z = jax.random.normal(jax.random.PRNGKey(0), (4, 256))
  g_shapes = _param_shapes(g, z)
  assert _layer_shapes(g_shapes) == G_LAYERS
  assert models.count_params(g_shapes) == 287_875
  g_params, g_state = _random_variables(g, z)
  images = jax.jit(g.apply)({'params': g_params, **g_state}, z)
  assert images.shape == (4, 28, 28, 3) and float(jnp.max(jnp.abs(images))) <= 1.0
  d_shapes = _param_shapes(d, images)
  assert _layer_shapes(d_shapes) == D_LAYERS
  # 3x3x3x2+2 + 2x2 + 3x3x2x4+4 + 2x4 + 3x3x4x8+8 + 2x8 + 4x4x8+1.
  assert models.count_params(d_shapes) == 585
  params, state = _random_variables(d, images)
  out, _, features = jax.jit(functools.partial(models.apply_with_features, d, train=True))(
      params, state, images)
  assert out.shape == (4,) and features.shape == (4, 4 * 4 * 8)  # 28 -> 14 -> 7 -> 4.
  assert models.count_params(_param_shapes(metz.MetzDiscriminator(width=4), images)) == 1_889
  # Packing 4 samples: the first convolution sees 12 channels (3x3x9x2 more weights).
  packed = models.pack(jnp.concatenate([images] * 4), 4)
  assert models.count_params(_param_shapes(d, packed)) == 585 + 162


@pytest.mark.parametrize('in_size,out_size', [(4, 7), (7, 14), (14, 28)])
def test_transposed_convolutions_are_the_transpose_of_same_strided_convolutions(in_size,
                                                                               out_size):
  # TensorFlow's conv2d_transpose with an output shape is the gradient of conv2d 'SAME'.
  kernel = jax.random.normal(jax.random.PRNGKey(0), (3, 3, 5, 6))
  y = jax.random.normal(jax.random.PRNGKey(1), (2, in_size, in_size, 6))
  dims = ('NHWC', 'HWIO', 'NHWC')
  conv = lambda x: jax.lax.conv_general_dilated(x, kernel, (2, 2), 'SAME',  # noqa: E731
                                                dimension_numbers=dims)
  _, transpose = jax.vjp(conv, jnp.zeros((2, out_size, out_size, 5)))
  pad = metz.transpose_padding(in_size, out_size)
  got = jax.lax.conv_transpose(y, kernel, (2, 2), (pad, pad), transpose_kernel=True,
                               dimension_numbers=dims)
  np.testing.assert_allclose(got, transpose(y)[0], rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('norm,minibatch', [('batch', 'discrimination'), ('batch', 'stddev'),
                                            ('spectral', 'none'), ('none', 'none')])
def test_metz_critic_options_keep_its_shape(norm, minibatch):
  d = metz.MetzDiscriminator(width=2, norm=norm, sync_batch_stats=False, minibatch=minibatch,
                             minibatch_kernels=4, minibatch_dim=2)
  x = jax.random.uniform(jax.random.PRNGKey(0), (8, 28, 28, 6), minval=-1)
  params, state = _random_variables(d, x)
  out, _ = jax.jit(functools.partial(models.apply, d, train=True))(params, state, x)
  assert out.shape == (8,) and bool(jnp.all(jnp.isfinite(out)))


def test_fixed_statistics_make_each_critic_output_depend_on_its_own_example_only():
  x = jax.random.uniform(jax.random.PRNGKey(0), (3, 28, 28, 3), minval=-1)
  d = metz.MetzDiscriminator(width=2, sync_batch_stats=False)
  params, state = _random_variables(d, x, std=0.3)

  def cross_terms(module):
    jac = jax.jit(jax.jacobian(
        lambda v: models.apply(module, params, state, v, train=True)[0]))(x)
    norms = jnp.sqrt(jnp.sum(jac ** 2, axis=(2, 3, 4)))  # (output, example)
    return float(jnp.max(norms * (1 - jnp.eye(3)))), float(jnp.min(jnp.diag(norms)))

  mixed, _ = cross_terms(d)
  fixed, own = cross_terms(d.clone(fixed_statistics=True))
  assert mixed > 1e-3 and fixed == 0.0 and own > 1e-3


def test_variants_set_the_published_settings():
  c = stacked_config.get_config()
  assert (c.pac, c.unrolled_steps, c.d_width, c.batch_size) == (1, 0, 2, 128)
  assert (c.d_lr, c.g_lr, c.g_betas, c.z_dim, c.num_eval_samples) == (
      2e-4, 1e-4, (0.5, 0.99), 256, 25_600)
  c = stacked_config.get_config('pacgan4,half')
  assert (c.pac, c.d_width, c.batch_size) == (4, 4, 512)  # 128 packed critic examples.
  assert stacked_config.get_config('unrolled').unrolled_steps == 10
  c = stacked_config.get_config('best')  # The 2-D tables' best, unchanged.
  assert (c.pac, c.batch_size, c.r1_gamma, c.ema_decay, c.unrolled_steps) == (
      2, 256, 0.1, 0.99, 0)
  for bad in ('pacgan5', 'dcgan,pacgan2', 'quarter'):
    with pytest.raises(ValueError, match='unknown config argument'):
      stacked_config.get_config(bad)


@pytest.mark.parametrize('field,value,message', [
    ('dataset', 'mnist5k', "'stacked_modes', which needs config.dataset='stacked_mnist'"),
    ('evals', ('grid', 'fid'), "'fid', which needs a fixed set of training images"),
    ('num_classes', 1000, "config.model='metz' is unconditional"),
])
def test_configs_the_protocol_cannot_run_are_refused(field, value, message):
  c = stacked_config.get_config('smoke')
  c[field] = value
  with pytest.raises(validation.ConfigError, match=message):
    validation.validate(c)


def test_a_packed_smoke_run_trains_evaluates_and_checkpoints(tmp_path):
  summary = train.train_and_evaluate(stacked_config.get_config('pacgan2,smoke'),
                                     str(tmp_path))
  assert summary['steps'] == 2 and 1 <= summary['modes'] <= 1000
  assert 0.0 <= summary['mode_kl'] <= math.log(1000) + 1e-4
  assert (tmp_path / 'grid_0000002.png').exists()
  assert (tmp_path / 'checkpoints' / '2').is_dir()
