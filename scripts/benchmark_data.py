"""The input pipelines' speed and memory on this machine, on a synthetic folder of JPEGs.

  python scripts/benchmark_data.py --num=2000 --size=64 --what=read,stream,train,memory

Writes a folder of smooth random-content JPEGs (quality 90, sizes like photos') into a
temporary directory and prints one JSON line per measurement:
  read:   `image_folder.read_images` (the in-memory loader) per thread count in --workers.
  stream: images/s of the streaming pipeline alone (data/stream.py: `batch_at` of
          consecutive steps of --batch images, on device) per thread count.
  train:  steps/s of a small DCGAN train step fed from device memory vs from the stream.
  memory: peak host memory a pass over the folder adds (resident memory sampled every 5 ms,
          in a fresh process each), held in memory vs streamed with --memory_mb allowed,
          beside the decoded size.
The folder is removed after.
"""
import json
import os
import subprocess
import sys
import tempfile
import threading
import time

from absl import app, flags
import numpy as np
from PIL import Image

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
from gan_jax.data import image_folder

_NUM = flags.DEFINE_integer('num', 2000, 'Images in the synthetic folder.')
_SIZE = flags.DEFINE_integer('size', 64, 'Their height and width.')
_WORKERS = flags.DEFINE_list('workers', ['1', '2', '8'], 'Decoding thread counts to time.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed passes per thread count (median).')
_WHAT = flags.DEFINE_list('what', ['read', 'stream', 'train', 'memory'],
                          'Measurements: read, stream, train, memory.')
_BATCH = flags.DEFINE_integer('batch', 64, 'Batch size of the stream and train figures.')
_STEPS = flags.DEFINE_integer('steps', 30, 'Timed steps of the stream and train figures.')
_MEMORY_MB = flags.DEFINE_float('memory_mb', 16.0,
                                'Memory the streamed run is allowed (config.data_memory_mb).')
_CHILD = flags.DEFINE_string('child', '', 'Internal: measure memory of one mode (never, '
                             'always) in this process, on the folder --folder.')
_FOLDER = flags.DEFINE_string('folder', '', 'Internal: the folder of a --child run.')


def _write_folder(path, num, size):
  rng = np.random.default_rng(0)
  # Smooth random images (upsampled noise): JPEG sizes like photos', not like white noise.
  for i in range(num):
    small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR).save(
        os.path.join(path, f'{i:06d}.jpg'), quality=90)


def _config(folder, **overrides):
  from configs import default  # pylint: disable=import-outside-toplevel
  c = default.get_config()
  c.dataset, c.model, c.batch_size, c.n_critic = f'folder:{folder}', 'dcgan', _BATCH.value, 1
  c.image_shape, c.g_width, c.d_width, c.z_dim = (_SIZE.value, _SIZE.value, 3), 8, 8, 32
  c.evals = ()
  for key, value in overrides.items():
    c[key] = value
  return c


def _print(**record):
  print(json.dumps(record), flush=True)


def _read(folder):
  files, _, _ = image_folder.list_files(folder)
  for workers in (int(w) for w in _WORKERS.value):
    times = []
    for _ in range(_REPEATS.value):
      start = time.perf_counter()
      images = image_folder.read_images(files, workers=workers)
      times.append(time.perf_counter() - start)
    seconds = float(np.median(times))
    _print(what='read', workers=workers, images=len(images), size=_SIZE.value,
           seconds=round(seconds, 3), images_per_sec=round(len(images) / seconds, 1))


def _stream(folder):
  import jax  # pylint: disable=import-outside-toplevel
  from gan_jax import data, parallel  # pylint: disable=import-outside-toplevel
  for workers in (int(w) for w in _WORKERS.value):
    dataset = data.build(_config(folder, data_stream='always', data_workers=workers),
                         parallel.make_mesh())
    jax.block_until_ready(dataset.batch_at(0))  # Start-up and the first compile.
    start = time.perf_counter()
    for step in range(1, _STEPS.value + 1):
      batch = dataset.batch_at(step)
    jax.block_until_ready(batch)
    seconds = time.perf_counter() - start
    _print(what='stream', workers=workers, images=_STEPS.value * _BATCH.value,
           size=_SIZE.value, seconds=round(seconds, 3),
           images_per_sec=round(_STEPS.value * _BATCH.value / seconds, 1))


def _train(folder):
  import jax  # pylint: disable=import-outside-toplevel
  from gan_jax import train  # pylint: disable=import-outside-toplevel
  for mode in ('never', 'always'):
    run = train.Run(_config(folder, data_stream=mode))
    state = run.state
    for step in range(2):  # Compiles, and fills the prefetch buffer.
      state, _ = run.train_step(state, run.dataset.batch_at(step))
    jax.block_until_ready(state)
    start = time.perf_counter()
    for step in range(2, 2 + _STEPS.value):
      state, _ = run.train_step(state, run.dataset.batch_at(step))
    jax.block_until_ready(state)
    seconds = time.perf_counter() - start
    _print(what='train', data='device memory' if mode == 'never' else 'stream',
           batch=_BATCH.value, size=_SIZE.value, steps_per_sec=round(_STEPS.value / seconds, 2))


def _rss_mb():
  with open('/proc/self/statm', encoding='ascii') as f:
    return int(f.read().split()[1]) * os.sysconf('SC_PAGE_SIZE') / 2 ** 20


class _PeakRss:
  """Samples this process's resident memory every 5 ms: its peak over the `with` block.

  ru_maxrss cannot give it: imports (TensorFlow, jaxlib) peak above what a pass adds.
  """

  def __enter__(self):
    self.start = self.peak = _rss_mb()
    self._done = threading.Event()
    self._thread = threading.Thread(target=self._sample, daemon=True)
    self._thread.start()
    return self

  def _sample(self):
    while not self._done.wait(0.005):
      self.peak = max(self.peak, _rss_mb())

  def __exit__(self, *exc):
    self._done.set()
    self._thread.join()
    self.peak = max(self.peak, _rss_mb())


def _memory_child(mode, folder):
  """One pass over the folder with data_stream=`mode`; prints the memory it added."""
  import jax  # pylint: disable=import-outside-toplevel
  from gan_jax import data, parallel  # pylint: disable=import-outside-toplevel
  mesh = parallel.make_mesh()
  with _PeakRss() as rss:
    dataset = data.build(_config(folder, data_stream=mode, data_memory_mb=_MEMORY_MB.value),
                         mesh)
    for step in range(-(-_NUM.value // _BATCH.value)):
      jax.block_until_ready(dataset.batch_at(step))
  _print(what='memory', data='device memory' if mode == 'never' else 'stream',
         images=_NUM.value, decoded_mb=round(_NUM.value * _SIZE.value ** 2 * 3 / 2 ** 20, 1),
         allowed_mb=_MEMORY_MB.value if mode == 'always' else None,
         rss_before_mb=round(rss.start, 1), peak_rss_mb=round(rss.peak, 1),
         peak_added_mb=round(rss.peak - rss.start, 1))


def _memory(folder):
  for mode in ('never', 'always'):
    subprocess.run([sys.executable, os.path.abspath(__file__), f'--child={mode}',
                    f'--folder={folder}', f'--num={_NUM.value}', f'--size={_SIZE.value}',
                    f'--batch={_BATCH.value}', f'--memory_mb={_MEMORY_MB.value}'],
                   check=True)


MEASUREMENTS = {'read': _read, 'stream': _stream, 'train': _train, 'memory': _memory}


def main(argv):
  del argv
  if _NUM.value <= 0 or _SIZE.value < 8 or _BATCH.value <= 0 or _STEPS.value <= 0:
    raise app.UsageError('--num, --batch and --steps must be positive and --size at least 8')
  if _CHILD.value:
    _memory_child(_CHILD.value, _FOLDER.value)
    return
  unknown = [w for w in _WHAT.value if w not in MEASUREMENTS]
  if unknown:
    raise app.UsageError(f'--what={unknown[0]} is not a measurement; choose from: '
                         f'{", ".join(MEASUREMENTS)}')
  with tempfile.TemporaryDirectory() as folder:
    _write_folder(folder, _NUM.value, _SIZE.value)
    for what in _WHAT.value:
      MEASUREMENTS[what](folder)


if __name__ == '__main__':
  app.run(main)
