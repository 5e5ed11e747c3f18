"""Dataset registry: a name in `config.dataset` -> an object with `batch_at(step)`.

Names: the 2-D mixtures (ring8, grid25), the bundled real images (mnist5k, mnist5k32, digits8x8),
stacked_mnist (three bundled digits as RGB, 1,000 modes: data/stacked_mnist.py),
`folder:PATH` (a folder of image files, class subfolders as labels: data/image_folder.py),
the tables (german, abalone, cps1988, ... and `csv:PATH`: data/table_data.py, whose
samples are encoded rows), and any other name is looked up in TensorFlow Datasets (mnist,
cifar10, celeb_a, ...).

Every dataset exposes `sample_shape` (one example, no batch axis), `num_classes` (0 when
unlabelled) and `batch_at(step)`, which returns the device-resident batch of training step
`step` as a dict with 'x' of shape (B, batch_size, *sample_shape) and, for labelled
data, 'y' of shape (B, batch_size), where B = n_critic (one batch per critic update); with
config.num_seeds > 1 every array has a leading seed axis, seed k's batch being the one a
single run with seed + k draws. Because a batch is a function of (seed, step) alone, a
resumed run needs no iterator state. Image datasets are held in device memory (ArrayData) or,
when large or augmented, streamed (data/stream.py), with the same batches.
"""
import numpy as np

from gan_jax.data import arrays, bundled, image_folder, mixtures, stacked_mnist, stream

BUILT_IN = tuple(mixtures.MIXTURES) + tuple(bundled.BUNDLED) + (stacked_mnist.NAME,)


def is_known(name):
  """Whether `name` is a built-in dataset or one TensorFlow Datasets provides."""
  if name in BUILT_IN or name.startswith(image_folder.PREFIX) or is_table(name):
    return True
  from gan_jax.data import tfds  # pylint: disable=import-outside-toplevel
  return tfds.exists(name)


def is_table(name):
  """Whether the dataset `name` is a table (a registered one or csv:PATH)."""
  from gan_jax.tabular import tables  # pylint: disable=import-outside-toplevel
  return tables.is_tabular(name)


def can_stream(name):
  """Whether the dataset `name` is one of images the stream can read."""
  return name in bundled.BUNDLED or name.startswith(image_folder.PREFIX) or (
      name not in BUILT_IN and not is_table(name))


def image_source(config):
  """A random-access source of the image dataset `config.dataset` (see data/stream.py)."""
  if config.dataset in bundled.BUNDLED:
    return arrays.ArraySource(*bundled.BUNDLED[config.dataset]())
  if config.dataset.startswith(image_folder.PREFIX):
    return image_folder.FolderSource(config.dataset[len(image_folder.PREFIX):],
                                     config.image_shape, resize=config.data_resize)
  from gan_jax.data import tfds  # pylint: disable=import-outside-toplevel
  return tfds.RecordSource(config.dataset, config.data_split, config.data_dir or None,
                           download=config.data_download)


def load_images(config):
  """(uint8 images (N, H, W, C), labels or None, num_classes) of an image dataset."""
  source = image_source(config)
  return (*source.read_all(), source.num_classes)


def build(config, mesh):
  """Builds the dataset named by `config.dataset`, sharded over `mesh`: image datasets are
  streamed or held in device memory as `stream.wanted` says."""
  if config.dataset in mixtures.MIXTURES:
    return mixtures.MixtureData(config, mesh)
  if config.dataset == stacked_mnist.NAME:
    return stacked_mnist.StackedMNIST(config, mesh)
  if is_table(config.dataset):  # pandas and scikit-learn load only for tables.
    from gan_jax.data import table_data  # pylint: disable=import-outside-toplevel
    return table_data.TableData(config, mesh)
  name = config.dataset
  if name.startswith(image_folder.PREFIX):  # Caches are keyed by the folder's contents.
    name = image_folder.cache_name(name[len(image_folder.PREFIX):])
  source = image_source(config)
  known = getattr(source, 'size_known', True)
  if stream.wanted(config, len(source) * int(np.prod(source.sample_shape)) if known else 0):
    return stream.StreamData(name, source, config, mesh)
  images, labels = source.read_all()
  return arrays.ArrayData(name, images, labels, source.num_classes, config, mesh)
