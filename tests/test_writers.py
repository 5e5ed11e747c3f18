"""writers: sample grids laid out exactly, curves grouped by what they measure, TensorBoard
tags grouped by event, metrics.jsonl left flat."""
import glob
import json
import os
import struct

import matplotlib.pyplot as plt
import numpy as np
import pytest
from tensorboardX.proto import event_pb2

from gan_jax import writers


def _images(n, h, w, c=1, seed=0):
  """(uint8 pixels, the same images in [-1, 1]) of n random HxWxC images."""
  pixels = np.random.default_rng(seed).integers(0, 256, (n, h, w, c)).astype(np.uint8)
  return pixels, pixels.astype(np.float32) / 127.5 - 1.0


def test_a_grid_holds_each_image_upscaled_to_a_64px_cell_row_by_row():
  pixels, images = _images(5, 28, 28)
  grid = writers.grid_array(images, cols=3)
  cell = 3 * 28  # The smallest integer factor that reaches MIN_CELL_PX = 64.
  assert grid.shape == (2 * (cell + 1) + 1, 3 * (cell + 1) + 1, 3)
  for i, image in enumerate(pixels):
    top, left = 1 + (i // 3) * (cell + 1), 1 + (i % 3) * (cell + 1)
    upscaled = np.repeat(np.kron(image[..., 0], np.ones((3, 3), np.uint8))[..., None], 3, -1)
    np.testing.assert_array_equal(grid[top:top + cell, left:left + cell], upscaled)
  assert np.all(grid[1 + cell + 1:, 1 + 2 * (cell + 1):] == 255)  # The sixth cell is empty.
  assert np.all(grid[0] == 255) and np.all(grid[:, cell + 1] == 255)  # White gaps.


def test_images_of_64px_or_more_are_not_upscaled():
  pixels, images = _images(2, 64, 80, c=3)
  grid = writers.grid_array(images, cols=2)
  assert grid.shape == (66, 2 * 81 + 1, 3)
  np.testing.assert_array_equal(grid[1:65, 82:162], pixels[1])


def test_a_plain_grid_png_is_the_grid_array_pixel_for_pixel(tmp_path):
  _, images = _images(4, 8, 8)
  path = str(tmp_path / 'plain.png')
  writers.save_grid(path, images, cols=2)
  png = np.round(plt.imread(path)[..., :3] * 255).astype(np.uint8)
  np.testing.assert_array_equal(png, writers.grid_array(images, cols=2))


def test_a_conditional_grid_labels_each_row_at_its_centre_and_titles_the_step(tmp_path):
  _, images = _images(6, 28, 28)
  labels = ['class 0', 'class 1', 'class 2']
  fig = writers.grid_figure(images, cols=2, title='samples, step 500', row_labels=labels,
                            col_labels=['a', 'b'])
  ax, = fig.axes
  cell = 3 * 28 + 1
  np.testing.assert_allclose(ax.get_yticks(), [0.5 + cell * (r + 0.5) for r in range(3)])
  assert [t.get_text() for t in ax.get_yticklabels()] == labels
  np.testing.assert_allclose(ax.get_xticks(), [0.5 + cell * (c + 0.5) for c in range(2)])
  assert [t.get_text() for t in ax.get_xticklabels()] == ['a', 'b']
  assert fig.texts[0].get_text() == 'samples, step 500'
  plt.close(fig)
  path = str(tmp_path / 'grid.png')
  writers.save_grid(path, images, 2, title='samples, step 500', row_labels=labels)
  grid = writers.grid_array(images, 2)
  height, width, _ = plt.imread(path).shape
  assert height > grid.shape[0] and width > grid.shape[1]  # Margins for title and labels.


def test_a_label_count_other_than_the_row_count_is_refused():
  _, images = _images(6, 8, 8)
  with pytest.raises(ValueError, match='2 labels for 3 rows'):
    writers.grid_figure(images, cols=2, row_labels=['a', 'b'])


def test_curve_panels_group_by_quantity_drop_bookkeeping_and_keep_unknown_names():
  names = {'g_loss', 'd_loss', 'g_adv_loss', 'r1', 'gp', 'd_real', 'd_fake', 'd_accuracy',
           'g_grad_norm', 'd_grad_norm', 'modes', 'is', 'is_std', 'steps_per_sec', 'seed',
           'zeta_custom', 'alpha_custom'}
  P = writers.Panel
  assert writers.curve_panels(names) == [
      P('losses', 'loss', ('d_loss', 'g_loss', 'g_adv_loss'), 'linear'),
      P('penalties', 'penalty', ('gp', 'r1'), 'linear'),
      P('critic outputs', 'mean D(x)', ('d_real', 'd_fake'), 'linear'),
      P('critic accuracy', 'accuracy', ('d_accuracy',), 'fraction'),
      P('gradient norms', 'global L2 norm', ('g_grad_norm', 'd_grad_norm'), 'log'),
      P('modes covered', 'modes', ('modes',), 'count'),
      P('Inception Score', 'IS (band: ± std)', ('is', 'is_std'), 'linear'),
      P('alpha_custom', 'alpha_custom', ('alpha_custom',), 'linear'),
      P('zeta_custom', 'zeta_custom', ('zeta_custom',), 'linear'),
  ]
  assert writers.curve_panels({'steps_per_sec', 'seed', 'stage', 'compile_seconds'}) == []


def test_curves_are_drawn_from_train_eval_and_warning_records(tmp_path):
  records = [{'step': s, 'event': 'train', 'd_loss': 1.0 / s, 'g_loss': 'nan',
              'steps_per_sec': 9.0, 'custom': s} for s in range(1, 5)]
  records += [{'step': 4, 'event': 'eval', 'modes': 7, 'is': 2.0, 'is_std': 0.1},
              {'step': 3, 'event': 'warning', 'warning': 'oscillation', 'detail': 'x'}]
  path = str(tmp_path / 'curves.png')
  writers.plot_curves(path, records)
  assert plt.imread(path).shape[0] > 300
  writers.plot_curves(str(tmp_path / 'none.png'), [{'step': 1, 'event': 'train',
                                                    'steps_per_sec': 3.0}])
  assert not os.path.exists(tmp_path / 'none.png')


def _event_tags(workdir):
  """{tag: kind} of every summary value in `workdir`'s TensorBoard event files (TFRecords:
  length, its crc, the Event proto, its crc)."""
  tags = {}
  for path in glob.glob(os.path.join(workdir, 'events.out.tfevents.*')):
    with open(path, 'rb') as f:
      data = f.read()
    offset = 0
    while offset < len(data):
      length, = struct.unpack('<Q', data[offset:offset + 8])
      event = event_pb2.Event.FromString(data[offset + 12:offset + 12 + length])
      offset += 16 + length
      for value in event.summary.value:
        tags[value.tag] = value.WhichOneof('value')
  return tags


def test_tensorboard_groups_train_eval_diagnostics_and_samples_and_jsonl_stays_flat(tmp_path):
  workdir = str(tmp_path)
  writer = writers.MetricWriter(workdir)
  writer.write(2, {'d_loss': 0.5, 'steps_per_sec': 3.0}, 'train')
  writer.write(4, {'fid': 12.0, 'modes': 8}, 'eval')
  writer.write(4, {'warning': 'oscillation', 'detail': 'd_loss swings'}, 'warning')
  image = str(tmp_path / 'grid.png')
  writers.save_grid(image, _images(2, 8, 8)[1], 2)
  writer.write_image(4, 'grid', image)
  writer.close()
  assert _event_tags(workdir) == {
      'train/d_loss': 'simple_value', 'train/steps_per_sec': 'simple_value',
      'eval/fid': 'simple_value', 'eval/modes': 'simple_value',
      'diagnostics/oscillation/text_summary': 'tensor',  # tensorboardX's text suffix.
      'samples/grid': 'image'}
  with open(os.path.join(workdir, writers.METRICS_FILE), encoding='utf-8') as f:
    assert [json.loads(line) for line in f] == [
        {'step': 2, 'event': 'train', 'seed': 0, 'd_loss': 0.5, 'steps_per_sec': 3.0},
        {'step': 4, 'event': 'eval', 'seed': 0, 'fid': 12.0, 'modes': 8},
        {'step': 4, 'event': 'warning', 'seed': 0, 'warning': 'oscillation',
         'detail': 'd_loss swings'}]
