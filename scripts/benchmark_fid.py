"""Benchmark of the FID pipeline: Inception feature throughput, the Fréchet distance, and the
wall time of complete FIDs of a DCGAN generator. One JSON line per measurement.

  python scripts/benchmark_fid.py                                  # CPU-sized defaults
  python scripts/benchmark_fid.py --batch=500 --fid_samples=10000,50000 --dtype=bfloat16
  python scripts/benchmark_fid.py --write_half_weights=/tmp/inception_f16.npz

Inputs are random uint8 32x32x3 images already on device and a randomly initialised DCGAN32
generator, so nothing is downloaded but the Inception weights. --dtype=bfloat16 also runs
float32 on the same samples and prints the FID deviation. --weights may be the float16 copy
that --write_half_weights makes (44 MB, small enough to carry to a GPU machine); figures made
with it say so in their 'weights' field.
"""
import json
import os
import sys
import time

from absl import app, flags
from absl import logging as absl_logging
import jax
import jax.numpy as jnp
import numpy as np

from gan_jax import models, parallel
from gan_jax.metrics import fid, inception_weights, param_files, pipeline

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from configs import image_common  # pylint: disable=wrong-import-position

_BATCH = flags.DEFINE_integer('batch', 100, 'Global images per pipeline step.')
_REPEATS = flags.DEFINE_integer('repeats', 5, 'Timed feature-extraction steps.')
_FID_SAMPLES = flags.DEFINE_list('fid_samples', ['1000'], 'Complete-FID sample counts '
                                  '(empty: the feature throughput only).')
_DTYPE = flags.DEFINE_enum('dtype', 'float32', ['float32', 'bfloat16'], 'Network dtype.')
_WEIGHTS = flags.DEFINE_string('weights', None, 'Inception weights file.')
_HALF = flags.DEFINE_string('write_half_weights', None, 'Write a float16 copy of the '
                            'converted weights to this .npz and exit.')


def _emit(**record):
  record.update(device=jax.devices()[0].device_kind, devices=jax.device_count(),
                jax=jax.__version__, weights=_WEIGHTS.value or 'cache (float32)')
  print(json.dumps(record), flush=True)


def _timed(fn, *args):
  start = time.perf_counter()
  out = jax.block_until_ready(fn(*args))
  return out, time.perf_counter() - start


def bench_features(pipe):
  """Images/s of uint8 32x32 -> resize -> Inception -> moments, steady state."""
  images = np.random.default_rng(0).integers(0, 256, (pipe.batch_size, 32, 32, 3), np.uint8)
  step = pipe._images_fn(images.shape)  # pylint: disable=protected-access
  valid = np.ones(pipe.batch_size, bool)
  moments = parallel.replicate(fid.init_moments(2048), pipe.mesh)
  x = jax.device_put(images, jax.sharding.NamedSharding(
      pipe.mesh, jax.sharding.PartitionSpec(parallel.DATA_AXIS)))
  _, compile_s = _timed(step, pipe.variables, moments, x, valid)
  times = [_timed(step, pipe.variables, moments, x, valid)[1] for _ in range(_REPEATS.value)]
  median = float(np.median(times))
  _emit(workload='inception_features_32to299', batch=pipe.batch_size, dtype=_DTYPE.value,
        images_per_sec=round(pipe.batch_size / median, 1), step_s_median=round(median, 4),
        step_s_spread=[round(min(times), 4), round(max(times), 4)],
        first_call_s=round(compile_s, 2), tflops=round(11.4e-3 * pipe.batch_size / median, 2))


def bench_frechet(mu, sigma):
  fid.frechet_distance(mu, sigma, mu, sigma)  # compile
  times = []
  for _ in range(3):
    start = time.perf_counter()
    fid.frechet_distance(mu, sigma, mu * 1.01, sigma)
    times.append(time.perf_counter() - start)
  _emit(workload='frechet_distance_2048', seconds_median=round(float(np.median(times)), 4))


def bench_full_fid(pipe, num_samples):
  """Wall time of sampling + uint8 + resize + features + moments + distance, compiled."""
  c = image_common.dcgan('cifar10', (32, 32, 3))  # The DCGAN32 generator of the configs.
  g_model, _ = models.build(c, (32, 32, 3))
  params, state = models.init(g_model, jax.random.PRNGKey(0), jnp.zeros((1, 100)))
  run = pipe.generator(g_model, num_samples, 100, 0)
  key = jax.random.PRNGKey(1)
  out, first = _timed(run, params, state, key)
  start = time.perf_counter()
  out = jax.block_until_ready(run(params, state, key))
  fid.frechet_distance(out['mu'], out['sigma'], out['mu'], out['sigma'])
  wall = time.perf_counter() - start
  _emit(workload='fid_dcgan32', num_samples=num_samples, batch=pipe.batch_size,
        dtype=_DTYPE.value, wall_s=round(wall, 2), first_call_s=round(first, 2))
  return out


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)
  if _HALF.value:
    flat = inception_weights.read(_WEIGHTS.value) if _WEIGHTS.value else param_files.flatten(
        inception_weights.load()[0]['params'])
    param_files.save_npz(_HALF.value, {k: v.astype(np.float16) for k, v in flat.items()})
    print(f'{_HALF.value}: float16 Inception weights')
    return
  mesh = parallel.make_mesh()
  loaded = inception_weights.load(_WEIGHTS.value)
  dtype = jnp.bfloat16 if _DTYPE.value == 'bfloat16' else jnp.float32
  pipe = pipeline.FeaturePipeline(mesh, _BATCH.value, loaded, dtype=dtype)
  bench_features(pipe)
  out = None
  for n in map(int, _FID_SAMPLES.value):
    out = bench_full_fid(pipe, n)
    if dtype != jnp.float32:  # The same samples in float32: the deviation bf16 costs.
      ref32 = bench_full_fid(pipeline.FeaturePipeline(mesh, _BATCH.value, loaded), n)
      _emit(workload='bf16_fid_deviation', num_samples=n, fid_bf16_vs_f32=round(
          fid.frechet_distance(out['mu'], out['sigma'], ref32['mu'], ref32['sigma']), 5))
  if out is not None:
    bench_frechet(out['mu'], out['sigma'])


if __name__ == '__main__':
  app.run(main)
