"""Counts over many generated samples, computed on the devices batch by batch."""
import math

import jax
import jax.numpy as jnp
from jax.sharding import PartitionSpec as P

from gan_jax import models
from gan_jax.parallel import DATA_AXIS


def make_counter(g_model, count, zeros, mesh, *, num_samples, batch_size, z_dim,
                 num_classes=0):
  """A compiled function (g_params, g_model_state, aux, key) -> the sum over
  `num_samples` generated samples of `count`.

  Batch i of `batch_size` samples uses latents fold_in(key, i); sample j of the run is
  generated for class j mod num_classes when the generator is conditional. Each device
  generates its slice of every batch and the sums are added over devices, so the result
  does not depend on the device count. The last batch's surplus samples are masked out.

  Args:
    g_model: the generator (eval mode: batch-norm running averages).
    count: (aux, images, labels or None, valid) -> a pytree of int32 counts over this
      device's slice, counting only samples where `valid` (bool, per sample).
    zeros: count's pytree of zeros, the sums' start.
    mesh: the device mesh; `batch_size` must divide by its size.
    num_samples: samples to count.
    batch_size: global samples per step.
    z_dim: latent dimension.
    num_classes: the generator's classes; 0 for an unconditional one.
  Returns:
    The function; its output, count's pytree summed, is replicated.
  """
  local = batch_size // mesh.devices.size
  steps = math.ceil(num_samples / batch_size)

  def per_device(g_params, g_model_state, aux, key):
    start = jax.lax.axis_index(DATA_AXIS) * local

    def body(total, i):
      z = jax.random.normal(jax.random.fold_in(key, i), (batch_size, z_dim))
      position = i * batch_size + start + jnp.arange(local)
      labels = position % num_classes if num_classes else None
      images, _ = models.apply(g_model, g_params, g_model_state,
                               jax.lax.dynamic_slice_in_dim(z, start, local), labels,
                               train=False)
      counts = count(aux, images, labels, position < num_samples)
      return jax.tree.map(jnp.add, total, counts), None

    total, _ = jax.lax.scan(body, zeros, jnp.arange(steps))
    return jax.lax.psum(total, DATA_AXIS)

  return jax.jit(jax.shard_map(per_device, mesh=mesh, in_specs=(P(), P(), P(), P()),
                               out_specs=P(), check_vma=False))
