"""Benchmark of the train step: the DCGAN workloads of the speed issue, one JSON line per
(workload, dtype) with compile time, step-time median and spread, images/s, achieved TFLOP/s
and memory.

  python scripts/benchmark.py                                        # all, float32 + bfloat16
  python scripts/benchmark.py --workloads=dcgan64_ns_b256 --dtypes=bfloat16 --steps=100
  python scripts/benchmark.py --workloads=dcgan64_ns_b64 --dtypes=float32 --steps=3 --warmup=1

The step is the library's own (`steps.make_train_step`, the config of
`configs/image_common.dcgan`: the pytorch/examples DCGAN layer for layer, bias-free convs,
Adam), run on random images already on device over all devices, as the training loop runs
the steps between log steps (`measure=False`: on CPU without the diagnostics; see
`steps.skips_diagnostics`). `step_ms_*` time single
steps with a device sync after each (like the PyTorch peer's figures);
`images_per_s_pipelined` times `--steps` steps dispatched back to back with one sync at the
end, as the training loop runs them. `tflops_per_s` counts XLA's own FLOPs of the compiled
step. `peak_memory_bytes` is the device's peak (null where the backend does not report it,
e.g. CPU); `compiled_memory_bytes` is what XLA allots the program (arguments, outputs,
temporaries). `g_params`/`d_params` count the networks' parameters (DCGAN64: 3,576,704 and
2,765,568, as pytorch/examples' bias-free netG and netD).
"""
import json
import os
import statistics
import sys
import time

from absl import app, flags
from absl import logging as absl_logging
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import models, optim, parallel, steps
from gan_jax import state as state_lib

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from configs import image_common  # pylint: disable=wrong-import-position

# The speed issue's table: name -> (resolution, loss, global batch).
WORKLOADS = {
    'dcgan64_ns_b64': (64, 'ns', 64),
    'dcgan64_ns_b256': (64, 'ns', 256),
    'dcgan64_wgan_gp_b256': (64, 'wgan_gp', 256),
    'dcgan32_ns_b256': (32, 'ns', 256),
}
DTYPES = ('float32', 'bfloat16')

_WORKLOADS = flags.DEFINE_list('workloads', list(WORKLOADS), 'Workloads to run.')
_DTYPES = flags.DEFINE_list('dtypes', list(DTYPES), 'Compute dtypes to run.')
_STEPS = flags.DEFINE_integer('steps', 20, 'Timed steps per configuration.')
_WARMUP = flags.DEFINE_integer('warmup', 3, 'Untimed steps after compiling.')
_BATCH = flags.DEFINE_integer('batch_size', 0, "Global batch size instead of the "
                              "workload's (0 keeps it); for quick CPU runs.")


def workload_config(name, dtype, batch_size=0):
  """The experiment config of workload `name` computing in `dtype`.

  Args:
    name: a key of WORKLOADS.
    dtype: 'float32' or 'bfloat16'.
    batch_size: a global batch size to use instead of the workload's; 0 keeps it.
  Returns:
    The ConfigDict. WGAN-GP's critic uses layer norm (the WGAN-GP paper's choice: batch norm
    and a per-example gradient penalty do not mix).
  """
  resolution, loss, batch = WORKLOADS[name]
  config = image_common.dcgan('benchmark', (resolution, resolution, 3))
  config.loss, config.batch_size, config.compute_dtype = loss, batch_size or batch, dtype
  if loss == 'wgan_gp':
    config.d_norm = 'layer'
  return config


def build_step(config, mesh):
  """(train_step, state, batch): the jitted step, a fresh state and a random batch on device."""
  shape = tuple(config.image_shape)
  g_model, d_model = models.build(config, shape)
  g_tx, d_tx = optim.build(config)
  state = state_lib.create(config, g_model, d_model, g_tx, d_tx, shape, mesh)
  train_step = steps.make_train_step(config, g_model, d_model, g_tx, d_tx, mesh)
  x = np.random.default_rng(0).uniform(-1, 1, (config.n_critic, config.batch_size) + shape)
  batch = {'x': jax.device_put(x.astype(np.float32), NamedSharding(mesh, P(None, 'data')))}
  return train_step, state, batch


def _flops(compiled):
  analysis = compiled.cost_analysis()
  if isinstance(analysis, (list, tuple)):  # Older jax: one dict per device program.
    analysis = analysis[0] if analysis else {}
  return float((analysis or {}).get('flops', 0.0)) or None


def _memory(compiled):
  stats = compiled.memory_analysis()
  if stats is None:
    return None
  return int(stats.argument_size_in_bytes + stats.output_size_in_bytes +
             stats.temp_size_in_bytes - stats.alias_size_in_bytes)


def measure(config, mesh, num_steps, warmup):
  """Compiles and times one configuration.

  Args:
    config: a workload_config.
    mesh: the device mesh.
    num_steps: timed steps (each synced), then as many pipelined.
    warmup: untimed steps after compiling.
  Returns:
    A dict of figures (see the module docstring).
  """
  train_step, state, batch = build_step(config, mesh)
  sizes = {'g_params': models.count_params(state.g_params),
           'd_params': models.count_params(state.d_params)}
  start = time.perf_counter()
  # The loop's step between log steps (steps.make_train_step's measure flag).
  compiled = train_step.lower(state, batch, False).compile()
  compile_s = time.perf_counter() - start
  for _ in range(warmup):
    state, _ = compiled(state, batch, False)
  jax.block_until_ready(state)
  times = []
  for _ in range(num_steps):
    start = time.perf_counter()
    state, _ = compiled(state, batch, False)
    jax.block_until_ready(state)
    times.append(time.perf_counter() - start)
  start = time.perf_counter()
  for _ in range(num_steps):
    state, _ = compiled(state, batch, False)
  jax.block_until_ready(state)
  pipelined = (time.perf_counter() - start) / num_steps
  median = statistics.median(times)
  flops = _flops(compiled)
  device_stats = jax.local_devices()[0].memory_stats() or {}
  return {
      **sizes,
      'compile_s': round(compile_s, 2),
      'step_ms_median': round(1e3 * median, 3),
      'step_ms_min': round(1e3 * min(times), 3),
      'step_ms_max': round(1e3 * max(times), 3),
      'images_per_s': round(config.batch_size / median, 1),
      'images_per_s_pipelined': round(config.batch_size / pipelined, 1),
      'tflops_per_s': round(flops / median / 1e12, 3) if flops else None,
      'gflops_per_step': round(flops / 1e9, 2) if flops else None,
      'peak_memory_bytes': device_stats.get('peak_bytes_in_use'),
      'compiled_memory_bytes': _memory(compiled),
  }


def _check_flags():
  for flag, allowed in ((_WORKLOADS, WORKLOADS), (_DTYPES, DTYPES)):
    unknown = [v for v in flag.value if v not in allowed]
    if unknown or not flag.value:
      sys.exit(f'error: --{flag.name}={",".join(flag.value)}: unknown '
               f'{",".join(unknown) or "(empty)"}; allowed: {", ".join(allowed)}')
  for flag, low in ((_STEPS, 1), (_WARMUP, 0), (_BATCH, 0)):
    if flag.value < low:
      sys.exit(f'error: --{flag.name}={flag.value} must be at least {low}')


def main(argv):
  if len(argv) > 1:
    sys.exit(f'error: unexpected arguments: {" ".join(argv[1:])}')
  _check_flags()
  absl_logging.set_verbosity(absl_logging.WARNING)
  mesh = parallel.make_mesh()
  for name in _WORKLOADS.value:
    for dtype in _DTYPES.value:
      config = workload_config(name, dtype, _BATCH.value)
      if config.batch_size % mesh.size:
        sys.exit(f'error: batch size {config.batch_size} is not divisible by the '
                 f'{mesh.size} devices; pass --batch_size=N with N divisible')
      record = {'workload': name, 'dtype': dtype, 'batch_size': config.batch_size,
                'resolution': config.image_shape[0],
                'loss': config.loss, 'd_norm': config.d_norm,
                **measure(config, mesh, _STEPS.value, _WARMUP.value),
                'steps': _STEPS.value, 'device': jax.devices()[0].device_kind,
                'devices': jax.device_count(), 'jax': jax.__version__}
      print(json.dumps(record), flush=True)


if __name__ == '__main__':
  app.run(main)
