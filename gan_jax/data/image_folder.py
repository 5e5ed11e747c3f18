"""A folder of PNG/JPEG images as a dataset: `--config.dataset=folder:PATH`.

Layout: either every image directly in PATH (unlabelled), or every image in a direct
subfolder of PATH, one subfolder per class (labels are the subfolders in sorted order), as
torchvision's ImageFolder reads them. Images are decoded in parallel threads, one per core
(PIL releases the GIL while decoding), into one uint8 array.

Size policy: all images must have one size (the config's image_shape if set, else the most
common size) unless `resize` is on, which centre-crops each image to the target's aspect
ratio and resizes it with a Lanczos filter. Channels: the config's, else 1 when every file
is grayscale and 3 otherwise. Every problem is an ImageFolderError naming the file.
"""
import collections
import concurrent.futures
import hashlib
import os

import numpy as np

from gan_jax.data.errors import DataUnavailableError

EXTENSIONS = ('.png', '.jpg', '.jpeg', '.bmp', '.webp')
PREFIX = 'folder:'


class ImageFolderError(DataUnavailableError):
  """A folder that cannot be read as images; the message is one line for the user."""


def _images_in(folder):
  return sorted(n for n in os.listdir(folder)
                if n.lower().endswith(EXTENSIONS) and os.path.isfile(os.path.join(folder, n)))


def list_files(path):
  """(files, labels or None, class names) of an image folder, in a fixed order.

  Args:
    path: the folder.
  Returns:
    files: sorted paths; labels: int class of each file when the images are in class
    subfolders, else None; class_names: the subfolders, sorted ([] when unlabelled).
  """
  if not os.path.isdir(path):
    raise ImageFolderError(f'{path} is not a folder')
  top = _images_in(path)
  classes = sorted(d for d in os.listdir(path) if os.path.isdir(os.path.join(path, d))
                   and _images_in(os.path.join(path, d)))
  if top and classes:
    raise ImageFolderError(f'{path} has images both at its top and in subfolders '
                           f'({classes[0]}/, ...): put them all in class subfolders '
                           '(labelled) or all at the top (unlabelled)')
  if top:
    return [os.path.join(path, n) for n in top], None, []
  if not classes:
    raise ImageFolderError(f'{path} holds no {"/".join(EXTENSIONS)} files, neither at its '
                           'top nor in class subfolders')
  files, labels = [], []
  for k, name in enumerate(classes):
    names = _images_in(os.path.join(path, name))
    files += [os.path.join(path, name, n) for n in names]
    labels += [k] * len(names)
  return files, np.asarray(labels, np.int64), classes


def _open(file):
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(file) as im:
      im.load()
      return im.convert('L') if im.mode in ('L', '1', 'I;16', 'I') else im.convert('RGB')
  except (OSError, UnidentifiedImageError, ValueError) as e:
    raise ImageFolderError(f'{file} is not a readable image ({e})') from e


def _fit(im, size):
  """Centre-crops `im` to the aspect ratio of `size` (width, height), then resizes it."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  w, h = im.size
  scale = min(w / size[0], h / size[1])
  cw, ch = round(size[0] * scale), round(size[1] * scale)
  left, top = (w - cw) // 2, (h - ch) // 2
  return im.crop((left, top, left + cw, top + ch)).resize(size, Image.Resampling.LANCZOS)


def read_images(files, *, size=None, channels=None, resize=False, workers=None):
  """Decodes image files into one uint8 (n, h, w, c) array.

  Args:
    files: image paths.
    size: (height, width) to produce; None: the most common size among the files.
    channels: 1 or 3; None: 1 if every file is grayscale, else 3.
    resize: fit other sizes to `size` (centre crop, Lanczos) instead of refusing them.
    workers: decoding threads (None: one per core, at most 8; scripts/benchmark_data.py
      measured more threads than cores to be slower).
  Returns:
    uint8 (n, h, w, c).
  """
  if not files:
    raise ImageFolderError('no image files to read')
  workers = workers or min(8, os.cpu_count() or 1)
  with concurrent.futures.ThreadPoolExecutor(workers) as pool:
    images = list(pool.map(_open, files))
  sizes = collections.Counter(im.size for im in images)
  target = (size[1], size[0]) if size else sizes.most_common(1)[0][0]  # PIL: (w, h).
  odd = next(((f, im.size) for f, im in zip(files, images) if im.size != target), None)
  if odd and not resize:
    file, (w, h) = odd
    raise ImageFolderError(f'{file} is {w}x{h} pixels, not {target[0]}x{target[1]} like the '
                           'others: resize the images to one size, or set '
                           'config.data_resize=True to centre-crop and resize them')
  if channels is None:
    channels = 1 if all(im.mode == 'L' for im in images) else 3
  mode = 'L' if channels == 1 else 'RGB'
  out = np.empty((len(images), target[1], target[0], channels), np.uint8)
  for i, im in enumerate(images):
    im = im if im.size == target else _fit(im, target)
    out[i] = np.asarray(im.convert(mode), np.uint8).reshape(out.shape[1:])
  return out


def cache_name(path):
  """A name for caches of this folder's contents (FID reference statistics): its base name
  and a digest of its files' paths, sizes and modification times, so edits invalidate it."""
  files, _, _ = list_files(path)
  digest = hashlib.sha1()
  for file in files:
    stat = os.stat(file)
    digest.update(f'{os.path.relpath(file, path)}|{stat.st_size}|{stat.st_mtime_ns}\n'.encode())
  return f'folder_{os.path.basename(os.path.abspath(path))}_{digest.hexdigest()[:12]}'


def load(path, image_shape=(), resize=False):
  """An image folder as (uint8 images (n, h, w, c), labels or None, num_classes).

  Args:
    path: the folder (see the module docstring for the layout).
    image_shape: the (h, w, c) the run's models expect, or () to take the images' own.
    resize: fit images of other sizes instead of refusing them.
  """
  files, labels, classes = list_files(path)
  shape = tuple(image_shape)
  images = read_images(files, size=shape[:2] or None, channels=shape[2] if shape else None,
                       resize=resize)
  return images, labels, len(classes)
