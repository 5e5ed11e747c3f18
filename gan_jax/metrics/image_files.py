"""Images to evaluate, read from files: an .npz with uint8 NHWC 'images', or a folder of
PNG/JPEG files. Every problem is a StatsFileError with a one-line message."""
import os

import numpy as np

from gan_jax.metrics import stats_files
from gan_jax.metrics.stats_files import StatsFileError

EXTENSIONS = ('.png', '.jpg', '.jpeg')


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
  """All PNG/JPEG images of a folder (sorted by name), as uint8 (n, h, w, 1 or 3).

  Grayscale files stay one channel when all are grayscale; otherwise all become RGB.
  """
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  names = sorted(n for n in os.listdir(path) if n.lower().endswith(EXTENSIONS))
  if not names:
    raise StatsFileError(f'{path} holds no {"/".join(EXTENSIONS)} files')
  images = []
  for name in names:
    try:
      with Image.open(os.path.join(path, name)) as im:
        images.append(im.convert('L') if im.mode in ('L', '1', 'I;16') else im.convert('RGB'))
    except (OSError, UnidentifiedImageError) as e:
      raise StatsFileError(f'{os.path.join(path, name)} is not a readable image ({e})') from e
  if any(im.mode == 'RGB' for im in images):
    images = [im.convert('RGB') for im in images]
  sizes = {im.size for im in images}
  if len(sizes) > 1:
    raise StatsFileError(f'{path}: images have different sizes {sorted(sizes)[:3]}...; '
                         'resize them to one size first')
  arrays = [np.asarray(im, np.uint8) for im in images]
  stack = np.stack(arrays)
  return check_images(stack[..., None] if stack.ndim == 3 else stack, path)
