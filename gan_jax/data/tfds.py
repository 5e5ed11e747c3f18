"""Any TensorFlow Datasets image dataset, loaded once into memory or read from its files.

`load` reads a split into memory through tf.data; `RecordSource` gives random access to the
split's prepared files for the stream (data/stream.py): ArrayRecord files through tfds's own
data source, TFRecord files through an index of their record offsets (a TFRecord file is a
sequence of [length, crc, bytes, crc] records, so the index is built from the headers alone).

tensorflow and tensorflow_datasets are imported only here, and only when a tfds dataset is
used, so machines without TensorFlow still run the mixtures and the bundled data.
"""
import concurrent.futures
import contextlib
import logging
import os
import struct
import threading

import numpy as np

from gan_jax.data import image_folder
from gan_jax.data.errors import DataUnavailableError

# TensorFlow's C++ start-up banners would bury the one-line errors and progress lines.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


log = logging.getLogger(__name__)



# Per-dataset preparation to the resolution the standard GAN configs use.
CELEBA_CROP = 140  # Centre crop of the aligned 178x218 faces before resizing to 64x64.


def exists(name):
  """Whether tfds knows a dataset called `name`."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  try:
    tfds.builder_cls(name)
  except Exception:  # pylint: disable=broad-except  # tfds raises several error types.
    return False
  return True


def _prepare(name, images):
  import tensorflow as tf  # pylint: disable=import-outside-toplevel
  if name.startswith('celeb_a'):
    h, w = images.shape[1:3]
    top, left = (h - CELEBA_CROP) // 2, (w - CELEBA_CROP) // 2
    images = images[:, top:top + CELEBA_CROP, left:left + CELEBA_CROP]
    images = tf.image.resize(images, (64, 64), method='area', antialias=True).numpy()
    images = np.clip(np.round(images), 0, 255).astype(np.uint8)
  return images


@contextlib.contextmanager
def _few_download_retries():
  """tfds retries a failed connection 10 times with exponential backoff: 3.5 minutes of
  silence on a machine without internet before it fails. One retry says it in seconds."""
  from tensorflow_datasets.core.download import downloader  # pylint: disable=import-outside-toplevel
  saved, downloader.MAX_RETRIES = downloader.MAX_RETRIES, 1
  try:
    yield
  finally:
    downloader.MAX_RETRIES = saved


def _first_line(error):
  text = str(error).strip()
  return text.splitlines()[0] if text else type(error).__name__


def _builder(name, data_dir, download):
  """The dataset's tfds builder, prepared (downloaded only when `download`)."""
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  builder = tfds.builder(name, data_dir=data_dir)
  if builder.is_prepared():
    return builder
  root = os.path.dirname(os.path.dirname(os.fspath(builder.data_dir)))
  if not download:
    raise DataUnavailableError(
        f'tfds dataset {name!r} is not prepared under {root}: prepare it there on a machine '
        f'with internet (`tfds build {name} --data_dir=DIR`) and pass --config.data_dir=DIR, '
        'or allow the download with --config.data_download=True')
  log.info('preparing tfds dataset %r under %s (downloads it once; '
           '--config.data_download=False uses prepared data only)', name, root)
  try:
    with _few_download_retries():
      builder.download_and_prepare()
  except ImportError:
    raise
  except Exception as e:  # pylint: disable=broad-except  # Network, disk, checksum errors.
    raise DataUnavailableError(
        f'cannot download tfds dataset {name!r} ({_first_line(e)}): without internet, '
        f'prepare it elsewhere (`tfds build {name} --data_dir=DIR`) and pass '
        '--config.data_dir=DIR') from e
  return builder


@contextlib.contextmanager
def _read_errors(name, split):
  """A context turning tfds's many read errors into one-line DataUnavailableErrors."""
  try:
    yield
  except DataUnavailableError:
    raise
  except ImportError as e:  # tfds imports some modules lazily, where they are used.
    raise DataUnavailableError(
        f'tensorflow-datasets needs the module {e.name!r}, which is not installed: '
        f'pip install {e.name} (gan_jax\'s install declares it; reinstall with '
        '`pip install -e .`)') from e
  except Exception as e:  # pylint: disable=broad-except  # tfds raises many error types.
    raise DataUnavailableError(f'cannot read tfds dataset {name!r} split {split!r}: '
                               f'{_first_line(e)}') from e


def load(name, split, data_dir=None, download=True):
  """Loads a tfds image dataset split into memory, preparing it first if needed.

  Args:
    name: tfds name, e.g. 'mnist', 'cifar10', 'celeb_a', 'svhn_cropped'.
    split: split name, e.g. 'train'.
    data_dir: tfds data directory (None: tfds's default).
    download: download and prepare the dataset when it is not prepared yet.
  Returns:
    (images uint8 (N, H, W, C), labels int (N,) or None, num_classes).
  Raises:
    DataUnavailableError: the dataset cannot be prepared or read, with the cause.
  """
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  with _read_errors(name, split):
    builder = _builder(name, data_dir, download)
    dataset, info = builder.as_dataset(split=split), builder.info
  has_labels = 'label' in info.features
  images, labels = [], []
  for batch in tfds.as_numpy(dataset.batch(1024)):
    images.append(_prepare(name, np.asarray(batch['image'], np.uint8)))
    if has_labels:
      labels.append(np.asarray(batch['label'], np.int64))
  images = np.concatenate(images)
  if not has_labels:
    return images, None, 0
  return images, np.concatenate(labels), info.features['label'].num_classes


def record_offsets(path):
  """(offset, length) of every record's bytes in a TFRecord file, read from its headers.

  Args:
    path: a TFRecord file.
  Returns:
    list of (byte offset of the record's data, its length).
  """
  offsets, size = [], os.path.getsize(path)
  with open(path, 'rb') as f:
    position = 0
    while position < size:
      header = f.read(12)  # uint64 length, uint32 masked CRC of the length.
      if len(header) < 12:
        raise DataUnavailableError(f'{path} ends inside a record header: a truncated file')
      length = struct.unpack('<Q', header[:8])[0]
      offsets.append((position + 12, length))
      position += 12 + length + 4  # Data, then its uint32 masked CRC.
      f.seek(position)
  if position != size:
    raise DataUnavailableError(f'{path} ends inside a record: a truncated file')
  return offsets


class _TFRecords:
  """Random access to the serialized examples of a split's TFRecord shards, in order."""

  def __init__(self, paths):
    self._files = [(os.fspath(p), record_offsets(p)) for p in paths]
    self._starts = np.cumsum([0] + [len(o) for _, o in self._files])
    self._handles = threading.local()  # os.pread is thread-safe; an fd per thread is simpler.

  def __len__(self):
    return int(self._starts[-1])

  def __getitem__(self, index):
    shard = int(np.searchsorted(self._starts, index, side='right')) - 1
    path, offsets = self._files[shard]
    offset, length = offsets[index - self._starts[shard]]
    fds = self._handles.__dict__.setdefault('fds', {})
    if path not in fds:
      fds[path] = os.open(path, os.O_RDONLY)
    return os.pread(fds[path], length, offset)


def prepared_shape(name, shape):
  """The shape `_prepare` gives an image of `shape` of dataset `name`."""
  return (64, 64, shape[-1]) if name.startswith('celeb_a') else tuple(shape)


class RecordSource:
  """Random access to a prepared tfds split's images, for the stream (data/stream.py).

  Only the dataset's metadata is read here; the files are indexed at the first `read`.

  Args:
    name, split, data_dir, download: as in `load`.
  """

  def __init__(self, name, split, data_dir=None, download=True):
    self._name, self._split, self._data_dir, self._download = name, split, data_dir, download
    with _read_errors(name, split):
      self._builder = _builder(name, data_dir, download)
      features, splits = self._builder.info.features, self._builder.info.splits
      # No splits at all only under tfds.testing.mock_data, whose `load` makes the examples
      # up: their number is unknown, so the split is loaded, never streamed.
      self.size_known = bool(splits)
      self._num_examples = splits[split].num_examples if splits else None
    self._features = features
    self.num_classes = features['label'].num_classes if 'label' in features else 0
    self.sample_shape = prepared_shape(name, features['image'].shape)
    self._records, self._lock = None, threading.Lock()

  def __len__(self):
    if self._num_examples is None:
      raise DataUnavailableError(f'tfds dataset {self._name!r} reports no split sizes (mock '
                                 'data?), so it cannot be streamed: use data_stream=never')
    return self._num_examples

  def _open(self):
    import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
    with self._lock, _read_errors(self._name, self._split):
      if self._records is None:
        if self._builder.info.file_format.value == 'array_record':
          self._decode = lambda example: example
          self._records = tfds.data_source(self._name, split=self._split,
                                           data_dir=self._data_dir, download=False)
        else:
          self._decode = self._features.deserialize_example_np
          self._records = _TFRecords(self._builder.info.splits[self._split].filepaths)
    return self._records

  def read(self, index, window=image_folder.CENTRE):
    """(uint8 image, label or None) of example `index`, prepared as `load` prepares it."""
    records = self._open() if self._records is None else self._records
    example = self._decode(records[index])
    image = _prepare(self._name, np.asarray(example['image'], np.uint8)[None])[0]
    if window != image_folder.CENTRE:
      image = image_folder.fit_array(image, window)
    return image, (int(example['label']) if self.num_classes else None)

  def read_all(self):
    """(every image, the labels or None): TFRecords through `load`'s batched tf.data
    reading, ArrayRecords (which tf.data cannot read) example by example in threads."""
    if self._builder.info.file_format.value != 'array_record':
      return load(self._name, self._split, self._data_dir, download=self._download)[:2]
    with concurrent.futures.ThreadPoolExecutor(image_folder.workers_for(None)) as pool:
      examples = list(pool.map(self.read, range(len(self))))
    images = np.stack([image for image, _ in examples])
    return images, (np.asarray([y for _, y in examples], np.int64) if self.num_classes else None)
