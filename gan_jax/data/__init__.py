"""Dataset registry: a name in `config.dataset` -> an object with `batch_at(step)`.

Names: the 2-D mixtures (ring8, grid25), the bundled real images (mnist5k, digits8x8),
stacked_mnist (three bundled digits as RGB, 1,000 modes: data/stacked_mnist.py),
`folder:PATH` (a folder of image files, class subfolders as labels: data/image_folder.py),
the tables (german, abalone, cps1988, ... and `csv:PATH`: data/table_data.py, whose
samples are encoded rows), and any other name is looked up in TensorFlow Datasets (mnist,
cifar10, celeb_a, ...).

Every dataset exposes `sample_shape` (one example, no batch axis), `num_classes` (0 when
unlabelled) and `batch_at(step)`, which returns the device-resident batch of training step
`step` as a dict with 'x' of shape (B, batch_size, *sample_shape) and, for labelled
data, 'y' of shape (B, batch_size), where B = n_critic + unrolled_steps; with
config.num_seeds > 1 every array has a leading seed axis, seed k's batch being the one a
single run with seed + k draws. Because a batch is a function of (seed, step) alone, a
resumed run needs no iterator state.
"""
from gan_jax.data import arrays, bundled, image_folder, mixtures, stacked_mnist

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


def load_images(config):
  """(uint8 images (N, H, W, C), labels or None, num_classes) of an image dataset."""
  if config.dataset in bundled.BUNDLED:
    return bundled.BUNDLED[config.dataset]()
  if config.dataset.startswith(image_folder.PREFIX):
    return image_folder.load(config.dataset[len(image_folder.PREFIX):], config.image_shape,
                             resize=config.data_resize)
  from gan_jax.data import tfds  # pylint: disable=import-outside-toplevel
  return tfds.load(config.dataset, config.data_split, config.data_dir or None,
                   download=config.data_download)


def build(config, mesh):
  """Builds the dataset named by `config.dataset`, sharded over `mesh`."""
  if config.dataset in mixtures.MIXTURES:
    return mixtures.MixtureData(config, mesh)
  if config.dataset == stacked_mnist.NAME:
    return stacked_mnist.StackedMNIST(config, mesh)
  if is_table(config.dataset):  # pandas and scikit-learn load only for tables.
    from gan_jax.data import table_data  # pylint: disable=import-outside-toplevel
    return table_data.TableData(config, mesh)
  images, labels, num_classes = load_images(config)
  name = config.dataset
  if name.startswith(image_folder.PREFIX):  # Caches are keyed by the folder's contents.
    name = image_folder.cache_name(name[len(image_folder.PREFIX):])
  return arrays.ArrayData(name, images, labels, num_classes, config, mesh)
