"""Checks gan_jax.tabular.similarity against the sdmetrics package on the same tables.

  python3 -m venv /tmp/sdm_venv && /tmp/sdm_venv/bin/pip install sdmetrics
  /tmp/sdm_venv/bin/python scripts/check_sdmetrics.py

Needs only sdmetrics (and what it installs: numpy, pandas, scipy, scikit-learn), not JAX:
the repository root is put on the path and only gan_jax.tabular.similarity and
gan_jax.tabular.privacy are imported. The tables are scikit-learn's bundled wine and
diabetes sets, a few columns cut into labelled categories, and synthetic versions made by
adding noise, shuffling some categories and writing in a category the real rows lack.
Prints every value both ways and exits non-zero if any differs by more than --tolerance.
"""
import argparse
import itertools
import os
import sys
import warnings

import numpy as np
import pandas as pd
import sdmetrics
from sdmetrics.column_pairs import ContingencySimilarity, CorrelationSimilarity
from sdmetrics.reports import QualityReport
from sdmetrics.reports.single_table import QualityReport as SingleTableQualityReport
from sdmetrics.single_column import KSComplement, StatisticSimilarity, TVComplement
from sdmetrics.single_table import LogisticDetection
from sklearn import datasets

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
from gan_jax.tabular import privacy, similarity  # pylint: disable=wrong-import-position


def _cut(column, labels):
  return pd.qcut(column, len(labels), labels=labels).astype(str)


def _wine():
  bunch = datasets.load_wine(as_frame=True)
  frame = bunch.frame[['alcohol', 'malic_acid', 'ash', 'magnesium', 'flavanoids',
                       'color_intensity', 'proline', 'target']].copy()
  frame['target'] = frame['target'].map({0: 'a', 1: 'b', 2: 'c'})
  frame['hue'] = _cut(bunch.frame['hue'], ['low', 'mid', 'high'])
  frame['magnesium'] = frame['magnesium'].astype(int)  # Ties, for KS and the ranks.
  return frame, ('target', 'hue')


def _diabetes():
  bunch = datasets.load_diabetes(as_frame=True, scaled=False)
  frame = bunch.frame[['age', 'sex', 'bmi', 'bp', 's1', 's5', 'target']].copy()
  frame['sex'] = frame['sex'].map({1.0: 'f', 2.0: 'm'})
  frame['s5'] = _cut(frame['s5'], ['q1', 'q2', 'q3', 'q4'])
  return frame, ('sex', 's5')


def _synthetic(real, categorical, seed):
  """A noisy copy: numeric columns jittered and rescaled, a third of each categorical
  column shuffled, and a few rows of the first given a category the real rows lack."""
  rng = np.random.default_rng(seed)
  synthetic = real.sample(frac=1.0, replace=True, random_state=seed).reset_index(drop=True)
  for column in synthetic.columns:
    if column in categorical:
      rows = rng.random(len(synthetic)) < 1 / 3
      synthetic.loc[rows, column] = rng.permutation(synthetic.loc[rows, column].to_numpy())
    elif pd.api.types.is_integer_dtype(synthetic[column]):
      synthetic[column] += rng.integers(-3, 4, len(synthetic))
    else:
      std = real[column].std()
      synthetic[column] = 1.1 * synthetic[column] + rng.normal(0, 0.3 * std, len(synthetic))
  synthetic.loc[:4, categorical[0]] = 'unseen'
  return synthetic


def _metadata(frame, categorical):
  return {'columns': {c: {'sdtype': 'categorical' if c in categorical else 'numerical'}
                      for c in frame.columns}}


def _rows(name, real, synthetic, categorical, seed):
  """(table, metric, columns, sdmetrics value, gan_jax value) for every comparison."""
  numeric = [c for c in real.columns if c not in categorical]
  for column in real.columns:
    if column in categorical:
      yield (name, 'TVComplement', column, TVComplement.compute(real[column], synthetic[column]),
             similarity.tv_complement(real[column], synthetic[column]))
      continue
    yield (name, 'KSComplement', column, KSComplement.compute(real[column], synthetic[column]),
           similarity.ks_complement(real[column], synthetic[column]))
    for statistic in similarity.STATISTICS:
      yield (name, f'StatisticSimilarity({statistic})', column,
             StatisticSimilarity.compute(real[column], synthetic[column], statistic=statistic),
             similarity.statistic_similarity(real[column], synthetic[column], statistic))
  for pair in itertools.combinations(real.columns, 2):
    pair = list(pair)
    if not set(pair) & set(categorical):
      for coefficient in ('Pearson', 'Spearman'):
        yield (name, f'CorrelationSimilarity({coefficient})', ','.join(pair),
               CorrelationSimilarity.compute(real[pair], synthetic[pair],
                                             coefficient=coefficient),
               similarity.correlation_similarity(real[pair], synthetic[pair],
                                                 coefficient.lower()))
      continue
    continuous = [c for c in pair if c in numeric]
    yield (name, 'ContingencySimilarity', ','.join(pair),
           ContingencySimilarity.compute(real[pair], synthetic[pair],
                                         continuous_column_names=continuous),
           similarity.contingency_similarity(real[pair], synthetic[pair], continuous))
  ours = similarity.quality_report(real, synthetic, categorical)
  metadata = _metadata(real, categorical)
  unified = QualityReport()
  unified.generate({name: real.copy()}, {name: synthetic.copy()},
                   {'tables': {name: metadata}}, verbose=False)
  single = SingleTableQualityReport()
  single.generate(real.copy(), synthetic.copy(), metadata, verbose=False)
  # Thresholds of 0 count every pair, as SDMetrics did before it had thresholds.
  every_pair = SingleTableQualityReport()
  every_pair.real_correlation_threshold = every_pair.real_association_threshold = 0
  every_pair.generate(real.copy(), synthetic.copy(), metadata, verbose=False)
  ours_every_pair = similarity.quality_report(real, synthetic, categorical, 0, 0)
  for label, report, mine in (
      ('QualityReport', unified, ours), ('single_table.QualityReport', single, ours),
      ('QualityReport, thresholds 0', every_pair, ours_every_pair)):
    properties = report.get_properties().set_index('Property')['Score']
    yield name, f'{label} Column Shapes', '', properties['Column Shapes'], mine.column_shapes
    yield (name, f'{label} Column Pair Trends', '', properties['Column Pair Trends'],
           mine.column_pair_trends)
    yield name, f'{label} score', '', report.get_score(), mine.quality_score
  pairs = single.get_details('Column Pair Trends')
  for (_, theirs), (_, mine) in zip(pairs.iterrows(), ours.pairs.iterrows()):
    counted = bool(theirs['Meets Threshold?'])
    yield (name, 'QualityReport pair counted (1/0)', f'{mine.column_1},{mine.column_2}',
           float(counted), float(mine.contributes))
    if counted:
      yield (name, f'QualityReport pair {theirs["Metric"]}', f'{mine.column_1},{mine.column_2}',
             theirs['Score'], mine.score)
  # LogisticDetection draws its folds from numpy's global generator: seeded, it draws
  # privacy.detection's folds. Its one-hot encoder refuses a category the real rows lack.
  known = synthetic[synthetic[categorical[0]] != 'unseen']
  np.random.seed(seed)
  yield (name, 'LogisticDetection', '', LogisticDetection.compute(real, known, metadata),
         privacy.detection(real, known, categorical, seed=seed, boosted=False).score)


def main():
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--tolerance', type=float, default=1e-6)
  parser.add_argument('--seed', type=int, default=0)
  args = parser.parse_args()
  warnings.simplefilter('ignore', FutureWarning)  # sdmetrics' report deprecation notices.
  rows = []
  for name, load in (('wine', _wine), ('diabetes', _diabetes)):
    real, categorical = load()
    synthetic = _synthetic(real, categorical, args.seed)
    rows.extend(_rows(name, real, synthetic, categorical, args.seed))
  table = pd.DataFrame(rows, columns=['table', 'metric', 'columns', 'sdmetrics', 'gan_jax'])
  table['abs_diff'] = (table['sdmetrics'] - table['gan_jax']).abs()
  both_nan = table['sdmetrics'].isna() & table['gan_jax'].isna()
  table.loc[both_nan, 'abs_diff'] = 0.0
  table['abs_diff'] = table['abs_diff'].fillna(np.inf)  # NaN on one side only.
  print(f'sdmetrics {sdmetrics.__version__}, numpy {np.__version__}, pandas {pd.__version__}')
  summary = table.groupby(['table', 'metric'], sort=False).agg(
      n=('abs_diff', 'size'), max_abs_diff=('abs_diff', 'max'))
  with pd.option_context('display.width', 200, 'display.max_rows', 1000,
                         'display.float_format', '{:.12g}'.format):
    print(table.to_string(index=False))
    print()
    print(summary.to_string())
  worst = float(table['abs_diff'].max())
  print(f'\n{len(table)} comparisons, max |sdmetrics - gan_jax| = {worst:.3g} '
        f'(tolerance {args.tolerance:g})')
  if worst > args.tolerance:
    sys.exit(f'error: {int((table["abs_diff"] > args.tolerance).sum())} values differ by '
             f'more than {args.tolerance:g}')


if __name__ == '__main__':
  main()
