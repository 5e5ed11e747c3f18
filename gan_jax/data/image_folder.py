"""A folder of PNG/JPEG images as a dataset: `--config.dataset=folder:PATH`.

Layout: either every image directly in PATH (unlabelled), or every image in a direct
subfolder of PATH, one subfolder per class (labels are the subfolders in sorted order), as
torchvision's ImageFolder reads them. Images are decoded in parallel threads, one per core
(PIL releases the GIL while decoding), into one uint8 array, or, for folders larger than
config.data_memory_mb, read as they are needed through `FolderSource` (data/stream.py).

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


def _header(file):
  """(width, height, grayscale) from the file's header: PIL reads no pixels yet."""
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(file) as im:
      return im.size[0], im.size[1], im.mode in GRAY_MODES
  except (OSError, UnidentifiedImageError, ValueError) as e:
    raise ImageFolderError(f'{file} is not a readable image ({e})') from e


GRAY_MODES = ('L', '1', 'I;16', 'I')
CENTRE = (1.0, 0.5, 0.5)  # A crop window: the largest one, in the middle.


def fit(im, size, window=CENTRE):
  """Crops `im` to the aspect ratio of `size` (width, height), then resizes it (Lanczos).

  Args:
    im: a PIL image.
    size: (width, height) to produce.
    window: (scale, u, v): the crop's side is `scale` times the largest window of that
      aspect ratio, its top-left corner at fractions u, v of the free width and height.
  Returns:
    the PIL image at `size` (`im` itself when it already is and the window is the whole).
  """
  from PIL import Image  # pylint: disable=import-outside-toplevel
  w, h = im.size
  if (w, h) == tuple(size) and window[0] == 1.0:
    return im
  scale = min(w / size[0], h / size[1]) * window[0]
  cw, ch = max(1, round(size[0] * scale)), max(1, round(size[1] * scale))
  left, top = round((w - cw) * window[1]), round((h - ch) * window[2])
  return im.crop((left, top, left + cw, top + ch)).resize(size, Image.Resampling.LANCZOS)


def fit_array(image, window):
  """A uint8 (h, w, c) image cropped through `window` and resized back to (h, w)."""
  from PIL import Image  # pylint: disable=import-outside-toplevel
  h, w, c = image.shape
  im = fit(Image.fromarray(image[..., 0] if c == 1 else image), (w, h), window)
  return np.asarray(im, np.uint8).reshape(image.shape)


def decode(file, shape, window=CENTRE):
  """One image file as uint8 `shape` (h, w, c), fitted to it through `window`."""
  from PIL import Image, UnidentifiedImageError  # pylint: disable=import-outside-toplevel
  try:
    with Image.open(file) as im:
      im = fit(im.convert('L' if shape[2] == 1 else 'RGB'), (shape[1], shape[0]), window)
      return np.asarray(im, np.uint8).reshape(shape)
  except (OSError, UnidentifiedImageError, ValueError) as e:
    raise ImageFolderError(f'{file} is not a readable image ({e})') from e


def _common_shape(pool, files, *, size=None, channels=None, resize=False):
  """The (h, w, c) every image is read at, from the files' headers (read in `pool`);
  refuses other sizes unless `resize`. Arguments as in `read_images`."""
  if not files:
    raise ImageFolderError('no image files to read')
  headers = list(pool.map(_header, files))
  sizes = collections.Counter((w, h) for w, h, _ in headers)
  target = (size[1], size[0]) if size else sizes.most_common(1)[0][0]  # PIL: (w, h).
  odd = next(((f, (w, h)) for f, (w, h, _) in zip(files, headers) if (w, h) != target), None)
  if odd and not resize:
    file, (w, h) = odd
    raise ImageFolderError(f'{file} is {w}x{h} pixels, not {target[0]}x{target[1]} like the '
                           'others: resize the images to one size, or set '
                           'config.data_resize=True to centre-crop and resize them')
  if channels is None:
    channels = 1 if all(gray for _, _, gray in headers) else 3
  return target[1], target[0], channels


def workers_for(workers):
  """Decoding threads for a setting of `workers` (0 or None: one per core, at most 8)."""
  # scripts/benchmark_data.py measured more threads than cores to be slower.
  return workers or min(8, os.cpu_count() or 1)


def read_images(files, *, size=None, channels=None, resize=False, workers=None):
  """Decodes image files into one uint8 (n, h, w, c) array.

  Args:
    files: image paths.
    size: (height, width) to produce; None: the most common size among the files.
    channels: 1 or 3; None: 1 if every file is grayscale, else 3.
    resize: fit other sizes to `size` (centre crop, Lanczos) instead of refusing them.
    workers: decoding threads (None: one per core, at most 8).
  Returns:
    uint8 (n, h, w, c).
  """
  with concurrent.futures.ThreadPoolExecutor(workers_for(workers)) as pool:
    shape = _common_shape(pool, files, size=size, channels=channels, resize=resize)
    return _decode_all(pool, files, shape)


def _decode_all(pool, files, shape):
  """Every file decoded at `shape` in the threads of `pool`, as one uint8 array."""
  return np.stack(list(pool.map(lambda f: decode(f, shape), files)))


class FolderSource:
  """Random access to a folder's images at one shape: what the streaming pipeline reads.

  Every header is read up front (in threads), so unreadable files and, without `resize`,
  images of another size are refused before training starts, not at step 100k.

  Args:
    path: the folder (see the module docstring for the layout).
    image_shape: the (h, w, c) the run's models expect, or () to take the images' own.
    resize: fit images of other sizes instead of refusing them.
  """

  def __init__(self, path, image_shape=(), resize=False, workers=None):
    self.files, self.labels, classes = list_files(path)
    self.num_classes = len(classes)
    shape = tuple(image_shape)
    self._workers = workers_for(workers)
    with concurrent.futures.ThreadPoolExecutor(self._workers) as pool:
      self.sample_shape = _common_shape(pool, self.files, size=shape[:2] or None,
                                        channels=shape[2] if shape else None, resize=resize)

  def __len__(self):
    return len(self.files)

  def read(self, index, window=CENTRE):
    """(uint8 image of `sample_shape`, its label or None) of example `index`."""
    label = None if self.labels is None else int(self.labels[index])
    return decode(self.files[index], self.sample_shape, window), label

  def read_all(self):
    """(every image, uint8 (n, h, w, c), decoded in threads; the labels or None)."""
    with concurrent.futures.ThreadPoolExecutor(self._workers) as pool:
      return _decode_all(pool, self.files, self.sample_shape), self.labels


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
  source = FolderSource(path, image_shape, resize)
  return (*source.read_all(), source.num_classes)
