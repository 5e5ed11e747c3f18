"""How closely a synthetic table's columns and column pairs follow a real table's, with
SDMetrics' definitions (sdmetrics 0.32; benchmarks/sdmetrics_check.md compares the two).

Column shapes: KSComplement for numeric columns (1 - the two-sample Kolmogorov-Smirnov
statistic, on values rounded to 14 decimals as SDMetrics rounds them) and TVComplement for
categorical ones (1 - the total variation distance of the category frequencies).
Column pair trends: CorrelationSimilarity (1 - |corr_real - corr_synthetic| / 2) for two
numeric columns, ContingencySimilarity (1 - the total variation distance of the two tables'
joint frequencies) for a pair with a categorical column, the numeric one binned into 10
equal-width bins. The quality score is the mean of the two averages, as QualityReport has it.

Only numpy, pandas and scipy: scripts/check_sdmetrics.py imports this module beside
sdmetrics in an environment without JAX. Missing values are dropped, as SDMetrics drops them.
"""
import dataclasses
import itertools

import numpy as np
import pandas as pd
from scipy import stats

# SDMetrics rounds before the KS test (sys.float_info.dig - 1) so that float noise in
# otherwise equal values does not count as a difference.
KS_DECIMALS = 14
BINS = 10
# QualityReport's defaults (sdmetrics >= 0.3x): a numeric pair counts towards the column pair
# trends only if its real Pearson |r| exceeds 0.5, any other pair only if its real Cramer's
# V exceeds 0.3. Thresholds of 0 count every pair, as earlier SDMetrics releases did.
REAL_CORRELATION_THRESHOLD = 0.5
REAL_ASSOCIATION_THRESHOLD = 0.3
STATISTICS = ('mean', 'std', 'median')
COEFFICIENTS = ('pearson', 'spearman')


@dataclasses.dataclass(frozen=True)
class Quality:
  """The similarity of a synthetic table to a real one.

  Attributes:
    columns: one row per column: column, kind ('numeric' or 'categorical'), metric
      ('KSComplement' or 'TVComplement'), score, and for numeric columns mean, std and
      median (StatisticSimilarity of each; NaN for categorical columns).
    pairs: one row per pair of columns: column_1, column_2, metric ('CorrelationSimilarity'
      or 'ContingencySimilarity'), score (Pearson for numeric pairs), spearman (numeric
      pairs), real_correlation and synthetic_correlation (Pearson, numeric pairs),
      real_association (Cramer's V of the real pair, pairs with a categorical column),
      contributes (whether the pair passes the real-data threshold and so counts towards
      column_pair_trends).
    column_shapes: the mean column score.
    column_pair_trends: the mean score of the contributing pairs (NaN if none).
    quality_score: the mean of column_shapes and column_pair_trends, ignoring a NaN.
  """
  columns: pd.DataFrame
  pairs: pd.DataFrame
  column_shapes: float
  column_pair_trends: float
  quality_score: float


def _values(column):
  return pd.Series(column).dropna().to_numpy(dtype=float)


def ks_complement(real, synthetic):
  """SDMetrics' KSComplement of two numeric columns.

  Args:
    real: the real column's values (array-like).
    synthetic: the synthetic column's values.

  Returns:
    1 - sup_x |F_real(x) - F_synthetic(x)| of the empirical CDFs, NaN if either is empty.
  """
  real = np.sort(np.round(_values(real), KS_DECIMALS))
  synthetic = np.sort(np.round(_values(synthetic), KS_DECIMALS))
  if not len(real) or not len(synthetic):
    return float('nan')
  # Both CDFs jump only at observed values, so the supremum is attained at one of them.
  points = np.concatenate([real, synthetic])
  cdf_real = np.searchsorted(real, points, side='right') / len(real)
  cdf_synthetic = np.searchsorted(synthetic, points, side='right') / len(synthetic)
  return float(1 - np.max(np.abs(cdf_real - cdf_synthetic)))


def tv_complement(real, synthetic):
  """SDMetrics' TVComplement of two categorical columns.

  A category only the synthetic rows have is given a real count of 1e-6 before the real
  frequencies are normalised, as SDMetrics regularises it; that moves the score by about
  1e-6 / len(real) per such category.

  Args:
    real: the real column's values (array-like).
    synthetic: the synthetic column's values.

  Returns:
    1 - (1/2) sum_c |p_real(c) - p_synthetic(c)|, NaN if either column is empty.
  """
  real = pd.Series(real).dropna().value_counts(sort=False).astype(float)
  synthetic = pd.Series(synthetic).dropna().value_counts(sort=False)
  if not len(real) or not len(synthetic):
    return float('nan')
  unseen = synthetic.index[~synthetic.index.isin(real.index)]
  real = pd.concat([real, pd.Series(1e-6, index=unseen)])
  p_real = real / real.sum()
  p_synthetic = synthetic.reindex(real.index, fill_value=0) / synthetic.sum()
  return float(1 - 0.5 * np.abs(p_real.to_numpy() - p_synthetic.to_numpy()).sum())


def statistic_similarity(real, synthetic, statistic='mean'):
  """SDMetrics' StatisticSimilarity of two numeric columns.

  Args:
    real: the real column's values (array-like).
    synthetic: the synthetic column's values.
    statistic: 'mean', 'std' (with ddof=1, pandas' default) or 'median'.

  Returns:
    max(0, 1 - |s(real) - s(synthetic)| / (max(real) - min(real))); NaN for a constant
    real column, whose range is zero.
  """
  if statistic not in STATISTICS:
    raise ValueError(f'statistic={statistic!r}: choose from {", ".join(STATISTICS)}')
  real, synthetic = pd.Series(_values(real)), pd.Series(_values(synthetic))
  if real.nunique() <= 1:
    return float('nan')
  difference = abs(getattr(real, statistic)() - getattr(synthetic, statistic)())
  return float(max(1 - difference / (real.max() - real.min()), 0.0))


def _correlation(x, y, coefficient):
  """Pearson's r of x and y, or Spearman's rho (Pearson's r of their mid-ranks); NaN for
  a constant column, where neither is defined."""
  if coefficient == 'spearman':
    x, y = stats.rankdata(x), stats.rankdata(y)
  x, y = x - x.mean(), y - y.mean()
  norm = np.sqrt(np.dot(x, x) * np.dot(y, y))
  if norm == 0:
    return float('nan')
  return float(np.clip(np.dot(x, y) / norm, -1.0, 1.0))


def _pair_values(frame):
  pair = frame.iloc[:, :2].dropna()
  return pair.iloc[:, 0].to_numpy(dtype=float), pair.iloc[:, 1].to_numpy(dtype=float)


def correlations(real, synthetic, coefficient='pearson'):
  """The correlation of a pair of numeric columns in each table, and their similarity.

  Args:
    real: a DataFrame whose first two columns are the real pair.
    synthetic: the same two columns of the synthetic table.
    coefficient: 'pearson' or 'spearman'.

  Returns:
    (score, real correlation, synthetic correlation), score = 1 - |r_real - r_synth| / 2;
    all NaN if a column of either table is constant (SDMetrics refuses those pairs).
  """
  if coefficient not in COEFFICIENTS:
    raise ValueError(f'coefficient={coefficient!r}: choose from {", ".join(COEFFICIENTS)}')
  r_real = _correlation(*_pair_values(real), coefficient)
  r_synthetic = _correlation(*_pair_values(synthetic), coefficient)
  if np.isnan(r_real) or np.isnan(r_synthetic):
    return float('nan'), float('nan'), float('nan')
  return 1 - abs(r_real - r_synthetic) / 2, r_real, r_synthetic


def correlation_similarity(real, synthetic, coefficient='pearson'):
  """SDMetrics' CorrelationSimilarity of a pair of numeric columns.

  Args:
    real: a DataFrame whose first two columns are the real pair.
    synthetic: the same two columns of the synthetic table.
    coefficient: 'pearson' or 'spearman'.

  Returns:
    1 - |r_real - r_synthetic| / 2, NaN if a column of either table is constant.
  """
  return correlations(real, synthetic, coefficient)[0]


def _frequencies(pair):
  columns = list(pair.columns[:2])
  return pair[columns].groupby(columns, dropna=False).size() / len(pair)


def _contingency(real, synthetic):
  """1 - the total variation distance of two two-column tables' joint frequencies, over
  the union of the cells either has."""
  p_real, p_synthetic = _frequencies(real).align(_frequencies(synthetic), fill_value=0)
  return float(1 - 0.5 * np.abs(p_real.to_numpy() - p_synthetic.to_numpy()).sum())


def _digitize(values, edges):
  return pd.Series(np.digitize(values.to_numpy(dtype=float), edges), index=values.index)


def contingency_similarity(real, synthetic, continuous=(), bins=BINS):
  """SDMetrics' ContingencySimilarity of a pair of columns.

  Args:
    real: a DataFrame whose first two columns are the real pair.
    synthetic: the same two columns of the synthetic table.
    continuous: the pair's numeric columns, binned first: `bins` equal-width bins over the
      real column's range, the outer two open-ended (SDMetrics' discretize_column).
    bins: the number of bins.

  Returns:
    1 - (1/2) sum over cells of |p_real(cell) - p_synthetic(cell)|.
  """
  real, synthetic = real.iloc[:, :2].copy(), synthetic[list(real.columns[:2])].copy()
  for column in continuous:
    edges = np.histogram_bin_edges(real[column].dropna(), bins=bins)
    edges[0], edges[-1] = -np.inf, np.inf
    real[column] = _digitize(real[column], edges)
    synthetic[column] = _digitize(synthetic[column], edges)
  return _contingency(real, synthetic)


def cramers_v(pair):
  """Cramer's V (no continuity correction) of a two-column table's contingency table.

  Args:
    pair: a DataFrame whose first two columns are the pair.

  Returns:
    sqrt(chi^2 / (n (min(rows, columns) - 1))); NaN if either column has a single value.
  """
  columns = list(pair.columns[:2])
  counts = pair[columns].groupby(columns, dropna=False).size().unstack(fill_value=0)
  counts = counts.to_numpy(dtype=float)
  if counts.sum() == 0 or min(counts.shape) < 2:
    return float('nan')
  total = counts.sum()
  expected = np.outer(counts.sum(axis=1), counts.sum(axis=0)) / total
  chi2 = np.sum((counts - expected) ** 2 / expected)
  return float(np.sqrt(chi2 / (total * (min(counts.shape) - 1))))


def _column_rows(real, synthetic, categorical):
  rows = []
  for column in real.columns:
    if column in categorical:
      rows.append({'column': column, 'kind': 'categorical', 'metric': 'TVComplement',
                   'score': tv_complement(real[column], synthetic[column])})
      continue
    row = {'column': column, 'kind': 'numeric', 'metric': 'KSComplement',
           'score': ks_complement(real[column], synthetic[column])}
    for statistic in STATISTICS:
      row[statistic] = statistic_similarity(real[column], synthetic[column], statistic)
    rows.append(row)
  return pd.DataFrame(rows, columns=['column', 'kind', 'metric', 'score', *STATISTICS])


def _report_bins(frame, categorical):
  """The numeric columns of one table binned as QualityReport bins them for a pair with a
  categorical column: 10 equal-width bins over that table's own range, with np.digitize
  putting the maximum in an 11th bin of its own. Each table is binned on its own edges, so
  a synthetic column shifted as a whole keeps its bins; that is SDMetrics' choice, kept so
  the score is theirs (contingency_similarity bins both on the real edges)."""
  binned = frame.copy()
  for column in frame.columns:
    if column not in categorical:
      binned[column] = _digitize(frame[column], np.histogram_bin_edges(frame[column].dropna()))
  return binned


def _pair_rows(real, synthetic, categorical, correlation_threshold, association_threshold):
  binned_real, binned_synthetic = _report_bins(real, categorical), _report_bins(
      synthetic, categorical)
  rows = []
  for first, second in itertools.combinations(real.columns, 2):
    pair = [first, second]
    row = {'column_1': first, 'column_2': second}
    if first not in categorical and second not in categorical:
      score, r_real, r_synthetic = correlations(real[pair], synthetic[pair], 'pearson')
      row.update(metric='CorrelationSimilarity', score=score,
                 spearman=correlation_similarity(real[pair], synthetic[pair], 'spearman'),
                 real_correlation=r_real, synthetic_correlation=r_synthetic,
                 contributes=bool(correlation_threshold <= 0
                                  or abs(r_real) > correlation_threshold))
    else:
      association = cramers_v(binned_real[pair])
      row.update(metric='ContingencySimilarity',
                 score=_contingency(binned_real[pair], binned_synthetic[pair]),
                 real_association=association,
                 contributes=bool(association_threshold <= 0
                                  or association > association_threshold))
    rows.append(row)
  return pd.DataFrame(rows, columns=['column_1', 'column_2', 'metric', 'score', 'spearman',
                                     'real_correlation', 'synthetic_correlation',
                                     'real_association', 'contributes'])


def quality_report(real, synthetic, categorical=(),
                   real_correlation_threshold=REAL_CORRELATION_THRESHOLD,
                   real_association_threshold=REAL_ASSOCIATION_THRESHOLD):
  """Column shapes, column pair trends and their mean, as SDMetrics' QualityReport has them.

  Args:
    real: the real table.
    synthetic: the synthetic table, with the same columns.
    categorical: the names of the categorical columns; every other column is numeric.
    real_correlation_threshold: a numeric pair counts towards the pair trends only if its
      real |Pearson r| exceeds this.
    real_association_threshold: a pair with a categorical column counts only if its real
      Cramer's V (the numeric column binned) exceeds this.

  Returns:
    A Quality: the per-column and per-pair tables and the three scores.
  """
  if set(real.columns) != set(synthetic.columns):
    raise ValueError(f'the tables have different columns: {list(real.columns)} and '
                     f'{list(synthetic.columns)}')
  synthetic = synthetic[list(real.columns)]
  categorical = set(categorical)
  unknown = categorical - set(real.columns)
  if unknown:
    raise ValueError(f'categorical columns not in the table: {sorted(unknown)}')
  columns = _column_rows(real, synthetic, categorical)
  pairs = _pair_rows(real, synthetic, categorical, real_correlation_threshold,
                     real_association_threshold)
  shapes = float(columns['score'].mean())
  counted = pairs.loc[pairs['contributes'], 'score']
  trends = float(counted.mean()) if counted.notna().any() else float('nan')
  parts = [s for s in (shapes, trends) if not np.isnan(s)]
  return Quality(columns=columns, pairs=pairs, column_shapes=shapes,
                 column_pair_trends=trends,
                 quality_score=float(np.mean(parts)) if parts else float('nan'))
