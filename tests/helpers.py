"""Tiny configs, compiled model calls, compile counting and checkpoint reading shared by the
tests."""
import contextlib

import jax

from configs import default
from gan_jax import checkpoint, models, parallel, train
from gan_jax.metrics import inception


def jit_model_fn(fn, static_argnames=()):
  """`fn(module, ...)` compiled as one program, the module and `static_argnames` static.

  Run op by op, every operation of a model's init or apply is compiled as its own XLA program
  (about 25 ms each on CPU, hundreds per model), which made such tests several times slower
  than the one compile of the whole call.
  """
  return jax.jit(fn, static_argnums=0, static_argnames=static_argnames)


init = jit_model_fn(models.init, ('num_classes', 'labels_per_example'))
apply = jit_model_fn(models.apply, ('train',))


@contextlib.contextmanager
def backend_compiles():
  """Yields a list that collects the name (`jit(f)`) of every program XLA compiles, on any
  thread, until the block ends."""
  names = []

  def listen(event, seconds, fun_name=None, **kwargs):
    del seconds, kwargs
    if event == '/jax/core/compile/backend_compile_duration':
      names.append(fun_name)

  jax.monitoring.register_event_duration_secs_listener(listen)
  try:
    yield names
  finally:
    jax.monitoring.unregister_event_duration_listener(listen)


def reference_inception():
  """The Inception network's apply, jitted for the tests' reference features with LLVM's
  optimisations, which the suite turns off for its in-process programs (conftest.py):
  without them the network runs 2x slower."""
  return jax.jit(inception.InceptionV3().apply,
                 compiler_options={'xla_backend_optimization_level': 2})


def tiny_config(**overrides):
  """A small ring8 MLP experiment that compiles and runs in seconds on one CPU core."""
  c = default.get_config()
  c.num_steps = 4
  c.batch_size = 16
  c.z_dim = 4
  c.mlp.width = 16
  c.mlp.depth = 2
  c.log_every = 2
  c.eval_every = 4
  c.checkpoint_every = 4
  c.num_eval_samples = 64
  for key, value in overrides.items():
    c[key] = value
  return c


def restored_state(config, workdir):
  """The latest checkpointed state of the run of `config` in `workdir`, on the host."""
  run = train.Run(config)
  with checkpoint.Checkpointer(workdir, config, read_only=True) as ckpt:
    run.restore(ckpt)
  return parallel.fetch(run.state)
