"""The device mesh and the placement of state and batches on it."""
import jax
from jax.sharding import NamedSharding, PartitionSpec as P

DATA_AXIS = 'data'


def make_mesh():
  """A 1-D mesh over every device of every process, with the single axis 'data'."""
  return jax.make_mesh((jax.device_count(),), (DATA_AXIS,),
                       axis_types=(jax.sharding.AxisType.Auto,))


def replicate(tree, mesh):
  """Places a pytree on every device of `mesh` (parameters, optimizer state)."""
  return jax.device_put(tree, NamedSharding(mesh, P()))
