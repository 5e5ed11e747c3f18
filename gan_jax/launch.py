"""Training runs in subprocesses, for the scripts that train many (sweeps, the corpus)."""
import json
import os
import subprocess
import sys

from gan_jax import provenance


class LaunchError(RuntimeError):
  """A run that failed; the message is one line: its seed and its last error line."""


def train_once(config_file, workdir, seed, overrides, cwd=None):
  """Trains `python -m gan_jax.main` in `workdir` unless a finished run is already there.

  Args:
    config_file: the --config value (FILE[:ARG]), relative to `cwd`.
    workdir: the run's directory; the run there is reused if its summary.json says it
      finished (at least the steps a 'num_steps=N' override asks for, if one is given),
      resumed if it was stopped (by SIGTERM or SIGINT), killed, or asked for more steps.
    seed: its config.seed.
    overrides: 'FIELD=VALUE' strings, passed as --config.FIELD=VALUE.
    cwd: the directory to run in (a checkout other than this one), or None for this one.
  Returns:
    The run's summary dict.
  """
  workdir = os.path.abspath(workdir)
  summary = provenance.read_summary(workdir)
  if _finished(summary, overrides):
    return summary
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={config_file}',
         f'--workdir={workdir}', f'--config.seed={seed}',
         *[f'--config.{o}' for o in overrides]]
  proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
  if proc.returncode:
    raise LaunchError(f'seed {seed} failed: '
                      f'{(proc.stderr.strip().splitlines() or ["?"])[-1]}')
  with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
    return json.load(f)


def _finished(summary, overrides):
  """Whether `summary` is that of a finished run with the steps `overrides` ask for: not
  empty (a run never started, or killed before its first summary), naming no stop signal,
  and at least as many steps as a num_steps override asks (without one, the config's
  num_steps is taken to be the one the run finished; a value that is not a number is left
  for main to refuse)."""
  if not summary or 'stopped_by' in summary:
    return False
  asked = [o.split('=', 1)[1] for o in overrides if o.split('=', 1)[0] == 'num_steps']
  if not asked:
    return True
  try:
    return summary['steps'] >= int(asked[-1])
  except ValueError:
    return False
