"""Statistics files: pytorch-fid compatible `.npz` with 'mu' and 'sigma', plus metadata.

Metadata keys (strings or ints): 'dataset', 'split', 'count', 'resize' (the resize mode),
'features_of' (the network). Optional 'features' (n, 2048) for KID and precision/recall.
"""
import os

import numpy as np

from gan_jax.metrics import inception, inception_weights, param_files

FEATURES_OF = 'inception-2015-12-05 pool3'


class StatsFileError(ValueError):
  """A statistics or image file cannot be used; the message is one line for the user."""


def save(path, outputs, *, dataset, split, keep_features=False):
  """Writes pipeline outputs (host or device arrays) as a statistics file.

  Args:
    path: destination .npz (written atomically).
    outputs: dict with 'mu', 'sigma', 'count' and, if keep_features, 'features'.
    dataset, split: what the statistics describe.
    keep_features: also store the feature vectors.
  """
  arrays = {'mu': np.asarray(outputs['mu'], np.float64),
            'sigma': np.asarray(outputs['sigma'], np.float64),
            'count': np.int64(outputs['count']), 'dataset': np.array(dataset),
            'split': np.array(split), 'resize': np.array(inception.RESIZE_MODE),
            'features_of': np.array(FEATURES_OF)}
  if keep_features:
    arrays['features'] = np.asarray(outputs['features'], np.float32)
  param_files.save_npz(path, arrays)


def read_npz(path):
  """Every array of an .npz file (no pickles), or a StatsFileError saying it is unreadable."""
  try:
    with np.load(path, allow_pickle=False) as f:
      return {k: f[k] for k in f.files}
  except (OSError, ValueError, EOFError) as e:
    raise StatsFileError(f'{path} is not a readable .npz file ({e})') from e


def load(path, need_features=False, stats=None):
  """Reads a statistics file, checking what it holds.

  Args:
    path: an .npz with 'mu' (2048,) and 'sigma' (2048, 2048) (pytorch-fid's format), with or
      without our metadata.
    need_features: also require 'features'.
    stats: its arrays when the caller has already read them (`read_npz`).
  Returns:
    dict with 'mu', 'sigma', optional 'features' and 'count', and the metadata strings.
  Raises:
    StatsFileError: unreadable, keys missing, wrong shapes, or another resize mode.
  """
  stats = read_npz(path) if stats is None else stats
  d = inception.FEATURES
  if 'mu' not in stats or 'sigma' not in stats:
    raise StatsFileError(f'{path} has keys {sorted(stats)}; a statistics file needs mu and '
                         'sigma (an image file needs images)')
  if stats['mu'].shape != (d,) or stats['sigma'].shape != (d, d):
    raise StatsFileError(f'{path}: mu {stats["mu"].shape} and sigma {stats["sigma"].shape} '
                         f'must be ({d},) and ({d}, {d}) Inception pool3 statistics')
  if 'resize' in stats and str(stats['resize']) != inception.RESIZE_MODE:
    raise StatsFileError(f'{path} was made with resize {stats["resize"]}, not '
                         f'{inception.RESIZE_MODE}: FIDs across resize modes differ')
  if need_features and 'features' not in stats:
    raise StatsFileError(f'{path} holds no features; KID and precision/recall need them '
                         '(make it with scripts/fid_stats.py --features)')
  return stats


def reference_indices(num_examples, count):
  """Which examples of a dataset are its reference images: a fixed random subset of `count`
  (seed 0, whatever the experiment's seed, so cached statistics are shared by every run)."""
  return np.random.default_rng(0).permutation(num_examples)[:count]


def reference_subset(images, count):
  """The reference images of a dataset held in memory (see `reference_indices`)."""
  return images[reference_indices(len(images), count)]


def dataset_cache_path(dataset, split, count, features):
  """Where the reference statistics of `count` images of a dataset split are cached."""
  name = f'{dataset}_{split}_{count}_{inception.RESIZE_MODE}{"_features" if features else ""}'
  return os.path.join(inception_weights.cache_dir(), 'fid_stats', name + '.npz')
