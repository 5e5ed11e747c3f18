"""The evaluations of synthetic tables (gan_jax/tabular/similarity.py, efficacy.py,
privacy.py, report.py and scripts/tabular_report.py) against independent references:
scipy's tests and correlations, closed forms on hand-made tables, brute-force distances."""
import os
import sys

import numpy as np
import pandas as pd
import pytest
from scipy import stats
import threadpoolctl
from scipy.spatial import distance
from scipy.stats import contingency

from gan_jax.tabular import efficacy, privacy, report, similarity
from tests import cli
from tests.conftest import ROOT


def _mixed_table(rows, seed, shift=0.0):
  """Two correlated numeric columns, a categorical one that depends on them, an integer
  column with ties, and a binary target."""
  rng = np.random.default_rng(seed)
  x = rng.normal(shift, 1.0, rows)
  y = 0.8 * x + 0.6 * rng.normal(0, 1, rows)
  colour = np.where(x + rng.normal(0, 0.5, rows) > 0, 'red', np.where(y > -1, 'green', 'blue'))
  count = rng.poisson(20, rows)  # Integers with ties, too many distinct to be categorical.
  label = np.where(x - y + 0.5 * (colour == 'red') + rng.normal(0, 0.3, rows) > 0, 'yes', 'no')
  return pd.DataFrame({'x': x, 'y': y, 'colour': colour, 'count': count, 'label': label})


CATEGORICAL = ('colour', 'label')


@pytest.fixture(autouse=True)
def _one_thread():
  # OpenMP's spinning threads in the boosted trees and BLAS run ~30x slower when two of
  # them share two busy cores; one thread is as fast on these small tables.
  with threadpoolctl.threadpool_limits(1):
    yield


def test_ks_complement_is_one_minus_scipys_two_sample_ks_statistic():
  rng = np.random.default_rng(0)
  for real, synthetic in ((rng.normal(0, 1, 300), rng.normal(0.3, 1.2, 170)),
                          (rng.integers(0, 5, 200), rng.integers(1, 7, 90))):  # Ties.
    expected = 1 - stats.ks_2samp(real, synthetic).statistic
    assert similarity.ks_complement(real, synthetic) == pytest.approx(expected, abs=1e-12)
  assert similarity.ks_complement([1.0, 2.0], [3.0, 4.0]) == 0.0


def test_tv_complement_is_one_minus_half_the_l1_distance_of_the_frequencies():
  # Real frequencies (1/2, 1/4, 1/4), synthetic (1/4, 3/4, 0): TV = (1/4 + 1/2 + 1/4) / 2.
  assert similarity.tv_complement(list('aabc'), list('abbb')) == pytest.approx(0.5, abs=1e-12)
  # A category only the synthetic rows have gets a real count of 1e-6, as in SDMetrics.
  eps = 1e-6
  p_real = np.array([1, 1, eps]) / (2 + eps)
  expected = 1 - 0.5 * np.abs(p_real - [0.5, 0.0, 0.5]).sum()
  assert similarity.tv_complement(['a', 'b'], ['a', 'z']) == pytest.approx(expected, abs=1e-15)


def test_contingency_similarity_is_one_minus_the_total_variation_of_the_joint_table():
  real = pd.DataFrame({'a': list('ppqq'), 'b': list('uvuv')})
  synthetic = pd.DataFrame({'a': list('pppq'), 'b': list('uuvv')})
  # Real cells each 1/4; synthetic (p,u) 1/2, (p,v) 1/4, (q,v) 1/4: TV = (1/4 + 1/4) / 2.
  assert similarity.contingency_similarity(real, synthetic) == pytest.approx(0.75, abs=1e-12)
  # A numeric column is binned on the real column's edges, the outer bins open: with 2
  # bins, x < 4.5 and x >= 4.5; the synthetic 8 and 9 fall in the upper bin.
  real = pd.DataFrame({'x': np.arange(10.0), 'c': list('aaaaabbbbb')})
  synthetic = pd.DataFrame({'x': [1.0, 2.0, 8.0, 9.0], 'c': list('abab')})
  # Real: (low, a) 1/2, (high, b) 1/2; synthetic each of the four cells 1/4.
  assert similarity.contingency_similarity(real, synthetic, continuous=['x'],
                                           bins=2) == pytest.approx(0.5, abs=1e-12)


def test_cramers_v_matches_scipys_association():
  table = _mixed_table(400, 1)
  pair = table[['colour', 'label']]
  counts = pd.crosstab(pair['colour'], pair['label']).to_numpy()
  assert similarity.cramers_v(pair) == pytest.approx(
      contingency.association(counts, method='cramer'), abs=1e-12)


def test_correlation_similarity_matches_numpys_pearson_and_scipys_spearman():
  real, synthetic = _mixed_table(300, 0), _mixed_table(200, 1)
  synthetic['y'] = -0.2 * synthetic['x'] + synthetic['y']
  for columns in (['x', 'y'], ['x', 'count']):  # 'count' has ties, so mid-ranks matter.
    r_real = np.corrcoef(real[columns[0]], real[columns[1]])[0, 1]
    r_synthetic = np.corrcoef(synthetic[columns[0]], synthetic[columns[1]])[0, 1]
    assert similarity.correlation_similarity(real[columns], synthetic[columns]) == (
        pytest.approx(1 - abs(r_real - r_synthetic) / 2, abs=1e-12))
    rho_real = stats.spearmanr(real[columns[0]], real[columns[1]]).statistic
    rho_synthetic = stats.spearmanr(synthetic[columns[0]], synthetic[columns[1]]).statistic
    assert similarity.correlation_similarity(real[columns], synthetic[columns], 'spearman') == (
        pytest.approx(1 - abs(rho_real - rho_synthetic) / 2, abs=1e-12))


def test_statistic_similarity_is_one_minus_the_difference_over_the_real_range_floored_at_0():
  real, synthetic = [0.0, 1.0, 2.0, 3.0, 4.0], [1.0, 2.0, 3.0, 4.0, 5.0]
  assert similarity.statistic_similarity(real, synthetic, 'mean') == pytest.approx(0.75)
  assert similarity.statistic_similarity(real, synthetic, 'median') == pytest.approx(0.75)
  assert similarity.statistic_similarity(real, synthetic, 'std') == pytest.approx(1.0)
  # The std is pandas' (ddof=1): sqrt(2.5) against 0 for a constant synthetic column.
  assert similarity.statistic_similarity(real, [7.0] * 5, 'std') == pytest.approx(
      1 - np.sqrt(2.5) / 4)
  assert similarity.statistic_similarity(real, [100.0], 'mean') == 0.0
  assert np.isnan(similarity.statistic_similarity([3.0, 3.0], [1.0, 2.0]))


def test_quality_score_is_the_mean_of_column_shapes_and_the_counted_pair_trends():
  real = pd.DataFrame({'a': list('ppqq'), 'b': list('uvuv')})
  synthetic = pd.DataFrame({'a': list('pppq'), 'b': list('uuvv')})
  # Column shapes: TV complements 3/4 (a) and 1 (b); the pair's contingency score is 3/4.
  every_pair = similarity.quality_report(real, synthetic, ('a', 'b'), 0, 0)
  assert every_pair.column_shapes == pytest.approx(0.875)
  assert every_pair.column_pair_trends == pytest.approx(0.75)
  assert every_pair.quality_score == pytest.approx((0.875 + 0.75) / 2)
  # The real a and b are independent (Cramer's V 0), so by SDMetrics' default threshold
  # the pair does not count and the score is the column shapes alone.
  default = similarity.quality_report(real, synthetic, ('a', 'b'))
  assert not default.pairs['contributes'].any() and np.isnan(default.column_pair_trends)
  assert default.quality_score == pytest.approx(0.875)


def test_identical_tables_score_one_everywhere():
  table = _mixed_table(300, 0)
  quality = similarity.quality_report(table, table.copy(), CATEGORICAL)
  np.testing.assert_allclose(quality.columns[['score']].to_numpy(), 1.0)
  numeric = quality.columns['kind'] == 'numeric'
  np.testing.assert_allclose(quality.columns.loc[numeric, list(similarity.STATISTICS)], 1.0)
  np.testing.assert_allclose(quality.pairs['score'], 1.0)
  np.testing.assert_allclose(quality.pairs['spearman'].dropna(), 1.0)
  assert quality.column_shapes == quality.column_pair_trends == quality.quality_score == 1.0


@pytest.mark.parametrize('task,target', [('binary', 'label'), ('multiclass', 'colour'),
                                         ('regression', 'y')])
def test_efficacy_of_a_copy_of_the_real_rows_is_ratio_one(task, target):
  real, test = _mixed_table(400, 0), _mixed_table(200, 1)
  result = efficacy.evaluate(real, real.copy(), test, target, task, CATEGORICAL, seed=3)
  assert list(result.table['model']) == [name for name, _ in efficacy.models(task, 0)]
  assert result.metric == efficacy.METRICS[task]
  np.testing.assert_array_equal(result.table['real'], result.table['synthetic'])
  assert result.mean_ratio == 1.0 and not result.notes
  assert (result.table['real'] > 0.5).all()  # The target is learnable from the features.


def test_efficacy_falls_when_the_synthetic_target_is_shuffled():
  real, test = _mixed_table(400, 0), _mixed_table(200, 1)
  shuffled = real.copy()
  shuffled['label'] = np.random.default_rng(0).permutation(shuffled['label'].to_numpy())
  result = efficacy.evaluate(real, shuffled, test, 'label', 'binary', CATEGORICAL)
  assert result.mean_ratio < 0.8
  assert set(result.table.columns) >= {'accuracy_real', 'accuracy_synthetic', 'roc_auc_real',
                                       'roc_auc_synthetic', 'ratio'}
  again = efficacy.evaluate(real, shuffled, test, 'label', 'binary', CATEGORICAL)
  pd.testing.assert_frame_equal(result.table, again.table)  # Deterministic given the seed.


def test_a_one_class_synthetic_target_gets_the_constant_prediction_and_a_note():
  real, test = _mixed_table(300, 0), _mixed_table(150, 1)
  synthetic = real.copy()
  negative = real['label'].value_counts().idxmax()  # F1 is of the rarer class.
  synthetic['label'] = negative
  result = efficacy.evaluate(real, synthetic, test, 'label', 'binary', CATEGORICAL)
  assert any('one class' in note for note in result.notes)
  np.testing.assert_array_equal(result.table['synthetic'], 0.0)  # No positive predicted.
  np.testing.assert_array_equal(result.table['roc_auc_synthetic'], 0.5)
  np.testing.assert_allclose(result.table['accuracy_synthetic'],
                             np.mean(test['label'] == negative))


def test_categories_missing_from_the_synthetic_rows_keep_the_real_one_hot_columns():
  real = _mixed_table(300, 0)
  features = efficacy.Features(real, CATEGORICAL, exclude=('label',))
  synthetic = real[real['colour'] != 'blue'].copy()
  synthetic.loc[synthetic.index[:3], 'colour'] = 'purple'  # Not a real category: all zeros.
  encoded = features.transform(synthetic)
  assert encoded.shape == (len(synthetic), features.transform(real).shape[1])
  one_hot = encoded[:, 2:5]  # After x and y, in the table's column order.
  np.testing.assert_array_equal(one_hot[:3], 0.0)
  np.testing.assert_array_equal(one_hot[3:].sum(axis=1), 1.0)
  result = efficacy.evaluate(real, synthetic, _mixed_table(150, 1), 'label', 'binary',
                             CATEGORICAL)
  assert np.isfinite(result.mean_ratio)


def test_detection_auc_is_near_half_for_two_halves_of_one_table_and_near_one_apart():
  table = _mixed_table(1200, 0)
  same = privacy.detection(table[:600], table[600:], CATEGORICAL)
  assert abs(same.auc - 0.5) < 0.08 and abs(same.boosted_auc - 0.5) < 0.08
  assert same.score > 0.85
  apart = privacy.detection(table[:600], _mixed_table(600, 1, shift=3.0), CATEGORICAL)
  assert apart.auc > 0.97 and apart.boosted_auc > 0.97 and apart.score < 0.06
  # SDMetrics' score is 1 - mean over folds of (2 max(AUC, 1/2) - 1).
  assert apart.score == pytest.approx(1 - np.mean([2 * max(a, 0.5) - 1
                                                   for a in apart.fold_aucs]))


def test_distance_to_closest_record_is_zero_for_copied_rows_and_brute_force_elsewhere():
  real, test = _mixed_table(300, 0), _mixed_table(100, 1)
  synthetic = pd.concat([real.iloc[:40], _mixed_table(160, 2)], ignore_index=True)
  result = privacy.distance_to_closest_record(real, synthetic, test, CATEGORICAL)
  np.testing.assert_array_equal(result.synthetic[:40], 0.0)
  features = efficacy.Features(real, CATEGORICAL, scaling='standard')
  brute = distance.cdist(features.transform(synthetic), features.transform(real)).min(axis=1)
  np.testing.assert_allclose(result.synthetic, brute, atol=1e-9)
  assert result.summary['exact_copies'] == pytest.approx(40 / 200)
  p5 = np.percentile(result.test, 5)
  assert result.summary['test_p5'] == pytest.approx(p5)
  assert result.summary['closer_than_test_p5'] == pytest.approx(np.mean(result.synthetic < p5))
  assert result.summary['closer_than_test_p5'] >= 40 / 200


def _cli(*args):
  return cli.run([sys.executable, 'scripts/tabular_report.py', *args], cwd=ROOT,
                 timeout=120, env=dict(os.environ, OMP_NUM_THREADS='1'))


@pytest.fixture(name='csvs', scope='module')
def _csvs(tmp_path_factory):
  folder = tmp_path_factory.mktemp('tables')
  paths = {}
  for name, seed in (('real', 0), ('synthetic', 2), ('test', 1)):
    paths[name] = str(folder / f'{name}.csv')
    _mixed_table(300, seed).to_csv(paths[name], index=False)
  paths['fewer'] = str(folder / 'fewer.csv')
  _mixed_table(300, 2).drop(columns='count').to_csv(paths['fewer'], index=False)
  return paths


def test_the_cli_writes_the_report_and_pictures_and_prints_what_it_inferred(csvs, tmp_path):
  out = str(tmp_path / 'report')
  proc = _cli(f'--real={csvs["real"]}', f'--synthetic={csvs["synthetic"]}',
              f'--test={csvs["test"]}', '--target=label', f'--out={out}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  # 'count' is an integer column of more than 10 distinct values: numeric.
  assert 'categorical columns (inferred): colour, label' in proc.stdout
  assert 'task (inferred from label): binary' in proc.stdout
  assert '| quality_score |' in proc.stdout and '| detection_auc |' in proc.stdout
  text = open(os.path.join(out, report.REPORT), encoding='utf-8').read()
  for section in ('Overall quality', 'ML efficacy', 'Column shapes', 'Column pair trends',
                  'Detection', 'Distance to closest real record', 'DecisionTreeClassifier',
                  report.COLUMNS_PNG, report.CORRELATIONS_PNG):
    assert section in text
  for png in (report.COLUMNS_PNG, report.CORRELATIONS_PNG):
    assert os.path.getsize(os.path.join(out, png)) > 5000
  again = _cli(f'--real={csvs["real"]}', f'--synthetic={csvs["synthetic"]}',
               f'--test={csvs["test"]}', '--target=label', f'--out={out}')
  assert again.returncode != 0 and again.stderr.strip() == (
      f'error: {os.path.join(out, report.REPORT)} exists; pass another --out (nothing was '
      'overwritten)')


@pytest.mark.parametrize('change,message', [
    ({'real': 'missing.csv'}, 'missing.csv: no such file'),
    ({'synthetic': 'fewer.csv'}, "--synthetic columns differ from --real's: missing count"),
    ({'target': 'income'}, '--target=income is not a column'),
])
def test_the_cli_refuses_bad_input_with_one_line(csvs, tmp_path, change, message):
  args = {'real': csvs['real'], 'synthetic': csvs['synthetic'], 'test': csvs['test'],
          'target': 'label'}
  args.update(change)
  if 'synthetic' in change:
    args['synthetic'] = csvs['fewer']
  if 'real' in change:
    args['real'] = str(tmp_path / change['real'])
  proc = _cli(*[f'--{k}={v}' for k, v in args.items()], f'--out={tmp_path / "out"}')
  assert proc.returncode != 0
  assert proc.stderr.startswith('error: ') and message in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1
  assert not os.path.exists(tmp_path / 'out' / report.REPORT)
