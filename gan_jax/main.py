"""Launches one experiment.

  python -m gan_jax.main --config=configs/quickstart.py --workdir=runs/quickstart

`--config=FILE[:ARG]` names a config file whose `get_config(ARG)` returns the experiment;
any field can be overridden with `--config.FIELD=VALUE` (e.g. `--config.num_steps=500`).
The config fields are listed in configs/default.py. A run uses every local device; for
several hosts start one process per host with --coordinator_address, --num_processes and
--process_id.
"""
import difflib
import importlib.util
import math
import os
import sys

from absl import app, flags
import jax
from absl import logging as absl_logging
from ml_collections import config_flags

from gan_jax import checkpoint, parallel, progress, train
from gan_jax.data.errors import DataUnavailableError, TableError
from gan_jax.metrics import inception_weights, stats_files
from gan_jax.validation import ConfigError

_CONFIG = config_flags.DEFINE_config_file(
    'config', None, 'Experiment config file, optionally with an argument: FILE[:ARG].')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory for metrics, plots and checkpoints.')
_COORDINATOR = flags.DEFINE_string(
    'coordinator_address', None, 'Multi-process runs: host:port of process 0 (every process '
    'passes the same value).')
_NUM_PROCESSES = flags.DEFINE_integer('num_processes', None,
                                      'Multi-process runs: the number of processes.')
_PROCESS_ID = flags.DEFINE_integer('process_id', None,
                                   'Multi-process runs: this process, in [0, num_processes).')
flags.mark_flags_as_required(['config', 'workdir'])


def _load_config(argv):
  """Loads the config named by --config=FILE[:ARG] in argv, as config_flags would."""
  spec = next(a.split('=', 1)[1] for a in argv if a.startswith('--config='))
  path, _, arg = spec.partition(':')
  module_spec = importlib.util.spec_from_file_location('_config', path)
  module = importlib.util.module_from_spec(module_spec)
  module_spec.loader.exec_module(module)
  return module.get_config(arg) if arg else module.get_config()


def _unknown_field_message(argv):
  """Names the first --config.PATH=VALUE override whose PATH is not a field, and the fields."""
  config = _load_config(argv)
  for arg in argv:
    if not arg.startswith('--config.'):
      continue
    node, walked = config, 'config'
    for part in arg[len('--config.'):].split('=', 1)[0].split('.'):
      if not hasattr(node, 'keys') or part not in node.keys():
        if not hasattr(node, 'keys'):
          return f'{arg}: {walked} is a value, not a group of fields'
        close = difflib.get_close_matches(part, list(node.keys()), n=3)
        hint = f'did you mean {" or ".join(close)}? ' if close else ''
        fields = ', '.join(sorted(node.keys()))
        return f'{arg}: {walked} has no field {part!r}; {hint}its fields are: {fields}'
      node, walked = node[part], f'{walked}.{part}'
  return 'a --config.FIELD override names no field of the config'


def _make_config_imports_work(argv):
  """Config files import their siblings as `from configs import default`: put the folder
  that holds configs/ on the import path, so a run works from any working directory."""
  spec = next((a.split('=', 1)[1] for a in argv if a.startswith('--config=')), '')
  folder = os.path.dirname(os.path.abspath(spec.partition(':')[0]))
  if spec and os.path.basename(folder) == 'configs':
    root = os.path.dirname(folder)
    if root not in sys.path:
      sys.path.insert(0, root)


def _last_line(error):
  """The last non-empty line of an exception's message: its cause without the traceback."""
  lines = [line.strip() for line in str(error).splitlines() if line.strip()]
  return lines[-1] if lines else type(error).__name__


def parse_flags(argv):
  """Parses flags; a bad flag, config file or config field is a one-line error and exit 1.
  --help prints the usage and exits 0 (absl's help flag exits 1)."""
  if any(a in ('--help', '-h', '--helpshort', '-?') for a in argv[1:]):
    print(f'{__doc__}\n{flags.FLAGS.main_module_help()}')
    sys.exit(0)
  _make_config_imports_work(argv)
  try:
    remaining = flags.FLAGS(argv)
    _ = _CONFIG.value.keys()  # config_flags defers config-file errors to the first access.
    return remaining
  except flags.Error as e:
    sys.exit(f'error: {_last_line(e)}' if '--config=' in str(e) else f'error: {e}')
  except (AttributeError, KeyError):
    sys.exit(f'error: {_unknown_field_message(argv)}')
  except Exception as e:  # pylint: disable=broad-except
    sys.exit(f'error: cannot load --config: {_last_line(e)}')


def main(argv):
  if len(argv) > 1:
    raise app.UsageError(f'unexpected arguments: {" ".join(argv[1:])}')
  absl_logging.set_verbosity(absl_logging.WARNING)  # Keeps Orbax's per-save chatter quiet.
  progress.log_to_console(sys.stdout)
  try:
    parallel.initialize(_COORDINATOR.value, _NUM_PROCESSES.value, _PROCESS_ID.value)
    summary = train.train_and_evaluate(_CONFIG.value, _WORKDIR.value)
  except (ConfigError, checkpoint.CheckpointError, DataUnavailableError, TableError,
          parallel.DistributedError, train.NonFiniteError, train.WorkdirError,
          inception_weights.WeightsUnavailableError, stats_files.StatsFileError) as e:
    sys.exit(f'error: {e}')
  if jax.process_index() != 0:
    return
  mean, std = summary.get('mean'), summary.get('std')
  if mean is not None:  # Several seeds: the spread, not every seed's figures.
    shown = {k: v for k, v in summary.items() if k not in ('per_seed', 'mean', 'std')}
    shown.update({k: f'{_summary_value(v)}+-{_summary_value(std[k])}'
                  for k, v in mean.items()})
    summary = {'seeds': len(summary['per_seed']), **shown}
  print('summary: ' + '  '.join(f'{k}={_summary_value(v)}' for k, v in summary.items()),
        flush=True)


def _summary_value(value):
  """A summary value for the console: 4 significant digits; an undefined metric (NaN, e.g.
  mode_kl with no high-quality sample) as 'n/a'."""
  if isinstance(value, float):
    return 'n/a' if math.isnan(value) else f'{value:.4g}'
  return value


if __name__ == '__main__':
  app.run(main, flags_parser=parse_flags)
