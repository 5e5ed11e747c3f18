"""Datasets: the bundled real images, the 2-D mixtures' parameters, the (seed, step) data
order, tfds under mock_data."""
import jax
import numpy as np
import pytest
import tensorflow_datasets as tfds
from scipy import special
from tensorflow_datasets.testing import test_utils

from gan_jax import parallel, train
from gan_jax.data import arrays, bundled, mixtures
from gan_jax.data import tfds as tfds_data
from tests.helpers import tiny_config


def test_mnist5k_is_the_real_bundled_digits():
  images, labels, num_classes = bundled.mnist5k()
  assert images.shape == (5000, 28, 28, 1) and images.dtype == np.uint8
  assert num_classes == 10 and np.bincount(labels).tolist() == [500] * 10
  assert images.max() == 255 and images.min() == 0
  # Real digits: mostly black background, a minority of bright stroke pixels.
  assert 0.1 < np.mean(images > 128) < 0.25


def test_digits8x8_is_scaled_to_uint8():
  images, labels, num_classes = bundled.digits8x8()
  assert images.shape == (1797, 8, 8, 1) and images.max() == 255 and num_classes == 10
  assert labels.shape == (1797,)


def _stream_reference(key, num_examples, length):
  """Epoch permutations concatenated, computed one epoch at a time."""
  epochs = -(-length // num_examples)
  return np.concatenate([np.asarray(jax.random.permutation(jax.random.fold_in(key, e),
                                                           num_examples))
                         for e in range(epochs)])[:length]


@pytest.mark.parametrize('num_examples,per_step', [(10, 3), (7, 7), (5, 12)])
def test_epoch_indices_walk_epoch_permutations_in_order(num_examples, per_step):
  key = jax.random.PRNGKey(5)
  stream = _stream_reference(key, num_examples, 6 * per_step)
  for step in range(6):
    epoch, offset = arrays.stream_position(step, num_examples=num_examples, per_step=per_step)
    got = np.asarray(arrays.epoch_indices(key, epoch, offset, num_examples=num_examples,
                                          per_step=per_step))
    np.testing.assert_array_equal(got, stream[step * per_step:(step + 1) * per_step])
  # Every epoch visits every example exactly once.
  np.testing.assert_array_equal(np.sort(stream[:num_examples]), np.arange(num_examples))


def test_the_example_stream_stays_exact_past_two_to_the_31_examples():
  # 8.4M steps of 256 examples: step x per_step no longer fits in int32.
  key, n, per_step = jax.random.PRNGKey(3), 1000, 256
  step = 2 ** 31 // per_step + 12_345
  for s in (step, step + 1):
    position = s * per_step + np.arange(per_step)  # Python/int64 arithmetic.
    epoch, offset = arrays.stream_position(s, num_examples=n, per_step=per_step)
    assert (epoch, offset) == (position[0] // n, position[0] % n)
    got = np.asarray(arrays.epoch_indices(key, epoch, offset, num_examples=n,
                                          per_step=per_step))
    perms = {e: np.asarray(jax.random.permutation(jax.random.fold_in(key, int(e)), n))
             for e in np.unique(position // n)}
    expected = [perms[p // n][p % n] for p in position]
    np.testing.assert_array_equal(got, expected)


def test_array_batches_are_scaled_labelled_and_a_function_of_seed_and_step():
  images = np.arange(20 * 2 * 2, dtype=np.uint8).reshape(20, 2, 2, 1) * 3
  labels = np.arange(20) % 4
  config = tiny_config(batch_size=8, n_critic=2)
  mesh = parallel.make_mesh()
  data = arrays.ArrayData('toy', images, labels, 4, config, mesh)
  batch = jax.device_get(data.batch_at(3))
  assert batch["x"].shape == (2, 8, 2, 2, 1) and batch["y"].shape == (2, 8)
  assert batch['x'].min() >= -1 and batch['x'].max() <= 1
  # Each example's pixels identify it: images[i] starts at 12 i; labels follow the images.
  index = np.round((batch['x'][..., 0, 0, 0] + 1) * 127.5 / 12).astype(int)
  np.testing.assert_array_equal(labels[index], batch['y'])
  again = jax.device_get(arrays.ArrayData('toy', images, labels, 4, config, mesh).batch_at(3))
  np.testing.assert_array_equal(again['x'], batch['x'])
  other = jax.device_get(data.batch_at(4))
  assert not np.array_equal(other['x'], batch['x'])


def _rice_mean(nu, sigma):
  """E||x|| for x ~ N(mu, sigma^2 I_2) with ||mu|| = nu (the Rice distribution's mean)."""
  x = -nu ** 2 / (2 * sigma ** 2)
  # L_{1/2}(x) = e^{x/2} ((1 - x) I0(-x/2) - x I1(-x/2)), with the exponentially scaled
  # Bessel functions absorbing e^{x/2} (the unscaled ones overflow at nu / sigma = 100).
  laguerre = (1 - x) * special.i0e(-x / 2) - x * special.i1e(-x / 2)
  return sigma * np.sqrt(np.pi / 2) * laguerre


def test_the_ring_takes_its_radius_and_std_from_the_config():
  config = tiny_config(data_radius=1.0, data_std=0.01, batch_size=8192)
  data = mixtures.MixtureData(config, parallel.make_mesh())
  assert data.mixture.std == 0.01
  np.testing.assert_allclose(np.linalg.norm(data.mixture.centers, axis=1), 1.0)
  x = np.asarray(jax.device_get(data.batch_at(5))['x'], np.float64).reshape(-1, 2)
  radius = np.linalg.norm(x, axis=1)
  # Standard errors: 0.01 / sqrt(8192) ~ 1.1e-4 for the mean, ~ 0.8% of std for the std.
  mean = _rice_mean(1.0, 0.01)
  np.testing.assert_allclose(radius.mean(), mean, atol=5e-4)
  # E||x||^2 = nu^2 + 2 sigma^2.
  np.testing.assert_allclose(radius.std(), np.sqrt(1.0 + 2 * 0.01 ** 2 - mean ** 2), rtol=0.05)
  nearest = np.argmin(np.sum((x[:, None] - data.mixture.centers) ** 2, -1), axis=1)
  np.testing.assert_allclose((x - data.mixture.centers[nearest]).std(0), 0.01, rtol=0.05)
  assert np.bincount(nearest, minlength=8).min() > 0.8 * len(x) / 8
  # Still a pure function of (seed, step).
  again = mixtures.MixtureData(config, parallel.make_mesh()).batch_at(5)['x']
  np.testing.assert_array_equal(np.asarray(again).reshape(-1, 2), x.astype(np.float32))


def test_mixture_defaults_stay_and_only_the_ring_has_a_radius():
  ring = mixtures.from_config(tiny_config())
  np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
  assert ring.std == 0.02
  grid = mixtures.from_config(tiny_config(dataset='grid25', data_std=0.1))
  assert grid.std == 0.1 and sorted(set(grid.centers[:, 0])) == [-4, -2, 0, 2, 4]
  with pytest.raises(ValueError, match='grid25 has no radius'):
    mixtures.from_config(tiny_config(dataset='grid25', data_radius=1.0))


def test_tfds_datasets_load_with_their_real_feature_specs_under_mock_data():
  with tfds.testing.mock_data(num_examples=6):
    images, labels, num_classes = tfds_data.load('cifar10', 'train')
    assert images.shape == (6, 32, 32, 3) and images.dtype == np.uint8
    assert labels.shape == (6,) and num_classes == 10
    faces, no_labels, none = tfds_data.load('celeb_a', 'train')
    assert faces.shape == (6, 64, 64, 3) and no_labels is None and none == 0


def test_tfds_names_are_recognised_and_typos_are_not():
  assert tfds_data.exists('mnist') and tfds_data.exists('svhn_cropped')
  assert not tfds_data.exists('cifar11')


class GanJaxTestMnist(test_utils.DummyMnist):
  """tfds's DummyMnist, registered under a name of our own (tfds registers subclasses).
  Its module is tfds's own, as every built-in dataset's is: tfds resolves a builder's code
  path from it, with a module (importlib_resources) that a fresh install once lacked."""
  __module__ = test_utils.__name__


def test_a_tfds_dataset_is_prepared_and_loaded_the_way_a_users_run_does(tmp_path):
  # Not mock data: tfds's real builder, download_and_prepare and reader (a fresh install
  # once lacked a module tfds imports only there). DummyMnist generates its examples locally.
  images, labels, num_classes = tfds_data.load('gan_jax_test_mnist', 'train', str(tmp_path))
  assert images.shape[1:] == (28, 28, 1) and images.dtype == np.uint8 and len(images) > 0
  assert labels.shape == (len(images),) and num_classes == 10
  config = tiny_config(dataset='gan_jax_test_mnist', data_dir=str(tmp_path), model='dcgan',
                       image_shape=(28, 28, 1), evals=(), g_width=4, d_width=4)
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  assert run.dataset.sample_shape == (28, 28, 1) and run.dataset.num_classes == 10


def test_an_unprepared_tfds_dataset_without_download_fails_at_once_saying_how_to_prepare_it(
    tmp_path):
  with pytest.raises(tfds_data.DataUnavailableError,
                     match=r"'mnist' is not prepared under .*tfds build mnist"):
    tfds_data.load('mnist', 'train', str(tmp_path), download=False)


def test_a_module_tfds_lacks_is_named_as_the_cause(monkeypatch):
  def missing(*args):
    del args
    raise ModuleNotFoundError("No module named 'importlib_resources'",
                              name='importlib_resources')
  monkeypatch.setattr(tfds_data, '_builder', missing)
  with pytest.raises(tfds_data.DataUnavailableError,
                     match="needs the module 'importlib_resources'.*pip install"):
    tfds_data.load('cifar10', 'train')
