"""The on-device evaluation pipeline: images -> uint8 -> 299x299 -> Inception -> moments.

Two entry points share one per-device embedding function, run under `jax.shard_map` over the
mesh's 'data' axis:
- `FeaturePipeline.generator(...)`: one jitted loop that samples the generator, converts its
  output to uint8 like a saved image, embeds and accumulates; no image reaches the host;
- `FeaturePipeline.images(batches)`: the same for uint8 images read from files or datasets.
The moments stay replicated: each batch's sums are psum-ed over the devices as they are
added. Each returns a dict of device arrays: 'mu', 'sigma', 'count', and, when asked for,
'features' (n, 2048) for KID and precision/recall and 'logits' for the Inception Score.
"""
import math

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import models, parallel, progress
from gan_jax.metrics import fid, inception, inception_weights
from gan_jax.parallel import DATA_AXIS

PROGRESS_CHUNKS = 10  # Host round trips per generator evaluation, for its progress report.


class FeaturePipeline:
  """Inception features and their moments, computed on the devices of `mesh`.

  Args:
    mesh: the device mesh ('data' axis).
    batch_size: global images per step (rounded up to a multiple of the device count).
    weights: Inception weights path, None for the cached/fetched default, or the
      (variables, has_logits) pair `inception_weights.load` returns.
    keep_features: also return every feature vector (KID, precision/recall).
    logits_fn: None, 'inception' (needs the fc weights) or a function uint8 images ->
      logits (e.g. the bundled-digit classifier) whose outputs are returned as 'logits'.
    dtype: compute dtype of the network (float32; bfloat16 for speed, deviations measured
      by scripts/benchmark_fid.py).
  """

  def __init__(self, mesh, batch_size=100, weights=None, keep_features=False,
               logits_fn=None, dtype=jnp.float32):
    self.mesh = mesh
    n_dev = mesh.devices.size
    self.batch_size = -(-batch_size // n_dev) * n_dev
    variables, has_logits = (weights if isinstance(weights, tuple)
                             else inception_weights.load(weights))
    variables = {'params': dict(variables['params'])}  # Popping fc must not touch the caller's.
    if logits_fn == 'inception' and not has_logits:
      raise inception_weights.WeightsUnavailableError(
          'the Inception Score needs class logits, which only pytorch-fid\'s '
          'pt_inception-2015-12-05-6726825d.pth holds: pass it as the Inception weights')
    self.net = inception.InceptionV3(logits=logits_fn == 'inception')
    if not self.net.logits:
      variables['params'].pop('fc', None)
    cast = lambda a: jnp.asarray(a, dtype)  # noqa: E731
    self.variables = parallel.replicate(jax.tree.map(cast, variables), mesh)
    self.keep_features = keep_features
    self.logits_fn = logits_fn
    self._images_step = None

  def _embed(self, variables, images, moments, valid):
    """Per device: uint8 images -> (updated moments, features, logits or None)."""
    x = inception.preprocess(images).astype(jax.tree.leaves(variables)[0].dtype)
    out = self.net.apply(variables, x)
    features, logits = out if self.net.logits else (out, None)
    if callable(self.logits_fn):
      logits = self.logits_fn(images)
    features = features.astype(jnp.float32)
    moments = fid.update_moments(moments, features, DATA_AXIS, valid)
    return moments, features, logits

  def _outputs(self, moments, features, logits, count):
    mu, sigma = fid.mean_cov(moments)
    out = {'mu': mu, 'sigma': sigma, 'count': moments.count}
    if self.keep_features:
      out['features'] = features.reshape(-1, features.shape[-1])[:count]
    if logits is not None:
      out['logits'] = logits.reshape(-1, logits.shape[-1])[:count]
    return out

  def generator(self, g_model, num_samples, z_dim, num_classes):
    """A function (g_params, g_model_state, key) -> outputs for `num_samples` samples.

    Sample b of the run uses latent fold_in(key, batch index) and, for a conditional
    generator, label b mod num_classes, so the figure does not depend on the device count.
    The batches run in up to PROGRESS_CHUNKS compiled chunks, so the host can report
    progress between them; the last chunk's surplus batches are masked out.
    """
    b, n_dev = self.batch_size, self.mesh.devices.size
    steps = math.ceil(num_samples / b)
    chunk = math.ceil(steps / min(steps, PROGRESS_CHUNKS))
    num_chunks = math.ceil(steps / chunk)

    def per_device(variables, params, model_state, moments, first, key):
      local = b // n_dev
      start = jax.lax.axis_index(DATA_AXIS) * local

      def body(moments, i):
        z = jax.random.normal(jax.random.fold_in(key, i), (b, z_dim))
        position = i * b + jnp.arange(b)
        labels = (position % num_classes).astype(jnp.int32) if num_classes else None
        take = lambda a: jax.lax.dynamic_slice_in_dim(a, start, local)  # noqa: E731
        images, _ = models.apply(g_model, params, model_state, take(z),
                                 None if labels is None else take(labels), train=False)
        moments, features, logits = self._embed(
            variables, inception.to_uint8(images), moments, take(position) < num_samples)
        kept = (features if self.keep_features else None, logits)
        return moments, kept

      moments, (features, logits) = jax.lax.scan(body, moments, first + jnp.arange(chunk))
      return moments, features, logits

    run_chunk = jax.jit(jax.shard_map(
        per_device, mesh=self.mesh, in_specs=(P(), P(), P(), P(), P(), P()),
        out_specs=(P(), P(None, DATA_AXIS), P(None, DATA_AXIS)), check_vma=False))
    outputs = jax.jit(lambda moments, features, logits: self._outputs(
        moments, features, logits, num_samples))

    def evaluate(params, model_state, key):
      moments = parallel.replicate(fid.init_moments(inception.FEATURES), self.mesh)
      kept = []
      bar = progress.Progress(num_samples, f'embedding {num_samples} generated samples',
                              unit='img')
      for c in range(num_chunks):
        moments, features, logits = run_chunk(self.variables, params, model_state, moments,
                                              c * chunk, key)
        kept.append((features, logits))
        jax.block_until_ready(moments)
        bar.update(min(chunk * b, num_samples - c * chunk * b))
      bar.close()
      features, logits = (None if parts[0] is None else jnp.concatenate(parts)
                          for parts in zip(*kept))
      return outputs(moments, features, logits)

    return evaluate

  def images(self, batches, total=None):
    """Outputs for uint8 images given as a sequence of (n_i, h, w, c) host arrays.

    Batches are re-cut to the pipeline's batch size (the last one padded and masked), so the
    result does not depend on how the caller split the images.

    Args:
      batches: the host arrays; any iterable (a stream) when `total` is given.
      total: how many images they hold (None: counted from `batches`).
    """
    moments = parallel.replicate(fid.init_moments(inception.FEATURES), self.mesh)
    features, logits, count = [], [], 0
    if total is None:
      total = sum(np.shape(batch)[0] for batch in batches)
    bar = progress.Progress(total, f'embedding {total} images', unit='img')
    for chunk in _rebatch(batches, self.batch_size):
      valid = np.arange(self.batch_size) < chunk.shape[0]
      if chunk.shape[0] < self.batch_size:
        chunk = np.concatenate([chunk, np.zeros((self.batch_size - chunk.shape[0],)
                                                + chunk.shape[1:], chunk.dtype)])
      # Every process holds the same host batch; each puts only its devices' shards.
      sharded = NamedSharding(self.mesh, P(DATA_AXIS))
      moments, f, lg = self._images_fn(chunk.shape)(
          self.variables, moments, jax.device_put(chunk, sharded),
          jax.device_put(valid, sharded))
      count += int(valid.sum())
      bar.update(int(valid.sum()))
      features.append(f)
      logits.append(lg)
    bar.close()
    if not count:
      raise ValueError('no images to embed')
    stack = lambda xs: None if xs[0] is None else jnp.stack(xs)  # noqa: E731
    return self._outputs(moments, stack(features) if self.keep_features else None,
                         stack(logits), count)

  def _images_fn(self, shape):
    if self._images_step is None or self._images_step[0] != shape:
      def per_device(variables, moments, images, valid):
        return self._embed(variables, images, moments, valid)
      step = jax.jit(jax.shard_map(
          per_device, mesh=self.mesh,
          in_specs=(P(), P(), P(DATA_AXIS), P(DATA_AXIS)),
          out_specs=(P(), P(DATA_AXIS), P(DATA_AXIS)), check_vma=False))
      self._images_step = (shape, step)
    return self._images_step[1]


def _rebatch(batches, size):
  """Yields uint8 arrays of exactly `size` images (the last may be shorter)."""
  pending, have = [], 0
  for batch in batches:
    batch = np.asarray(batch)
    pending.append(batch)
    have += batch.shape[0]
    while have >= size:
      joined = np.concatenate(pending)
      yield joined[:size]
      pending, have = [joined[size:]], have - size
  if have:
    yield np.concatenate(pending)
