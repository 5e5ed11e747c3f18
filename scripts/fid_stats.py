"""Reference statistics of a dataset split for FID: an .npz with `mu` and `sigma`
(pytorch-fid's format) plus metadata (dataset, split, count, resize mode).

  python scripts/fid_stats.py --dataset=mnist5k --out=mnist5k_stats.npz
  python scripts/fid_stats.py --dataset=cifar10 --split=train --out=cifar10_train.npz \
      --features   # also keep the features, for KID and precision/recall
  python scripts/fid_stats.py --dataset=folder:/data/my_faces --data_resize --out=faces.npz

The images are streamed (read in threads, a batch at a time), so a folder or tfds dataset
larger than memory works.

Use the file with scripts/fid.py (--b=...) or in training with --config.fid.reference=FILE.
An existing --out is never overwritten.
"""
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
import ml_collections

from gan_jax import data, parallel, progress
from gan_jax.data import image_folder, stream
from gan_jax.data.tfds import DataUnavailableError
from gan_jax.metrics import inception_weights, pipeline, stats_files

_DATASET = flags.DEFINE_string('dataset', None, 'mnist5k, digits8x8, folder:PATH or a tfds '
                               'image dataset.')
_SPLIT = flags.DEFINE_string('split', 'train', 'tfds split.')
_DATA_DIR = flags.DEFINE_string('data_dir', '', 'tfds data directory.')
_NUM = flags.DEFINE_integer('num', 50_000, 'At most this many images (a fixed random subset '
                            'when the split is larger).')
_OUT = flags.DEFINE_string('out', None, 'Output .npz path.')
_FEATURES = flags.DEFINE_bool('features', False, 'Also store the feature vectors.')
_BATCH = flags.DEFINE_integer('batch_size', 100, 'Images per pipeline step (all devices).')
_RESIZE = flags.DEFINE_bool('data_resize', False, 'folder:PATH: centre-crop and resize '
                            'images of another size to the most common one (else an error).')
_WORKERS = flags.DEFINE_integer('workers', 0, 'Decoding threads (0: one per core, at most 8).')
_WEIGHTS = flags.DEFINE_string('inception_weights', None, 'Inception weights file.')
flags.mark_flags_as_required(['dataset', 'out'])


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)
  progress.log_to_console(sys.stderr)  # Progress lines; stdout keeps the result.
  if os.path.exists(_OUT.value):
    sys.exit(f'error: {_OUT.value} exists; choose another --out (nothing was overwritten)')
  if _NUM.value < 2:
    sys.exit(f'error: --num={_NUM.value} must be at least 2 (a covariance needs 2 images)')
  if _DATASET.value in data.mixtures.MIXTURES or not data.is_known(_DATASET.value):
    sys.exit(f'error: --dataset={_DATASET.value!r} is not an image dataset: choose '
             f'{", ".join(data.bundled.BUNDLED)} or a TensorFlow Datasets image dataset')
  config = ml_collections.ConfigDict({
      'dataset': _DATASET.value, 'data_split': _SPLIT.value, 'data_dir': _DATA_DIR.value,
      'data_download': True, 'image_shape': (), 'data_resize': _RESIZE.value})
  try:
    source = data.image_source(config)
    pipe = pipeline.FeaturePipeline(parallel.make_mesh(), _BATCH.value, _WEIGHTS.value,
                                    keep_features=_FEATURES.value)
    count = min(_NUM.value, len(source))
    batches = stream.reference_batches(source, count, image_folder.workers_for(_WORKERS.value))
    out = parallel.fetch(pipe.images(batches, total=count))
  except (DataUnavailableError, inception_weights.WeightsUnavailableError) as e:
    sys.exit(f'error: {e}')
  stats_files.save(_OUT.value, out, dataset=_DATASET.value, split=_SPLIT.value,
                   keep_features=_FEATURES.value)
  print(f'{_OUT.value}: {int(out["count"])} {_DATASET.value}/{_SPLIT.value} images')


if __name__ == '__main__':
  app.run(main)
