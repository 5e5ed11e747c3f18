"""Any TensorFlow Datasets image dataset, loaded once into memory.

tensorflow and tensorflow_datasets are imported only here, and only when a tfds dataset is
used, so machines without TensorFlow still run the mixtures and the bundled data.
"""
import os

import numpy as np

# TensorFlow's C++ start-up banners would bury the one-line errors and progress lines.
os.environ.setdefault('TF_CPP_MIN_LOG_LEVEL', '3')


class DataUnavailableError(OSError):
  """A dataset that cannot be loaded here; the message is one line for the user."""

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


def load(name, split, data_dir=None):
  """Loads a tfds image dataset split into memory.

  Args:
    name: tfds name, e.g. 'mnist', 'cifar10', 'celeb_a', 'svhn_cropped'.
    split: split name, e.g. 'train'.
    data_dir: tfds data directory (None: tfds's default).
  Returns:
    (images uint8 (N, H, W, C), labels int (N,) or None, num_classes).
  """
  import tensorflow_datasets as tfds  # pylint: disable=import-outside-toplevel
  try:
    dataset, info = tfds.load(name, split=split, data_dir=data_dir, with_info=True)
  except Exception as e:  # pylint: disable=broad-except
    reason = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    raise DataUnavailableError(f'cannot load tfds dataset {name!r} split {split!r} (offline '
                               f'machines need it prepared under --config.data_dir): '
                               f'{reason}') from e
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
