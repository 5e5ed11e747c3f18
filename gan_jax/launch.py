"""Training runs in subprocesses, for the scripts that train many (sweeps, the corpus)."""
import json
import os
import subprocess
import sys


class LaunchError(RuntimeError):
  """A run that failed; the message is one line: its seed and its last error line."""


def train_once(config_file, workdir, seed, overrides, cwd=None):
  """Trains `python -m gan_jax.main` in `workdir` unless a finished run is already there.

  Args:
    config_file: the --config value (FILE[:ARG]), relative to `cwd`.
    workdir: the run's directory; the run there is reused if its summary.json says it
      finished, resumed if it was stopped (by SIGTERM or SIGINT) or killed.
    seed: its config.seed.
    overrides: 'FIELD=VALUE' strings, passed as --config.FIELD=VALUE.
    cwd: the directory to run in (a checkout other than this one), or None for this one.
  Returns:
    The run's summary dict.
  """
  workdir = os.path.abspath(workdir)
  summary_path = os.path.join(workdir, 'summary.json')
  summary = _read_summary(summary_path)
  # None: never run, or killed before its first summary; a preempted run names its signal.
  if summary is None or 'stopped_by' in summary:
    cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={config_file}',
           f'--workdir={workdir}', f'--config.seed={seed}',
           *[f'--config.{o}' for o in overrides]]
    proc = subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, check=False)
    if proc.returncode:
      raise LaunchError(f'seed {seed} failed: '
                        f'{(proc.stderr.strip().splitlines() or ["?"])[-1]}')
    with open(summary_path, encoding='utf-8') as f:
      summary = json.load(f)
  return summary


def _read_summary(summary_path):
  """The summary.json at `summary_path`, or None where there is none."""
  try:
    with open(summary_path, encoding='utf-8') as f:
      return json.load(f)
  except FileNotFoundError:
    return None
