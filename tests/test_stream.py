"""The streaming input pipeline (data/stream.py): the same batches as the in-memory dataset for
any number of threads, seeds and processes, reading from any step (resume), its
augmentations, its FID reference images, tfds's TFRecord and ArrayRecord files, and one-line
errors for what it cannot stream."""
import functools
import os
import subprocess
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from gan_jax import data, parallel, train, validation
from gan_jax.data import arrays, bundled, image_folder, stream
from gan_jax.metrics import stats_files
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import tiny_config


def _config(**overrides):
  config = tiny_config(dataset='digits8x8', model='dcgan', image_shape=(8, 8, 1), evals=(),
                       batch_size=64, n_critic=2, num_classes=10)
  for key, value in overrides.items():
    config[key] = value
  return config


def _batches(config, steps, mesh=None):
  dataset = data.build(config, mesh or parallel.make_mesh())
  return dataset, [jax.tree.map(np.asarray, dataset.batch_at(step)) for step in steps]


def _assert_same(got, want):
  for a, b in zip(got, want):
    assert a.keys() == b.keys()
    for key in a:
      np.testing.assert_array_equal(a[key], b[key])


# digits8x8 has 1,797 examples and a step reads 2 x 64: epoch 1 starts inside step 14.
STEPS = [0, 1, 13, 14, 15, 29]


@pytest.mark.parametrize('num_seeds,workers', [(1, 1), (1, 3), (2, 2)])
def test_streamed_batches_equal_the_in_memory_batches_on_eight_devices(num_seeds, workers):
  memory, want = _batches(_config(num_seeds=num_seeds, data_stream='never'), STEPS)
  streamed, got = _batches(_config(num_seeds=num_seeds, data_stream='always',
                                   data_workers=workers), STEPS)
  assert isinstance(memory, arrays.ArrayData) and isinstance(streamed, stream.StreamData)
  assert got[0]['x'].shape == ((num_seeds,) if num_seeds > 1 else ()) + (2, 64, 8, 8, 1)
  _assert_same(got, want)


def test_a_stream_started_mid_epoch_reads_what_an_uninterrupted_one_reads():
  config = _config(data_stream='always')
  _, straight = _batches(config, range(16))
  _, resumed = _batches(config, [12, 13, 14, 15])  # A fresh pipeline, as after a SIGKILL.
  _assert_same(resumed, straight[12:])


def test_a_training_run_resumed_mid_epoch_on_a_stream_ends_where_an_uninterrupted_one_does(
    tmp_path):
  def config(steps):
    return _config(data_stream='always', num_steps=steps, checkpoint_every=8, log_every=8,
                   eval_every=16, g_width=4, d_width=4, batch_size=128, n_critic=1)
  train.train_and_evaluate(config(16), str(tmp_path / 'straight'))
  train.train_and_evaluate(config(8), str(tmp_path / 'resumed'))  # Step 8: mid-epoch (14).
  train.train_and_evaluate(config(16), str(tmp_path / 'resumed'))
  from tests.helpers import restored_state  # pylint: disable=import-outside-toplevel
  one = restored_state(config(16), str(tmp_path / 'straight'))
  two = restored_state(config(16), str(tmp_path / 'resumed'))
  assert int(two.step) == 16
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
    np.testing.assert_array_equal(a, b)


def test_flips_and_crops_depend_on_seed_and_position_only():
  _, one = _batches(_config(data_stream='always', data_flip=True, data_workers=1), STEPS)
  _, three = _batches(_config(data_stream='always', data_flip=True, data_workers=3), STEPS)
  _assert_same(one, three)
  _, plain = _batches(_config(data_stream='never'), STEPS)
  flipped = same = 0
  for a, b in zip(one, plain):
    np.testing.assert_array_equal(a['y'], b['y'])
    mirrored = np.all(a['x'] == b['x'][..., ::-1, :], axis=(2, 3, 4))
    equal = np.all(a['x'] == b['x'], axis=(2, 3, 4))
    assert np.all(mirrored | equal)  # Every image is the in-memory one, or its mirror.
    flipped += int(np.sum(mirrored & ~equal))
    same += int(np.sum(equal & ~mirrored))
  assert 0.4 < flipped / (flipped + same) < 0.6
  window, flip = stream.augmentation(_config(data_flip=True, data_crop_scale=0.5), 0, 12345)
  again = stream.augmentation(_config(data_flip=True, data_crop_scale=0.5), 0, 12345)
  other = stream.augmentation(_config(data_flip=True, data_crop_scale=0.5), 1, 12345)
  assert (window, flip) == again != other and window[0] == 0.5 and 0 <= window[1] <= 1


def test_a_random_crop_is_the_window_of_the_drawn_corner_resized_back():
  image = np.arange(64, dtype=np.uint8).reshape(8, 8, 1) * 4
  got = image_folder.fit_array(image, (0.5, 1.0, 0.0))  # The top-right 4x4 quarter.
  want = np.asarray(Image.fromarray(image[:4, 4:, 0]).resize((8, 8), Image.Resampling.LANCZOS))
  np.testing.assert_array_equal(got[..., 0], want)
  np.testing.assert_array_equal(image_folder.fit_array(image, image_folder.CENTRE), image)


def test_the_stream_gives_the_in_memory_fid_reference_images():
  dataset = data.build(_config(data_stream='always'), parallel.make_mesh())
  got = np.concatenate(list(dataset.reference_batches(300, batch_size=128)))
  images, _, _ = bundled.BUNDLED['digits8x8']()
  np.testing.assert_array_equal(got, stats_files.reference_subset(images, 300))


def test_auto_streams_only_what_exceeds_the_memory_allowed():
  mesh = parallel.make_mesh()
  small = data.build(_config(data_memory_mb=1.0), mesh)  # digits8x8: 115 kB.
  large = data.build(_config(data_memory_mb=0.1), mesh)
  assert isinstance(small, arrays.ArrayData) and isinstance(large, stream.StreamData)


@pytest.mark.parametrize('overrides,expected', [
    ({'dataset': 'ring8', 'model': 'mlp', 'image_shape': (), 'num_classes': 0,
      'data_flip': True}, 'config.data_flip=True needs a streamed image dataset'),
    ({'data_flip': True, 'data_stream': 'never'}, "data_stream='never' turns off"),
    ({'data_crop_scale': 1.5}, r'data_crop_scale=1.5 must be in \(0, 1\]'),
    ({'data_stream': 'sometimes'}, "config.data_stream='sometimes' is not allowed"),
    ({'data_workers': -1}, 'config.data_workers=-1 must be an integer'),
])
def test_bad_stream_settings_are_one_line_errors(overrides, expected):
  with pytest.raises(validation.ConfigError, match=expected) as e:
    validation.validate(_config(**overrides))
  assert '\n' not in str(e.value)


def _write_folder(path, n, size=8):
  images = np.random.default_rng(0).integers(0, 256, (n, size, size), dtype=np.uint8)
  for i, image in enumerate(images):
    os.makedirs(path / f'class{i % 3}', exist_ok=True)
    Image.fromarray(image).save(path / f'class{i % 3}' / f'{i:03d}.png')


def test_a_streamed_folder_is_refused_at_build_time_for_a_file_of_another_size(tmp_path):
  _write_folder(tmp_path, 6)
  Image.fromarray(np.zeros((8, 16), np.uint8)).save(tmp_path / 'class1' / 'wide.png')
  config = _config(dataset=f'folder:{tmp_path}', num_classes=3, data_stream='always')
  with pytest.raises(image_folder.ImageFolderError, match=r'wide\.png is 16x8 pixels'):
    data.build(config, parallel.make_mesh())
  config.data_resize = True
  assert data.build(config, parallel.make_mesh()).num_examples == 7


def test_two_processes_read_the_global_batches_of_one(tmp_path):
  """Each of 2 processes (jax.distributed, 4 CPU devices each) decodes only its half of
  every global batch; gathered, they are the batches one process reads."""
  _write_folder(tmp_path / 'images', 40)
  args = [sys.executable, os.path.join(ROOT, 'tests', 'stream_batches.py'),
          str(tmp_path / 'images')]
  single = cli.run(args + [str(tmp_path / 'one.npz')], cwd=ROOT, env=run_env(8),
                   timeout=300)
  assert single.returncode == 0, single.stderr[-2000:]
  import socket  # pylint: disable=import-outside-toplevel
  with socket.socket() as s:
    s.bind(('localhost', 0))
    port = s.getsockname()[1]
  logs = [open(tmp_path / f'process{i}.log', 'w+', encoding='utf-8') for i in range(2)]
  procs = [subprocess.Popen(args + [str(tmp_path / 'two.npz'), f'localhost:{port}', str(i)],
                            cwd=ROOT, env=run_env(4), stdout=log, stderr=log)
           for i, log in enumerate(logs)]  # Files, not pipes: a full pipe would stall one.
  try:
    for p in procs:
      p.wait(timeout=300)
  finally:
    for p in procs:
      p.kill()
  for p, log in zip(procs, logs):
    log.seek(0)
    err = log.read()
    log.close()
    assert p.returncode == 0, err[-3000:]
    assert 'rows read here: 32 of 64' in err
  one, two = np.load(tmp_path / 'one.npz'), np.load(tmp_path / 'two.npz')
  for key in one.files:
    np.testing.assert_array_equal(one[key], two[key])


@functools.cache
def _tiny_digits_builder():
  """A registered tfds builder of 30 random labelled 8x8 images, in two shards (tfds
  registers a builder class by name once per process)."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel

  class TinyDigits(tfds.core.GeneratorBasedBuilder):
    """Random 8x8 grayscale images with labels 0-4."""
    VERSION = tfds.core.Version('1.0.0')

    def _info(self):
      return tfds.core.DatasetInfo(builder=self, features=tfds.features.FeaturesDict({
          'image': tfds.features.Image(shape=(8, 8, 1)),
          'label': tfds.features.ClassLabel(num_classes=5)}))

    def _split_generators(self, dl_manager):
      del dl_manager
      return {'train': self._generate_examples()}

    def _generate_examples(self):
      rng = np.random.default_rng(7)
      for i in range(30):
        yield i, {'image': rng.integers(0, 256, (8, 8, 1), dtype=np.uint8), 'label': i % 5}

  return TinyDigits


def _tiny_tfds(data_dir, file_format):
  """The tiny dataset prepared in `data_dir` as `file_format` files; returns its name."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  builder = _tiny_digits_builder()(data_dir=str(data_dir), file_format=file_format)
  builder.download_and_prepare(download_config=tfds.download.DownloadConfig(num_shards=2))
  return builder.name


@pytest.mark.parametrize('file_format', ['tfrecord', 'array_record'])
def test_tfds_record_files_stream_the_batches_tfds_loads_into_memory(tmp_path, file_format):
  name = _tiny_tfds(tmp_path, file_format)
  fields = {'dataset': name, 'data_dir': str(tmp_path), 'data_download': False,
            'num_classes': 5, 'batch_size': 16, 'n_critic': 1}
  _, want = _batches(_config(data_stream='never', **fields), STEPS)
  streamed, got = _batches(_config(data_stream='always', **fields), STEPS)
  assert isinstance(streamed, stream.StreamData) and streamed.num_examples == 30
  _assert_same(got, want)


def test_a_tfrecord_file_cut_inside_a_record_is_a_one_line_error(tmp_path):
  from gan_jax.data import tfds as tfds_data  # pylint: disable=import-outside-toplevel
  path = tmp_path / 'cut.tfrecord'
  path.write_bytes((5).to_bytes(8, 'little') + b'\0' * 4 + b'abc')
  with pytest.raises(data.errors.DataUnavailableError, match='truncated file') as e:
    tfds_data.record_offsets(str(path))
  assert '\n' not in str(e.value)
