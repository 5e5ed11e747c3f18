"""Images/s of the image-folder reader (`--config.dataset=folder:PATH`) on this machine.

  python scripts/benchmark_data.py --num=2000 --size=64 --workers=1,2,8

Writes a synthetic folder of random-content JPEGs (quality 90) into a temporary directory,
then times `gan_jax.data.image_folder.read_images` over it for each thread count, and prints
one JSON line each: workers, images, seconds, images_per_sec. The folder is removed after.
"""
import json
import os
import tempfile
import time

from absl import app, flags
import numpy as np
from PIL import Image

from gan_jax.data import image_folder

_NUM = flags.DEFINE_integer('num', 2000, 'Images in the synthetic folder.')
_SIZE = flags.DEFINE_integer('size', 64, 'Their height and width.')
_WORKERS = flags.DEFINE_list('workers', ['1', '2', '8'], 'Decoding thread counts to time.')
_REPEATS = flags.DEFINE_integer('repeats', 3, 'Timed passes per thread count (median).')


def _write_folder(path, num, size):
  rng = np.random.default_rng(0)
  # Smooth random images (upsampled noise): JPEG sizes like photos', not like white noise.
  for i in range(num):
    small = rng.integers(0, 256, (size // 8, size // 8, 3), dtype=np.uint8)
    Image.fromarray(small).resize((size, size), Image.Resampling.BILINEAR).save(
        os.path.join(path, f'{i:06d}.jpg'), quality=90)


def main(argv):
  del argv
  if _NUM.value <= 0 or _SIZE.value < 8:
    raise app.UsageError('--num must be positive and --size at least 8')
  with tempfile.TemporaryDirectory() as folder:
    _write_folder(folder, _NUM.value, _SIZE.value)
    files, _, _ = image_folder.list_files(folder)
    for workers in (int(w) for w in _WORKERS.value):
      times = []
      for _ in range(_REPEATS.value):
        start = time.perf_counter()
        images = image_folder.read_images(files, workers=workers)
        times.append(time.perf_counter() - start)
      seconds = float(np.median(times))
      print(json.dumps({'workers': workers, 'images': len(images), 'size': _SIZE.value,
                        'seconds': round(seconds, 3),
                        'images_per_sec': round(len(images) / seconds, 1)}), flush=True)


if __name__ == '__main__':
  app.run(main)
