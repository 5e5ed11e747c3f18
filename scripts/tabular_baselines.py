"""gan_jax's CTGAN against sdv-dev's CTGAN (PyTorch) on the same tables, splits, epochs and
batch, on this machine: ML efficacy, quality score, detection and wall time, side by side.

  python3 -m venv /tmp/ctgan_venv && /tmp/ctgan_venv/bin/pip install torch==2.13.0 ctgan
  python scripts/tabular_baselines.py --peer_python=/tmp/ctgan_venv/bin/python \\
    --tables=german,abalone,cps1988 --seeds=0,1,2,3,4 --out=runs/tabular_baselines

For each table: trains configs/ctgan.py:TABLE with gan_jax (python -m gan_jax.main), samples
as many rows as the training split (scripts/sample.py), samples the same run again with
ctgan's condition distribution (side gan_jax_log_frequency: ctgan's sample() draws each row's
condition by log-frequency, not by the data's frequency, which favours rare categories and
with them the F1 score of a rare target class), fits and samples the ctgan package on
the same training split with the same settings (scripts/ctgan_peer.py, in --peer_python's
environment), then scores every side's synthetic table with gan_jax.tabular.report against the
same real training and test rows, once per training seed. Writes
OUT/TABLE/seedK/SIDE/report.md, OUT/results.json (every seed's figures, and their
mean and standard deviation) and prints a markdown table of mean +- std over the seeds. Wall
time is each side's training: gan_jax's summary seconds (loading, the transformer's fit,
compilation, training, checkpoints) against ctgan's fit (its transformer's fit and
training).
"""
import json
import os
import subprocess
import sys
import time

from absl import app, flags
import numpy as np
import pandas as pd

from gan_jax.tabular import report, tables

_PEER = flags.DEFINE_string('peer_python', '', 'A Python with the ctgan package.')
_TABLES = flags.DEFINE_list('tables', ['german', 'abalone', 'cps1988'], 'Tables to run.')
_EPOCHS = flags.DEFINE_integer('epochs', 300, "Both sides' epochs (CTGAN's default 300).")
SIDES = ('gan_jax', 'gan_jax_log_frequency', 'ctgan')
_SIDES = flags.DEFINE_list(
    'sides', list(SIDES), 'Which to run: gan_jax; gan_jax_log_frequency, the same run '
    "sampled with ctgan's condition distribution (needs the gan_jax side); ctgan.")
_SEEDS = flags.DEFINE_list('seeds', ['0'], 'Training seeds of both sides, one run each '
                           '(the split is fixed).')
_OUT = flags.DEFINE_string('out', None, 'Output folder (must not hold results.json).')
flags.mark_flags_as_required(['out'])

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
SHOWN = ('efficacy_ratio', 'efficacy_real', 'efficacy_synthetic', 'quality_score',
         'column_shapes', 'column_pair_trends', 'detection_auc', 'dcr_synthetic_median',
         'dcr_test_median')


def _run(cmd, log_path):
  """Runs `cmd` from the repository root, its output in `log_path`; exits on failure."""
  with open(log_path, 'w', encoding='utf-8') as log:
    proc = subprocess.run(cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT, check=False)
  if proc.returncode:
    sys.exit(f'error: {" ".join(cmd[:3])} ... failed; see {log_path}')


def _gan_jax(table, out, seed):
  """Trains and samples gan_jax's CTGAN; returns (synthetic frame, training seconds)."""
  workdir = os.path.join(out, 'gan_jax', 'run')
  _run([sys.executable, '-m', 'gan_jax.main', f'--config=configs/ctgan.py:{table.name}',
        f'--workdir={workdir}', '--config.evals=()', f'--config.seed={seed}',
        f'--config.tabular.epochs={_EPOCHS.value}'], os.path.join(out, 'gan_jax_train.log'))
  return _sampled(table, out, seed, 'gan_jax', 'data')


def _gan_jax_log_frequency(table, out, seed):
  """The gan_jax side's run sampled as ctgan's sample() samples: conditions by
  log-frequency (scripts/sample.py --condition_frequency=log)."""
  return _sampled(table, out, seed, 'gan_jax_log_frequency', 'log')


def _sampled(table, out, seed, side, frequency):
  """The gan_jax run of `out` sampled with conditions by `frequency`, as many rows as the
  training split; returns (synthetic frame, its training seconds)."""
  workdir = os.path.join(out, 'gan_jax', 'run')
  summary = os.path.join(workdir, 'summary.json')
  if not os.path.isfile(summary):
    sys.exit(f'error: --sides={side} samples the gan_jax side\'s run, and {summary} does not '
             'exist; run the gan_jax side too')
  with open(summary, encoding='utf-8') as f:
    seconds = json.load(f)['seconds']
  rows = os.path.join(out, side, 'rows')
  _run([sys.executable, 'scripts/sample.py', f'--workdir={workdir}',
        f'--num={len(table.train)}', f'--out={rows}', f'--seed={seed}',
        f'--condition_frequency={frequency}'], os.path.join(out, f'{side}_sample.log'))
  return pd.read_csv(rows + '.csv'), seconds


def _ctgan(table, out, seed):
  """Fits and samples the ctgan package; returns (synthetic frame, fit seconds)."""
  os.makedirs(os.path.join(out, 'ctgan'), exist_ok=True)
  train_csv = os.path.join(out, 'train.csv')
  table.train.to_csv(train_csv, index=False)
  rows = os.path.join(out, 'ctgan', 'rows.csv')
  _run([_PEER.value, 'scripts/ctgan_peer.py', f'--train={train_csv}',
        f'--categorical={",".join(table.categorical)}', f'--epochs={_EPOCHS.value}',
        f'--rows={len(table.train)}', f'--seed={seed}', f'--out={rows}'],
       os.path.join(out, 'ctgan.log'))
  with open(rows + '.json', encoding='utf-8') as f:
    seconds = json.load(f)['fit_seconds']
  return pd.read_csv(rows), seconds  # Both sides' rows come back through a CSV.


def _score(table, synthetic, out, seed):
  """The report of one side's synthetic rows against the table's real splits."""
  real = table.train
  return report.write_report(out, real, synthetic[list(real.columns)], table.test,
                             table.categorical, table.target, table.task, seed=seed)


def _summarise(per_seed):
  """Each figure's mean and standard deviation (numpy's, ddof 0) over the seeds' runs."""
  keys = per_seed[next(iter(per_seed))].keys()
  values = {k: np.array([run[k] for run in per_seed.values()], np.float64) for k in keys}
  return ({k: float(v.mean()) for k, v in values.items()},
          {k: float(v.std()) for k, v in values.items()})


def _markdown(results):
  lines = ['| table | task | side | seeds | wall s | ' + ' | '.join(SHOWN) + ' |',
           '|---' * (5 + len(SHOWN)) + '|']
  for name, sides in results.items():
    for side, got in sides.items():
      mean, std = got['mean'], got['std']
      cells = ' | '.join(f'{mean[k]:.3f} +- {std[k]:.3f}' for k in SHOWN)
      lines.append(f'| {name} | {got["task"]} | {side} | {len(got["per_seed"])} | '
                   f'{mean["seconds"]:.0f} | {cells} |')
  return '\n'.join(lines)


def _seeds():
  """--seeds as distinct integers; exits with one line when they are not."""
  try:
    seeds = [int(s) for s in _SEEDS.value]
  except ValueError:
    sys.exit(f'error: --seeds={",".join(_SEEDS.value)}: seeds are integers, e.g. 0,1,2')
  if not seeds or len(set(seeds)) != len(seeds):
    sys.exit(f'error: --seeds={",".join(_SEEDS.value)}: give one or more distinct seeds')
  return seeds


def _run_side(side, make, table, out, seed):
  """One side's training and scoring on one seed; returns its figures."""
  start = time.time()
  synthetic, seconds = make(table, out, seed)
  numbers = _score(table, synthetic, os.path.join(out, side), seed)
  numbers = {k: v for k, v in numbers.items() if isinstance(v, float)}
  print(f'{table.name} seed {seed} {side}: {seconds:.0f} s training, '
        f'{time.time() - start:.0f} s in all; efficacy_ratio={numbers["efficacy_ratio"]:.3f} '
        f'quality_score={numbers["quality_score"]:.3f}', flush=True)
  return {'seconds': seconds, **numbers}


def main(argv):
  del argv
  results_path = os.path.join(_OUT.value, 'results.json')
  if os.path.exists(results_path):
    sys.exit(f'error: {results_path} exists; pass another --out (nothing was overwritten)')
  unknown = sorted(set(_SIDES.value) - set(SIDES))
  if unknown:
    sys.exit(f'error: --sides={",".join(_SIDES.value)}: {unknown[0]!r} is not one of '
             f'{", ".join(SIDES)}')
  if 'ctgan' in _SIDES.value and not os.access(_PEER.value, os.X_OK):
    sys.exit(f'error: --peer_python={_PEER.value} is not an executable')
  seeds = _seeds()
  results = {}
  for name in _TABLES.value:
    try:
      table = tables.load(name)
    except tables.TableError as e:
      sys.exit(f'error: --tables: {e}')
    results[name] = {}
    for side, make in (('gan_jax', _gan_jax),
                       ('gan_jax_log_frequency', _gan_jax_log_frequency), ('ctgan', _ctgan)):
      if side not in _SIDES.value:
        continue
      per_seed = {}
      for seed in seeds:
        out = os.path.join(_OUT.value, name, f'seed{seed}')
        os.makedirs(out, exist_ok=True)
        per_seed[str(seed)] = _run_side(side, make, table, out, seed)
      mean, std = _summarise(per_seed)
      results[name][side] = {'task': table.task, 'per_seed': per_seed, 'mean': mean,
                             'std': std}
  with open(results_path, 'w', encoding='utf-8') as f:
    json.dump(results, f, indent=2)
  print(_markdown(results))


if __name__ == '__main__':
  app.run(main)
