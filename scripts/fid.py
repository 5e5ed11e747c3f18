"""FID between two sets of images or statistics, computed with the on-device pipeline.

  python scripts/fid.py --a=runs/mnist/draw.npz --b=mnist5k_stats.npz
  python scripts/fid.py --a=folder_of_pngs --b=other.npz --json

Each of --a and --b is one of: an .npz of uint8 NHWC images under the key `images` (what
scripts/sample.py writes), a folder of PNG/JPEG images, or a statistics .npz with `mu` and
`sigma` (scripts/fid_stats.py, or pytorch-fid's). Prints the FID, or with --json one line
{"fid": ..., "a": ..., "b": ..., "count_a": ..., "count_b": ...}.
"""
import json
import os
import sys
import zipfile

from absl import app, flags
from absl import logging as absl_logging

from gan_jax import parallel, progress
from gan_jax.metrics import fid, image_files, inception_weights, pipeline, stats_files

_A = flags.DEFINE_string('a', None, 'First image set or statistics file.')
_B = flags.DEFINE_string('b', None, 'Second image set or statistics file.')
_JSON = flags.DEFINE_bool('json', False, 'Print one JSON line instead of the number.')
_BATCH = flags.DEFINE_integer('batch_size', 100, 'Images per pipeline step (all devices).')
_WEIGHTS = flags.DEFINE_string('inception_weights', None, 'Inception weights file (default: '
                               '$GAN_JAX_INCEPTION_WEIGHTS, the cache, or fetched once).')
flags.mark_flags_as_required(['a', 'b'])


def statistics(path, get_pipeline):
  """(mu, sigma, count) of a statistics file, an image .npz or an image folder."""
  if not os.path.exists(path):
    raise stats_files.StatsFileError(f'{path} does not exist')
  if os.path.isdir(path):
    images = image_files.read_folder(path)
  else:
    if not zipfile.is_zipfile(path):
      raise stats_files.StatsFileError(f'{path} is neither an .npz file nor a folder of '
                                       'images')
    arrays = stats_files.read_npz(path)
    if 'mu' in arrays:
      stats = stats_files.load(path, stats=arrays)
      return stats['mu'], stats['sigma'], int(stats.get('count', -1))
    images = image_files.read_npz_images(path, arrays)
  out = parallel.fetch(get_pipeline().images([images]))  # It re-cuts its own batches.
  return out['mu'], out['sigma'], int(out['count'])


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)
  progress.log_to_console(sys.stderr)  # Progress lines; stdout keeps the result.
  pipes = []

  def get_pipeline():  # Built on first need: statistics files need no Inception weights.
    if not pipes:
      pipes.append(pipeline.FeaturePipeline(parallel.make_mesh(), _BATCH.value,
                                            _WEIGHTS.value))
    return pipes[0]

  try:
    mu_a, sigma_a, n_a = statistics(_A.value, get_pipeline)
    mu_b, sigma_b, n_b = statistics(_B.value, get_pipeline)
  except (stats_files.StatsFileError, inception_weights.WeightsUnavailableError) as e:
    sys.exit(f'error: {e}')
  value = fid.frechet_distance(mu_a, sigma_a, mu_b, sigma_b)
  if _JSON.value:
    print(json.dumps({'fid': value, 'a': _A.value, 'b': _B.value, 'count_a': n_a,
                      'count_b': n_b}))
  else:
    print(f'{value:.4f}')


if __name__ == '__main__':
  app.run(main)
