"""Any TensorFlow Datasets image dataset, loaded once into memory.

tensorflow and tensorflow_datasets are imported only here, and only when a tfds dataset is
used, so machines without TensorFlow still run the mixtures and the bundled data.
"""
import contextlib
import logging
import os

import numpy as np

from gan_jax.data.errors import DataUnavailableError  # pylint: disable=unused-import

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
  try:
    builder = _builder(name, data_dir, download)
    dataset, info = builder.as_dataset(split=split), builder.info
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
