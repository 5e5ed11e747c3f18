"""`--config.dataset=folder:PATH`: a folder of image files, class subfolders as labels, the
size policy, and one-line errors naming the file."""
import os
import sys

import jax
import numpy as np
import pytest
from PIL import Image

from gan_jax import parallel, train
from gan_jax.data import image_folder
from gan_jax.data.errors import DataUnavailableError
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import tiny_config


def _write(path, array):
  os.makedirs(os.path.dirname(path), exist_ok=True)
  Image.fromarray(array).save(path)


def _digits(n, size=8, seed=0):
  return np.random.default_rng(seed).integers(0, 256, (n, size, size), dtype=np.uint8)


def test_class_subfolders_become_labels_and_pixels_are_read_exactly(tmp_path):
  images = _digits(6)
  for i, image in enumerate(images):
    _write(str(tmp_path / ('cats' if i < 2 else 'dogs') / f'{i}.png'), image)
  got, labels, num_classes = image_folder.load(str(tmp_path))
  assert num_classes == 2 and labels.tolist() == [0, 0, 1, 1, 1, 1]
  np.testing.assert_array_equal(got, images[..., None])  # PNG is lossless; grayscale: 1 ch.


def test_a_flat_folder_is_unlabelled_and_rgb_when_any_file_is_colour(tmp_path):
  _write(str(tmp_path / 'a.png'), _digits(1)[0])
  rgb = np.random.default_rng(1).integers(0, 256, (8, 8, 3), dtype=np.uint8)
  _write(str(tmp_path / 'b.png'), rgb)
  got, labels, num_classes = image_folder.load(str(tmp_path))
  assert got.shape == (2, 8, 8, 3) and labels is None and num_classes == 0
  np.testing.assert_array_equal(got[1], rgb)
  np.testing.assert_array_equal(got[0], np.repeat(_digits(1)[0][..., None], 3, axis=-1))


def test_other_sizes_are_refused_or_centre_cropped_and_resized_by_policy(tmp_path):
  _write(str(tmp_path / 'a.png'), _digits(1)[0])
  _write(str(tmp_path / 'b.png'), _digits(1)[0])
  wide = np.zeros((8, 16), np.uint8)
  wide[:, 4:12] = 200  # The centre square: what the crop keeps.
  _write(str(tmp_path / 'c.png'), wide)
  with pytest.raises(DataUnavailableError, match=r"c\.png is 16x8 pixels, not 8x8.*data_resize"):
    image_folder.load(str(tmp_path))
  got, _, _ = image_folder.load(str(tmp_path), resize=True)
  np.testing.assert_array_equal(got[2, ..., 0], np.full((8, 8), 200))
  small, _, _ = image_folder.load(str(tmp_path), image_shape=(4, 4, 1), resize=True)
  assert small.shape == (3, 4, 4, 1)


@pytest.mark.parametrize('layout,expected', [
    ({}, 'holds no'),
    ({'x.png': 'not an image'}, 'x.png is not a readable image'),
    ({'top.png': 'png', 'cls/a.png': 'png'}, 'both at its top and in subfolders'),
])
def test_bad_folders_are_one_line_errors_naming_the_problem(tmp_path, layout, expected):
  for name, content in layout.items():
    if content == 'png':
      _write(str(tmp_path / name), _digits(1)[0])
    else:
      (tmp_path / name).write_text(content)
  with pytest.raises(DataUnavailableError, match=expected) as e:
    image_folder.load(str(tmp_path))
  assert '\n' not in str(e.value)


def test_a_conditional_gan_trains_on_a_folder_and_its_cache_name_follows_the_contents(
    tmp_path):
  for i, image in enumerate(_digits(16, seed=3)):
    _write(str(tmp_path / 'data' / f'class{i % 2}' / f'{i}.png'), image)
  folder = str(tmp_path / 'data')
  config = tiny_config(dataset=f'folder:{folder}', model='dcgan', image_shape=(8, 8, 1),
                       num_classes=2, evals=(), g_width=4, d_width=4)
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  state, m = run.train_step(run.state, run.dataset.batch_at(0))
  assert np.isfinite(float(parallel.fetch(m)['d_loss']))
  before = image_folder.cache_name(folder)
  _write(str(tmp_path / 'data' / 'class0' / 'new.png'), _digits(1, seed=9)[0])
  assert image_folder.cache_name(folder) != before and before.startswith('folder_data_')
  del state


def test_a_missing_folder_is_refused_before_any_work(tmp_path):
  proc = cli.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=configs/dcgan_mnist5k.py:smoke',
       f'--workdir={tmp_path / "run"}', f'--config.dataset=folder:{tmp_path / "nope"}'],
      cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert proc.returncode != 0 and len(lines) == 1 and 'is not a folder' in lines[0], \
      proc.stderr[-2000:]
  assert not (tmp_path / 'run').exists()
