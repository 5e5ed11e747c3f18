"""Images to evaluate, read from files: an .npz with uint8 NHWC 'images', or a folder of
PNG/JPEG files. Every problem is a StatsFileError with a one-line message."""
import numpy as np

from gan_jax.data import image_folder
from gan_jax.metrics import stats_files
from gan_jax.metrics.stats_files import StatsFileError


def check_images(images, where):
  """Requires uint8 (n, h, w, 1 or 3) with n > 0."""
  if images.dtype != np.uint8 or images.ndim != 4 or images.shape[-1] not in (1, 3):
    raise StatsFileError(f'{where}: images must be uint8 (N, H, W, 1 or 3), got '
                         f'{images.dtype} {images.shape}')
  if not images.shape[0]:
    raise StatsFileError(f'{where}: holds no images')
  return images


def read_npz_images(path, arrays=None):
  """The uint8 'images' array of an .npz file (scripts/sample.py writes these).

  Args:
    path: the file.
    arrays: its arrays when the caller has already read them (`stats_files.read_npz`).
  """
  arrays = stats_files.read_npz(path) if arrays is None else arrays
  if 'images' not in arrays:
    raise StatsFileError(f'{path} has keys {sorted(arrays)}; an image file needs '
                         'images (a statistics file needs mu and sigma)')
  return check_images(arrays['images'], path)


def read_folder(path):
  """All images of a folder (and of its class subfolders), as uint8 (n, h, w, 1 or 3).

  Grayscale files stay one channel when all are grayscale; otherwise all become RGB. Images
  of different sizes are refused (FID compares what the files hold).
  """
  try:
    files, _, _ = image_folder.list_files(path)
    return check_images(image_folder.read_images(files), path)
  except image_folder.ImageFolderError as e:
    raise StatsFileError(str(e)) from e
