"""The device mesh, multi-process start-up, and copying replicated values to the devices and
back to the host."""
import jax
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

DATA_AXIS = 'data'


def make_mesh(devices=None):
  """A 1-D mesh with the single axis 'data'.

  Args:
    devices: the devices to use; every device of every process by default.
  Returns:
    A jax.sharding.Mesh.
  """
  devices = jax.devices() if devices is None else list(devices)
  return jax.make_mesh((len(devices),), (DATA_AXIS,), devices=devices,
                       axis_types=(jax.sharding.AxisType.Auto,))


def replicated(mesh):
  """The sharding that keeps a full copy on every device of `mesh`."""
  return NamedSharding(mesh, P())


def replicate(tree, mesh):
  """Copies a pytree of arrays, equal on every process, to every device of `mesh`.

  Args:
    tree: arrays on this process's devices (or the host), the same values in every process.
    mesh: the device mesh, possibly spanning several processes.
  Returns:
    The tree with every leaf replicated over `mesh`.
  """
  sharding = replicated(mesh)
  if sharding.is_fully_addressable:
    return jax.device_put(tree, sharding)
  # device_put cannot reach other processes' devices: each process fills in its own.
  return jax.tree.map(
      lambda x: jax.make_array_from_callback(x.shape, sharding, lambda _: x),
      jax.device_get(tree))


def fetch(tree):
  """Copies a pytree of replicated arrays to host numpy arrays.

  Reads each array's first local shard, so it also works in multi-process runs, where
  `jax.device_get` of an array spanning other processes' devices fails.
  """
  def one(x):
    if not x.is_fully_replicated:
      raise ValueError(f'fetch needs replicated arrays, got sharding {x.sharding}')
    return np.asarray(x.addressable_data(0))
  return jax.tree.map(one, tree)


class DistributedError(ValueError):
  """Inconsistent multi-process flags; the message is one line for the user."""


def initialize(coordinator_address, num_processes, process_id):
  """Starts a multi-process run with jax.distributed, or does nothing for a single process.

  Every process of a run calls this with the same coordinator address and process count and
  its own id; afterwards jax.devices() lists the devices of all processes.

  Args:
    coordinator_address: 'host:port' of process 0, or None.
    num_processes: total number of processes, or None.
    process_id: this process's index in [0, num_processes), or None.
  Raises:
    DistributedError: the flags are incomplete or inconsistent.
  """
  given = [v is not None for v in (coordinator_address, num_processes, process_id)]
  if not any(given):
    return
  if not all(given):
    raise DistributedError('--coordinator_address, --num_processes and --process_id go '
                           'together: give all three or none')
  if num_processes < 1 or not 0 <= process_id < num_processes:
    raise DistributedError(f'--process_id={process_id} must be in [0, --num_processes='
                           f'{num_processes})')
  jax.distributed.initialize(coordinator_address=coordinator_address,
                             num_processes=num_processes, process_id=process_id)
  if jax.process_count() != num_processes:
    raise DistributedError(f'--num_processes={num_processes} but {jax.process_count()} '
                           'processes joined the run')
