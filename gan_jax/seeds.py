"""Many seeds in one program: the leading seed axis of a `config.num_seeds > 1` run.

A run with num_seeds = N trains the runs of seeds config.seed .. config.seed + N - 1 at once:
every leaf of the state, every real batch and every measurement carries a leading axis of
size N, and the per-seed functions are `jax.vmap`ped over it. Seed k draws all its
randomness from its own key, PRNGKey(config.seed + k), exactly as a single run with that
seed would, so its numbers are that run's. A run with num_seeds = 1 has no seed axis.
"""
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import parallel


def values(config):
  """The seeds a run trains: [config.seed, ..., config.seed + num_seeds - 1]."""
  return [config.seed + k for k in range(config.num_seeds)]


def stacked(config):
  """Whether the run's state and batches carry a seed axis (num_seeds > 1)."""
  return config.num_seeds > 1


def keys(config, salt=None):
  """Each seed's base key (folded with `salt` when given): shape (N, 2) when stacked, else
  the single run's key."""
  def one(seed):
    key = jax.random.PRNGKey(seed)
    return key if salt is None else jax.random.fold_in(key, salt)
  if not stacked(config):
    return one(config.seed)
  return jax.numpy.stack([one(s) for s in values(config)])


def vmap(config, fn, in_axes=0):
  """`fn` mapped over the seed axis when the run has one, else `fn` itself."""
  return jax.vmap(fn, in_axes=in_axes) if stacked(config) else fn


def batch_sharding(config, mesh):
  """The sharding of a batch (B, batch, ...): the batch axis over 'data', behind the seed
  axis when there is one."""
  spec = P(None, None, 'data') if stacked(config) else P(None, 'data')
  return NamedSharding(mesh, spec)


def take(config, tree, index):
  """Seed number `index` (0-based) of a stacked pytree; the tree itself for one seed."""
  if not stacked(config):
    return tree
  return jax.tree.map(lambda x: x[index], tree)


def current_step(state):
  """The number of completed steps of `state` (every seed is at the same step)."""
  return int(np.ravel(parallel.fetch(state.step))[0])


def mean_std(per_seed):
  """{'mean': {...}, 'std': {...}} over seeds of the numbers shared by every seed's dict.

  Args:
    per_seed: a list of flat dicts, one per seed.
  Returns:
    Means and population standard deviations (numpy's default, ddof=0), as the mode-coverage
    tables of Lin et al. (2018) report them.
  """
  shared = set.intersection(*(set(d) for d in per_seed)) if per_seed else set()
  names = sorted(n for n in shared if all(_is_number(d[n]) for d in per_seed))
  columns = {n: np.asarray([float(d[n]) for d in per_seed]) for n in names}
  return {'mean': {n: float(np.mean(v)) for n, v in columns.items()},
          'std': {n: float(np.std(v)) for n, v in columns.items()}}


def _is_number(value):
  return isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
