"""Evaluates a synthetic table against real ones and writes a markdown report with pictures.

  python scripts/tabular_report.py --real=train.csv --synthetic=synth.csv --test=test.csv \
      --target=income --out=reports/adult
  python scripts/tabular_report.py --real=train.csv --synthetic=synth.csv --test=test.csv \
      --target=quality --categorical=colour,grade --task=multiclass --out=reports/wine
  python scripts/tabular_report.py --table=german --synthetic=runs/ctgan_german/rows.csv \
      --out=runs/ctgan_german/report

Writes OUT/report.md, OUT/columns.png and OUT/correlations.png (see gan_jax/tabular/report.py:
SDMetrics column and pair similarity, SDGym ML efficacy, detection, distance to closest
record) and prints the headline numbers. Without --categorical, a column is categorical if
it is non-numeric, boolean, or integer with at most 10 distinct real values; without --task,
a categorical target with two classes is binary, with more multiclass, a numeric one
regression. An existing report is never overwritten.
"""
import os
import sys

from absl import app, flags
import pandas as pd

from gan_jax.tabular import efficacy, report, tables

_TABLE = flags.DEFINE_string(
    'table', None, 'A table of gan_jax (german, abalone, csv:PATH, ...): its training and '
    'test splits are --real and --test, its target and categorical columns the defaults.')
_SPLIT_SEED = flags.DEFINE_integer('split_seed', 0, "With --table: the split's seed "
                                   '(config.tabular.split_seed of the run).')
_REAL = flags.DEFINE_string('real', None, 'CSV of the real training rows.')
_SYNTHETIC = flags.DEFINE_string('synthetic', None, 'CSV of the synthetic rows.')
_TEST = flags.DEFINE_string('test', None, 'CSV of held-out real rows.')
_TARGET = flags.DEFINE_string('target', None, 'The column the efficacy models predict.')
_CATEGORICAL = flags.DEFINE_list('categorical', None, 'Categorical columns (default: '
                                 'inferred from the real table, and printed).')
_TASK = flags.DEFINE_enum('task', '', ['', *efficacy.TASKS], 'The prediction task '
                          '(default: inferred from the target).')
_OUT = flags.DEFINE_string('out', None, 'The report folder.')
_SEED = flags.DEFINE_integer('seed', 0, 'Seeds the efficacy models and detection folds.')
flags.mark_flags_as_required(['synthetic', 'out'])

def _read(flag):
  path = flag.value
  if not os.path.isfile(path):
    sys.exit(f'error: --{flag.name}={path}: no such file')
  try:
    return pd.read_csv(path)
  except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as e:
    sys.exit(f'error: --{flag.name}={path}: not a readable CSV ({str(e).splitlines()[0]})')


def _real_and_test():
  """({'real': ..., 'test': ...}, target, categorical or None) from --table's split and
  columns, or from the --real and --test CSVs and the flags."""
  if _TABLE.value is None:
    if _REAL.value is None or _TEST.value is None:
      sys.exit('error: give --table=NAME, or both --real=CSV and --test=CSV')
    if _TARGET.value is None:
      sys.exit('error: --target is needed with --real/--test (--table knows its own)')
    return {'real': _read(_REAL), 'test': _read(_TEST)}, _TARGET.value, _CATEGORICAL.value
  if _REAL.value is not None or _TEST.value is not None:
    sys.exit('error: --table gives the real rows: leave out --real and --test')
  try:
    table = tables.load(_TABLE.value, target=_TARGET.value or '',
                        categorical=_CATEGORICAL.value, seed=_SPLIT_SEED.value)
  except (tables.TableError, OSError) as e:
    sys.exit(f'error: --table={_TABLE.value}: {e}')
  return {'real': table.train, 'test': table.test}, table.target, list(table.categorical)


def _check_columns(frames, target):
  columns = list(frames['real'].columns)
  for name in ('synthetic', 'test'):
    missing = [c for c in columns if c not in frames[name].columns]
    extra = [c for c in frames[name].columns if c not in columns]
    if missing or extra:
      sys.exit(f'error: --{name} columns differ from --real\'s: missing '
               f'{", ".join(missing) or "none"}; extra {", ".join(extra) or "none"}')
  if target not in columns:
    sys.exit(f'error: --target={target} is not a column; columns: {", ".join(columns)}')


def _check_categorical(real, categorical):
  unknown = [c for c in categorical if c not in real.columns]
  if unknown:
    sys.exit(f'error: --categorical: {", ".join(unknown)} not a column')
  text = [c for c in real.columns
          if c not in categorical and not pd.api.types.is_numeric_dtype(real[c])]
  if text:
    sys.exit(f'error: non-numeric columns missing from --categorical: {", ".join(text)}')


def _check_task(real, target, categorical, task):
  if task != 'regression' and target not in categorical:
    sys.exit(f'error: --task={task} needs a categorical target; add {target} to '
             '--categorical')
  if task == 'regression' and target in categorical:
    sys.exit(f'error: --task=regression but {target} is categorical')
  classes = real[target].nunique()
  if task == 'binary' and classes != 2:
    sys.exit(f'error: --task=binary but the real {target} has {classes} classes')


def main(argv):
  del argv
  path = os.path.join(_OUT.value, report.REPORT)
  if os.path.exists(path):
    sys.exit(f'error: {path} exists; pass another --out (nothing was overwritten)')
  frames, target, categorical = _real_and_test()
  frames['synthetic'] = _read(_SYNTHETIC)
  real = frames['real']
  _check_columns(frames, target)
  if categorical is None:
    categorical = tables.infer_categorical('--real', real)
    print(f'categorical columns (inferred): {", ".join(categorical) or "none"}')
  else:
    categorical = list(categorical)
    _check_categorical(real, categorical)
  try:
    task = _TASK.value or tables.infer_task('--real', real[target], target in categorical)
  except tables.TableError as e:
    sys.exit(f'error: {e}')
  if not _TASK.value:
    print(f'task (inferred from {target}): {task}')
  _check_task(real, target, categorical, task)
  try:
    numbers = report.write_report(_OUT.value, real, frames['synthetic'], frames['test'],
                                  categorical, target, task, seed=_SEED.value)
  except ValueError as e:
    sys.exit(f'error: {e}')
  rows = '\n'.join(f'| {k} | {v:.6g} |' for k, v in numbers.items() if isinstance(v, float))
  print(f'| metric | value |\n|---|---|\n{rows}\nwrote {path}, {numbers["columns_png"]}, '
        f'{numbers["correlations_png"]}')


if __name__ == '__main__':
  app.run(main)
