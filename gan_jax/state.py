"""The training state: one explicit pytree holding everything a resume needs."""
from typing import Any

import flax.struct
import jax
import jax.numpy as jnp

from gan_jax import models, parallel, seeds


@flax.struct.dataclass
class GANState:
  """Everything that changes during training.

  Attributes:
    step: number of completed training steps (int32 scalar).
    key: the run's base PRNG key; step t draws from fold_in(key, t).
    g_params, d_params: the networks' 'params' collections.
    g_model_state, d_model_state: their other collections (batch_stats, spectral-norm
      vectors); empty dicts for models without any.
    g_opt_state, d_opt_state: the two optimizers' states.
    ema_params: exponential moving average of g_params, or None when EMA is off.
  """
  step: jax.Array
  key: jax.Array
  g_params: Any
  d_params: Any
  g_model_state: Any
  d_model_state: Any
  g_opt_state: Any
  d_opt_state: Any
  ema_params: Any


def create(config, g_model, d_model, g_tx, d_tx, sample_shape, mesh, abstract=False):
  """Initialises the state of a run from `config.seed`, replicated over `mesh`; with
  `config.num_seeds > 1` every leaf has a leading seed axis, seed k initialised from
  PRNGKey(config.seed + k).

  Args:
    config: experiment config (seed, z_dim, ema_decay).
    g_model, d_model: the generator and critic modules.
    g_tx, d_tx: their optax optimizers.
    sample_shape: shape of one data sample.
    mesh: the device mesh; every device (of every process) gets a full copy.
    abstract: return only each leaf's shape, dtype and sharding (jax.ShapeDtypeStruct), the
      template a checkpoint restores into, without compiling or running the initialisation.
  Returns:
    A GANState at step 0 (of ShapeDtypeStructs when `abstract`).
  """
  def one_seed(key):
    k_g, k_d = jax.random.split(jax.random.fold_in(key, 0x1417))
    g_params, g_model_state = models.init(g_model, k_g, jnp.zeros((1, config.z_dim)),
                                         config.num_classes)
    packed = models.pack(jnp.zeros((config.pac,) + tuple(sample_shape)), config.pac)
    d_params, d_model_state = models.init(d_model, k_d, packed, config.num_classes,
                                          labels_per_example=config.pac)
    return GANState(
        step=jnp.zeros((), jnp.int32),
        key=key,
        g_params=g_params,
        d_params=d_params,
        g_model_state=g_model_state,
        d_model_state=d_model_state,
        g_opt_state=g_tx.init(g_params),
        d_opt_state=d_tx.init(d_params),
        # A copy, not an alias: the train step donates every leaf of the state.
        ema_params=jax.tree.map(jnp.copy, g_params) if config.ema_decay > 0 else None)

  # One compiled program: initialising op by op would dispatch (and compile) hundreds of
  # small operations. It runs once, so it is compiled without backend optimisation, which
  # cuts the compile of its threefry generators (one inlined copy per parameter) from ~15 s
  # to ~1 s on CPU. It runs on one device and is copied to the others: a compile without the
  # partitioning passes (a quarter of a BigGAN's), and the same program, hence state, for
  # every mesh.
  initial_state = jax.jit(seeds.vmap(config, one_seed),
                          compiler_options={'xla_backend_optimization_level': 0})
  if abstract:
    sharding = parallel.replicated(mesh)
    return jax.tree.map(lambda x: jax.ShapeDtypeStruct(x.shape, x.dtype, sharding=sharding),
                        jax.eval_shape(initial_state, seeds.keys(config)))
  return parallel.replicate(initial_state(seeds.keys(config)), mesh)


def sampling_params(state):
  """The generator weights used for evaluation and samples: the EMA ones when kept."""
  return state.g_params if state.ema_params is None else state.ema_params
