"""Image datasets read as a stream: each process decodes only its rows of every global batch.

Used for image folders and tfds datasets whose decoded images exceed config.data_memory_mb,
whenever config.data_stream='always', and for the augmentations (config.data_flip,
config.data_crop_scale), which only the stream applies. The loader is Grain: its random-access
MapDataset fits the library's rule that a batch is a function of (seed, step), its threads
decode in parallel (PIL releases the GIL) and its prefetch buffer runs ahead of the train step;
unlike tf.data it needs no TensorFlow for image folders.

Order: the same stream of examples as the in-memory ArrayData (epoch e in permutation
fold_in(key, e), step t at positions [t * per_step, (t + 1) * per_step)), so a dataset gives
the same batches streamed or held in memory, for any number of processes and threads, and a
resumed run starts reading at its step, without replaying the epoch. Augmentation draws come
from (seed, position in the stream) alone.
"""
import functools
import logging

import grain
import jax
import numpy as np

from gan_jax import seeds
from gan_jax.data import image_folder
from gan_jax.metrics import stats_files

log = logging.getLogger(__name__)

# Steps of examples the prefetch buffer holds ahead of the train step.
PREFETCH_STEPS = 2
_HORIZON = 2 ** 50  # The stream's end, in examples: past any run, and lazy.


def wanted(config, num_bytes):
  """Whether a dataset of `num_bytes` decoded bytes is streamed under `config`.

  Args:
    config: the experiment config (data_stream, data_memory_mb, data_flip, data_crop_scale).
    num_bytes: the dataset's decoded size.
  """
  if config.data_stream == 'always' or config.data_flip or config.data_crop_scale < 1.0:
    return True
  if config.data_stream == 'never':
    return False
  return num_bytes > config.data_memory_mb * 2 ** 20


def local_rows(shape, sharding, axis):
  """The indices along `axis` of a global array of `shape` that this process's devices hold,
  sorted: the rows of each global batch this process reads."""
  rows = set()
  for index in sharding.addressable_devices_indices_map(shape).values():
    rows.update(range(*index[axis].indices(shape[axis])))
  return np.asarray(sorted(rows), np.int64)


def augmentation(config, seed_index, position):
  """(crop window, flip) of the example at `position` of seed `seed_index`'s stream.

  Args:
    config: data_flip, data_crop_scale and the run's seed.
    seed_index: k of a num_seeds run (0 for a single run).
    position: the example's position in the stream (step * per_step + offset).
  Returns:
    window (scale, u, v) for image_folder.fit and whether to flip left-right.
  """
  if not config.data_flip and config.data_crop_scale >= 1.0:
    return image_folder.CENTRE, False
  u, v, coin = np.random.default_rng([config.seed + seed_index, 0xA06, position]).random(3)
  if config.data_crop_scale >= 1.0:
    u = v = 0.5
  return (config.data_crop_scale, u, v), bool(config.data_flip and coin < 0.5)


class StreamData:
  """A random-access image source read step by step, with the `batch_at(step)` contract.

  Args:
    name: the dataset's name (for caches of its FID statistics).
    source: `len(source)`, `sample_shape`, `num_classes` and `read(index, window)` ->
      (uint8 image, label or None); e.g. image_folder.FolderSource, tfds.RecordSource.
    config: the experiment config (seed, num_seeds, batch_size, n_critic, data_workers and
      the augmentations).
    mesh: the device mesh.
  """

  def __init__(self, name, source, config, mesh):
    self.name = name
    self.source = source
    self.sample_shape = tuple(source.sample_shape)
    self.num_classes = source.num_classes
    self.num_examples = len(source)
    self._config = config
    self._workers = image_folder.workers_for(config.data_workers)
    self._keys = np.asarray(jax.device_get(jax.random.key_data(seeds.keys(config, 0x0DA7A))))
    self._seeds = config.num_seeds if seeds.stacked(config) else 0
    per = (config.n_critic, config.batch_size)
    self._per_step = per[0] * per[1]
    self._shape = ((self._seeds,) if self._seeds else ()) + per
    self._sharding = seeds.batch_sharding(config, mesh)
    self._rows = local_rows(self._shape, self._sharding, len(self._shape) - 1)
    self._local = self._shape[:-1] + (len(self._rows),)
    self._count = int(np.prod(self._local))  # Examples this process reads per step.
    self._where = {int(r): i for i, r in enumerate(self._rows)}
    self._to_float = jax.jit(lambda x: x.astype(np.float32) / 127.5 - 1.0,
                             out_shardings=self._sharding)
    self._iterator, self._next_step = None, None
    log.info('streaming %s: %d examples of shape %s, %d threads, rows read here: %d of %d',
             name, self.num_examples, self.sample_shape, self._workers, len(self._rows),
             config.batch_size)

  @functools.lru_cache(maxsize=4)
  def _permutation(self, seed_index, epoch):
    key = jax.random.wrap_key_data(self._keys[seed_index] if self._seeds else self._keys)
    with jax.default_device(jax.local_devices(backend='cpu')[0]):  # Host work, any backend.
      return np.asarray(jax.random.permutation(jax.random.fold_in(key, epoch),
                                               self.num_examples))

  def _item(self, i):
    """Local example number `i` of the stream: (image, label) of its step's batch."""
    step, j = divmod(i, self._count)
    *lead, row = np.unravel_index(j, self._local)
    seed_index = int(lead[0]) if self._seeds else 0
    position = step * self._per_step + int(lead[-1]) * self._config.batch_size + \
        int(self._rows[row])
    epoch, offset = divmod(position, self.num_examples)
    window, flip = augmentation(self._config, seed_index, position)
    image, label = self.source.read(int(self._permutation(seed_index, epoch)[offset]), window)
    return (image[:, ::-1] if flip else image), (-1 if label is None else label)

  def _stream_from(self, step):
    options = grain.ReadOptions(num_threads=self._workers,
                                prefetch_buffer_size=PREFETCH_STEPS * self._count)
    return iter(grain.MapDataset.range(step * self._count, _HORIZON).map(self._item)
                .to_iter_dataset(options).batch(self._count))

  def _global(self, local):
    """The global batch array whose rows this process holds in `local` (the local rows
    along the batch axis, the leading axes whole)."""
    axis = len(self._shape) - 1
    shape = self._shape + local.shape[axis + 1:]

    def shard(index):  # One device's slice, cut from this process's rows.
      rows = [self._where[r] for r in range(*index[axis].indices(shape[axis]))]
      return np.take(local, rows, axis=axis)[tuple(index[:axis])]

    return jax.make_array_from_callback(shape, self._sharding, shard)

  def batch_at(self, step):
    """Returns the batch of training step `step`, read from the stream."""
    if self._iterator is None or step != self._next_step:
      self._iterator = self._stream_from(step)  # A resume or a jump: start reading there.
    images, labels = next(self._iterator)
    self._next_step = step + 1
    batch = {'x': self._to_float(self._global(images.reshape(self._local + self.sample_shape)))}
    if self.num_classes:
      batch['y'] = self._global(labels.reshape(self._local).astype(np.int32))
    return batch

  def reference_batches(self, count, batch_size=500):
    """The FID reference images, read through the same threads (see `reference_batches`)."""
    return reference_batches(self.source, count, self._workers, batch_size)


def reference_batches(source, count, workers, batch_size=500):
  """The FID reference images of a random-access source, read in `workers` threads.

  Args:
    source: as StreamData's.
    count: how many: stats_files' fixed subset of that many examples.
    workers: decoding threads.
    batch_size: images per yielded array.
  Returns:
    An iterator of uint8 (n <= batch_size, h, w, c) host arrays, never all in memory.
  """
  indices = stats_files.reference_indices(len(source), count)
  options = grain.ReadOptions(num_threads=workers, prefetch_buffer_size=batch_size)
  read = lambda i: source.read(int(i))[0]  # noqa: E731
  return iter(grain.MapDataset.source(indices).map(read).to_iter_dataset(options)
              .batch(batch_size))
