"""Many seeds per compile: wall time of one num_seeds=N run against N separate runs.

  python scripts/benchmark_seeds.py --seeds=1,4,10,32 --workdir=/tmp/seed_bench
  python scripts/benchmark_seeds.py --seeds=1,4 --config=configs/quickstart.py --steps=2000

Each N trains `--config` as one `python -m gan_jax.main` process with --config.num_seeds=N,
end to end (start-up, compiles, training, evaluations, checkpoints); N separate runs cost N
times the N=1 process. Prints one JSON line per N: wall seconds, runs per hour, and the
speed-up over separate processes.
"""
import json
import os
import shutil
import subprocess
import sys
import time

from absl import app, flags

_SEEDS = flags.DEFINE_list('seeds', ['1', '4', '10', '32'], 'Values of num_seeds to time.')
_CONFIG = flags.DEFINE_string('config', 'configs/quickstart.py', 'The experiment to train.')
_STEPS = flags.DEFINE_integer('steps', 0, 'num_steps instead of the config\'s (0 keeps it).')
_WORKDIR = flags.DEFINE_string('workdir', '/tmp/gan_jax_seed_bench', 'Scratch directory '
                               '(its runs are deleted and retrained).')
_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def _time_run(num_seeds):
  """Wall seconds of one training process of `num_seeds` seeds, in a fresh workdir."""
  workdir = os.path.join(_WORKDIR.value, f'seeds_{num_seeds}')
  shutil.rmtree(workdir, ignore_errors=True)
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--config={_CONFIG.value}',
         f'--workdir={workdir}', f'--config.num_seeds={num_seeds}']
  if _STEPS.value:
    cmd.append(f'--config.num_steps={_STEPS.value}')
  start = time.perf_counter()
  proc = subprocess.run(cmd, cwd=_ROOT, capture_output=True, text=True, check=False)
  seconds = time.perf_counter() - start
  if proc.returncode:
    sys.exit(f'error: num_seeds={num_seeds} failed: '
             f'{(proc.stderr.strip().splitlines() or ["?"])[-1]}')
  return seconds


def main(argv):
  del argv
  counts = [int(n) for n in _SEEDS.value]
  if any(n < 1 for n in counts):
    sys.exit(f'error: --seeds={",".join(_SEEDS.value)} must be positive integers')
  single = _time_run(1)
  for n in counts:
    seconds = single if n == 1 else _time_run(n)
    print(json.dumps({'config': _CONFIG.value, 'num_seeds': n, 'steps': _STEPS.value or None,
                      'wall_s': round(seconds, 1), 'runs_per_hour': round(3600 * n / seconds, 1),
                      'separate_runs_per_hour': round(3600 / single, 1),
                      'speedup': round(n * single / seconds, 2), 'cpus': os.cpu_count()}),
          flush=True)


if __name__ == '__main__':
  app.run(main)
