"""Orbax checkpoints of the whole GANState plus the resolved config, for exact resume."""
import copy
import functools
import json
import logging
import math
import os

import jax
import jax.numpy as jnp
import ml_collections
import orbax.checkpoint as ocp

from gan_jax import optim, parallel

log = logging.getLogger(__name__)

# Fields a resumed run may change: they steer the loop, not the state or the trajectory.
SAFE_OVERRIDES = frozenset({'num_steps', 'log_every', 'eval_every', 'checkpoint_every', 'evals',
                            'num_eval_samples', 'keep_checkpoints', 'keep_best', 'fid',
                            'ema_standing_batches', 'data_dir', 'data_download',
                            # Streamed or in memory, the batches are the same (data/stream.py).
                            'data_stream', 'data_memory_mb', 'data_workers'})
# Fields added after runs were checkpointed without them, with the value that behaves as
# those runs did (configs/default.py's default): an absent field equal to it is no change,
# and a run read by a script gets it.
ADDED_FIELDS = {'data_flip': False, 'data_crop_scale': 1.0, 'stylegan.w_dim': 512,
                'stylegan.mapping_layers': 8, 'stylegan.mapping_lr_mul': 0.01,
                'stylegan.mixing_prob': 0.9, 'stylegan.w_avg_beta': 0.995,
                'stylegan.truncation_psi': 1.0, 'stylegan.pl_weight': 0.0,
                'stylegan.pl_every': 4, 'stylegan.pl_decay': 0.01, 'g_ortho': 0.0,
                'biggan.shared_dim': 128, 'biggan.attention_g': 2, 'biggan.attention_d': 1,
                'd_drift': 0.0, 'progan.stable_steps': 2_000, 'progan.fade_steps': 2_000,
                'progan.reset_optimizer': True, 'tabular.critic_conditions': 'shared',
                'tabular.weight_init': 'lecun', 'data_stream': 'auto',
                'data_memory_mb': 4096.0, 'data_workers': 0, 'update_order': 'alternating'}


class CheckpointError(RuntimeError):
  """A checkpoint that cannot be resumed; the message is one line for the user."""


def _flatten(tree, prefix=''):
  if isinstance(tree, dict):
    return {k: v for key, sub in tree.items()
            for k, v in _flatten(sub, f'{prefix}{key}.').items()}
  return {prefix[:-1]: tree}


def _with_added_fields(saved_config):
  """A copy of a run's saved config (a JSON dict) with every field of ADDED_FIELDS it lacks
  set to the registered value: the config as the run behaves."""
  saved = copy.deepcopy(saved_config)
  for name, value in ADDED_FIELDS.items():
    *sections, field = name.split('.')
    parent = saved
    for section in sections:
      parent = parent.setdefault(section, {})
    parent.setdefault(field, value)
  return saved


def incompatible_fields(saved_config, config):
  """Config fields that differ between a checkpoint's config and `config`, beyond SAFE_OVERRIDES.

  Args:
    saved_config: the config stored with the checkpoint, as a JSON dict.
    config: the new ConfigDict.
  Returns:
    Sorted 'field: saved -> new' strings.
  """
  saved = _flatten(_with_added_fields(saved_config))
  new = _flatten(json.loads(config.to_json()))
  decays = optim.schedule_decays(saved_config)
  safe = SAFE_OVERRIDES - {'num_steps'} if decays else SAFE_OVERRIDES
  return sorted(f'{k}: {saved.get(k, "<absent>")!r} -> {new.get(k, "<absent>")!r}'
                for k in saved.keys() | new.keys()
                if k.split('.')[0] not in safe and saved.get(k) != new.get(k))


def read_run_config(workdir):
  """The resolved config a run wrote to WORKDIR/config.json, for the scripts that read runs;
  the fields of ADDED_FIELDS that a run older than them lacks get their old behaviour's value.

  Raises:
    CheckpointError: `workdir` is not a run directory.
  """
  path = os.path.join(workdir, 'config.json')
  if not os.path.isfile(path):
    raise CheckpointError(f'{path} does not exist: --workdir must be a run directory')
  with open(path, encoding='utf-8') as f:
    return ml_collections.ConfigDict(_with_added_fields(json.load(f)))


def missing_field_message(workdir, error):
  """The one-line explanation of the KeyError or AttributeError an older config raises."""
  field = str(error.args[0] if error.args else error).strip('\'"')
  return (f'{workdir}/config.json has no field {field!r}: the run was written by an older '
          'version of gan_jax; add the field with its default (configs/default.py) to '
          'config.json, or use the version that trained it')


@jax.jit
def _all_finite(tree):
  # x * 0 is 0 for a finite x and NaN otherwise, so the sum is finite exactly when every
  # value is. One reduction over all the values compiles in 0.04 s on CPU for a CTGAN's
  # state, where a reduction per leaf compiled a kernel per leaf shape (0.55 s there, more
  # for larger models); the price is a transient copy of the state's floating values.
  values = [x.ravel() for x in jax.tree.leaves(tree) if jnp.issubdtype(x.dtype, jnp.inexact)]
  return jnp.isfinite(jnp.sum(jnp.concatenate(values) * 0)) if values else jnp.bool_(True)


@functools.cache
def _save_replicated_arrays_whole():
  """On CPU, has Orbax's jax.Array handler write each replicated array from one device.

  Orbax's default replica-parallel saving splits a replicated array into one slice per
  device, each slice its own compiled program: an 8-device CPU run compiled 48 of them for
  four checkpoints of a tiny MLP state (1.2 s of a 4.9 s run). On CPU the devices share the
  host's memory, so the split saves no copying; on accelerators Orbax's default is left
  alone. The data files are laid out differently; a checkpoint of either layout restores
  the same state.
  """
  handler = ocp.type_handlers.get_type_handler(jax.Array)
  # Orbax offers no public switch but its registered handler's own option, and
  # re-registering a handler logs a warning on every run.
  if jax.default_backend() == 'cpu' and hasattr(handler, '_use_replica_parallel'):
    handler._use_replica_parallel = False  # pylint: disable=protected-access


def _barriers(name):
  # Both managers save the evaluated step; with the default keys their multi-process
  # barriers ('_async_write_complete.STEP') collide and the run hangs at the next save.
  return ocp.options.MultiprocessingOptions(barrier_sync_key_prefix=name)


class Checkpointer:
  """A run's checkpoints: the latest `config.keep_checkpoints` for resuming, saved
  asynchronously, and, when `config.best_metric` names an evaluation metric, the best
  `config.keep_best` evaluated states in a second directory. The two are kept apart because
  a best-N policy may delete the latest step, which resuming needs. A context manager:
  `with Checkpointer(...) as ckpt:` closes it however the block ends.

  Args:
    workdir: the run's directory; checkpoints go to workdir/checkpoints/STEP and
      workdir/checkpoints_best/STEP.
    config: the run's config (stored with each checkpoint).
    read_only: for scripts that only restore (evaluate, sample): creates no directory and
      leaves partial saves alone, since they may be a live run's save in progress.
  """

  def __init__(self, workdir, config, read_only=False):
    _save_replicated_arrays_whole()  # Here, not at import: it starts JAX's backend.
    self.directory = os.path.join(os.path.abspath(workdir), 'checkpoints')
    self._config = config
    self._read_only = read_only
    self._manager = self._open(self.directory, ocp.CheckpointManagerOptions(
        max_to_keep=config.keep_checkpoints, create=not read_only,
        cleanup_tmp_directories=not read_only, enable_async_checkpointing=True,
        multiprocessing_options=_barriers('latest')))
    self._best = None
    if config.best_metric:
      metric = config.best_metric
      self._best = self._open(
          os.path.join(os.path.abspath(workdir), 'checkpoints_best'),
          ocp.CheckpointManagerOptions(
              max_to_keep=config.keep_best, best_fn=lambda metrics: metrics[metric],
              best_mode=config.best_mode, keep_checkpoints_without_metrics=False,
              create=not read_only, cleanup_tmp_directories=not read_only,
              enable_async_checkpointing=True, multiprocessing_options=_barriers('best')))

  def _open(self, directory, options):
    if os.path.isdir(directory) and not self._read_only:
      for name in sorted(os.listdir(directory)):
        if 'tmp' in name:
          log.warning('ignoring and removing the partial checkpoint %s (a save was '
                      'interrupted)', os.path.join(directory, name))
    return ocp.CheckpointManager(directory, options=options, item_names=('state', 'config'))

  def latest_step(self):
    """The step of the newest complete checkpoint, or None."""
    return self._manager.latest_step()

  def saved_steps(self):
    """The steps of the complete checkpoints: latest-N and best-N together, sorted."""
    best = self._best.all_steps() if self._best else []
    return sorted(set(self._manager.all_steps()) | set(best))

  def restore(self, state, step=None):
    """Restores a checkpoint into the structure and placement of `state`.

    Args:
      state: a freshly initialised state, or its abstract form (state.create(...,
        abstract=True)); gives the tree structure, shapes and shardings.
      step: the step to restore, from the latest-N or the best-N checkpoints; None for the
        newest of the latest-N.
    Returns:
      The restored state, or `state` itself when there is no checkpoint (and no step asked).
    Raises:
      CheckpointError: no checkpoint of `step`, the checkpoint's config differs in fields
        that are not safe to change, or its files cannot be read.
    """
    manager, directory = self._manager, self.directory
    if step is None:
      step = self.latest_step()
      if step is None:
        return state
    elif step not in manager.all_steps():
      if not self._best or step not in self._best.all_steps():
        raise CheckpointError(f'no checkpoint of step {step} in {os.path.dirname(directory)}; '
                              f'saved steps: {self.saved_steps() or "none"}')
      manager, directory = self._best, self._best.directory
    where = os.path.join(directory, str(step))
    try:
      saved_config = manager.restore(
          step, args=ocp.args.Composite(config=ocp.args.JsonRestore())).config
    except Exception as e:  # pylint: disable=broad-except
      raise CheckpointError(f'cannot read the config of checkpoint {where}: '
                            f'{type(e).__name__}; move the directory away to resume from an '
                            'earlier checkpoint, or use a new --workdir') from e
    differing = incompatible_fields(saved_config, self._config)
    if (optim.schedule_decays(saved_config)
        and saved_config.get('num_steps') != self._config.num_steps):
      raise CheckpointError(f'cannot resume {where} with a new num_steps: its learning-rate '
                            f'schedules (g_schedule={saved_config.get("g_schedule")!r}, '
                            f'd_schedule={saved_config.get("d_schedule")!r}) decay over '
                            f'num_steps={saved_config.get("num_steps")}; only runs with '
                            'constant schedules can be extended')
    if differing:
      raise CheckpointError(f'cannot resume {where} with a different config: '
                            f'{"; ".join(differing)}; use a new --workdir, or change only '
                            f'{", ".join(sorted(SAFE_OVERRIDES))}')
    abstract = jax.tree.map(ocp.utils.to_shape_dtype_struct, state)
    try:
      restored = manager.restore(
          step, args=ocp.args.Composite(state=ocp.args.StandardRestore(abstract))).state
    except Exception as e:  # pylint: disable=broad-except
      raise CheckpointError(f'checkpoint {where} is unreadable ({type(e).__name__}); move '
                            'it away to resume from an earlier checkpoint, or use a new '
                            '--workdir') from e
    log.info('resumed from %s', where)
    return restored

  def _items(self, state):
    return ocp.args.Composite(state=ocp.args.StandardSave(state),
                              config=ocp.args.JsonSave(json.loads(self._config.to_json())))

  def save(self, step, state):
    """Starts an asynchronous save of `state` at `step`, unless the state is not finite.

    Returns:
      False, without writing anything, when `state` holds NaN or infinite values.
    """
    if not bool(parallel.fetch(_all_finite(state))):
      return False
    self._manager.save(step, args=self._items(state))
    return True

  def save_best(self, step, state, metrics):
    """Offers the state evaluated at `step` to the best-N directory.

    Args:
      step: the evaluation step.
      state: the state that was evaluated.
      metrics: the evaluation's metrics; `config.best_metric` ranks the states. A state
        whose metric is missing or not finite, or whose parameters are not finite, is skipped,
        as is a step already saved (a resumed run evaluates it again, identically).
    """
    value = metrics.get(self._config.best_metric) if self._best else None
    if (value is None or not math.isfinite(value) or step in self._best.all_steps()
        or not bool(parallel.fetch(_all_finite(state)))):
      return
    self._best.save(step, args=self._items(state),
                    metrics={self._config.best_metric: float(value)})

  def best_step(self):
    """The step of the best saved state by `config.best_metric`, or None."""
    return self._best.best_step() if self._best else None

  def __enter__(self):
    return self

  def __exit__(self, *exc_info):
    self.close()

  def close(self):
    """Waits for pending saves and the removal of interrupted ones to finish, then releases
    the managers."""
    for manager in (self._manager, self._best):
      if manager is not None:
        # Orbax removes interrupted saves' temporary folders in a thread it starts on
        # opening, and waits for it before a save but not in close(): a process that opened
        # a run and exits without saving (a refused resume, a script that only reads) could
        # end while the thread runs, which the interpreter's shutdown then fails with a
        # traceback after our one-line error. There is no public way to wait for it.
        getattr(manager, '_maybe_await_cleanup_tmp_directory', lambda: None)()
        manager.wait_until_finished()
        manager.close()
