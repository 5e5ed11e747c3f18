"""Tiny configs and checkpoint reading shared by the tests."""
from configs import default
from gan_jax import checkpoint, parallel, train


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
  ckpt = checkpoint.Checkpointer(workdir, config)
  state = ckpt.restore(run.state)
  ckpt.close()
  return parallel.fetch(state)
