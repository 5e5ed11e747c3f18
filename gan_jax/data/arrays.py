"""In-memory image datasets held on device, batched in a fixed order that depends only on
(seed, step): examples are visited epoch by epoch, each epoch in its own random permutation."""
import functools

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import parallel, seeds
from gan_jax.data import image_folder
from gan_jax.metrics import stats_files


def stream_position(step, *, num_examples, per_step):
  """(epoch, offset) where training step `step` starts in the example stream.

  Computed in Python integers: step x per_step passes 2^31 in long runs (8M steps of 256),
  where int32 arithmetic would wrap and break the one-permutation-per-epoch order.
  """
  return divmod(int(step) * per_step, num_examples)


def epoch_indices(key, epoch, offset, *, num_examples, per_step):
  """Dataset indices of the `per_step` examples that start at (epoch, offset).

  The stream of examples is epoch 0 in permutation fold_in(key, 0), then epoch 1 in
  permutation fold_in(key, 1), and so on; step t takes positions [t * per_step, (t + 1) *
  per_step) of that stream, which start at stream_position(t).

  Args:
    key: the data order's PRNG key.
    epoch, offset: the first example's epoch and position in it (traced or concrete).
    num_examples: dataset size.
    per_step: examples consumed per step.
  Returns:
    int32 indices of shape (per_step,).
  """
  position = offset + jnp.arange(per_step)  # < num_examples + per_step: no overflow.
  span = -(-per_step // num_examples) + 1  # Epochs one step can touch.
  perms = jnp.stack([jax.random.permutation(jax.random.fold_in(key, epoch + e),
                                            num_examples) for e in range(span)])
  return perms[position // num_examples, position % num_examples]


class ArraySource:
  """Images already in host memory (the bundled digits) as a source the stream can read."""

  def __init__(self, images, labels, num_classes):
    self._images, self.labels, self.num_classes = images, labels, num_classes
    self.sample_shape = images.shape[1:]

  def __len__(self):
    return len(self._images)

  def read(self, index, window=image_folder.CENTRE):
    """(uint8 image, label or None) of example `index`, cropped through `window`."""
    image = self._images[index]
    if window != image_folder.CENTRE:
      image = image_folder.fit_array(image, window)
    return image, (None if self.labels is None else int(self.labels[index]))

  def read_all(self):
    """(the images, the labels or None)."""
    return self._images, self.labels


class ArrayData:
  """uint8 images (N, H, W, C) and optional int labels, batched on device.

  `images` holds the dataset as uint8 on every device (replicated); the FID evaluators read
  their reference images from it. Each batch is {'x': float32 in [-1, 1] of shape
  (n_critic, batch_size, H, W, C)} plus {'y': int32 (n_critic, batch_size)} for labelled
  data; sharded over the 'data' axis.

  Args:
    name: the dataset's name.
    images: uint8 array (N, H, W, C).
    labels: int array (N,) or None.
    num_classes: number of label classes (0 if unlabelled).
    config: experiment config (seed, n_critic, batch_size).
    mesh: the device mesh.
  """

  def __init__(self, name, images, labels, num_classes, config, mesh):
    self.name = name
    self.sample_shape = tuple(images.shape[1:])
    self.num_classes = num_classes
    replicated = NamedSharding(mesh, P())
    self.images = jax.device_put(np.asarray(images, np.uint8), replicated)
    self.num_examples = images.shape[0]
    self._labels = None if labels is None else jax.device_put(np.asarray(labels, np.int32),
                                                             replicated)
    self._keys = seeds.keys(config, 0x0DA7A)
    shape = (config.n_critic, config.batch_size)
    self._per_step = shape[0] * shape[1]
    self._batch_at = jax.jit(
        seeds.vmap(config, functools.partial(self._gather, shape=shape),
                   in_axes=(None, None, None, None, 0)),
        out_shardings=seeds.batch_sharding(config, mesh))

  def _gather(self, images, labels, epoch, offset, key, *, shape):
    idx = epoch_indices(key, epoch, offset, num_examples=images.shape[0],
                        per_step=shape[0] * shape[1]).reshape(shape)
    batch = {'x': images[idx].astype(jnp.float32) / 127.5 - 1.0}
    if labels is not None:
      batch['y'] = labels[idx]
    return batch

  def reference_batches(self, count):
    """The FID reference images: stats_files' fixed subset of `count`, as one host array."""
    return [stats_files.reference_subset(parallel.fetch(self.images), count)]

  def batch_at(self, step):
    """Returns the batch for training step `step` (one per seed, stacked, for num_seeds > 1)."""
    epoch, offset = stream_position(step, num_examples=self.images.shape[0],
                                    per_step=self._per_step)
    return self._batch_at(self.images, self._labels, epoch, offset, self._keys)
