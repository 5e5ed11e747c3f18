"""A synthetic table's evaluation as pictures and a markdown report: similarity, ML efficacy,
detection and distance to closest record, from similarity.py, efficacy.py and privacy.py."""
import math
import os

import matplotlib
import numpy as np
import pandas as pd

matplotlib.use('Agg')  # Headless: reports write files, never open windows.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position

from gan_jax.tabular import efficacy, privacy, similarity  # pylint: disable=wrong-import-position

REPORT = 'report.md'
COLUMNS_PNG = 'columns.png'
CORRELATIONS_PNG = 'correlations.png'
GRID_COLUMNS = 4
MAX_CATEGORIES = 20  # Bars drawn per categorical column: its most frequent real categories.
PAIRS_SHOWN = 5


def _draw_numeric(ax, real, synthetic):
  values = np.concatenate([real, synthetic])
  edges = np.histogram_bin_edges(values[np.isfinite(values)], bins=30)
  ax.hist(real, bins=edges, density=True, alpha=0.5, label='real')
  ax.hist(synthetic, bins=edges, density=True, alpha=0.5, label='synthetic')


def _draw_categorical(ax, real, synthetic):
  p_real = real.value_counts(normalize=True)
  shown = p_real.index[:MAX_CATEGORIES]
  p_synthetic = synthetic.value_counts(normalize=True).reindex(shown, fill_value=0)
  where = np.arange(len(shown))
  ax.bar(where - 0.2, p_real.reindex(shown).to_numpy(), width=0.4, label='real')
  ax.bar(where + 0.2, p_synthetic.to_numpy(), width=0.4, label='synthetic')
  ax.set_xticks(where, [str(c) for c in shown], rotation=60, fontsize=7)


def plot_columns(path, real, synthetic, categorical=()):
  """One PNG grid, a panel per column: real and synthetic histograms of a numeric column
  (shared bins, densities), bars of a categorical column's frequencies.

  Args:
    path: the PNG to write.
    real: the real table.
    synthetic: the synthetic table, with the same columns.
    categorical: the names of the categorical columns.

  Returns:
    path.
  """
  columns = list(real.columns)
  rows = math.ceil(len(columns) / GRID_COLUMNS)
  fig, axes = plt.subplots(rows, GRID_COLUMNS, figsize=(4 * GRID_COLUMNS, 3 * rows),
                           squeeze=False)
  for ax, column in zip(axes.flat, columns):
    if column in categorical:
      _draw_categorical(ax, real[column].dropna(), synthetic[column].dropna())
    else:
      _draw_numeric(ax, real[column].dropna().to_numpy(dtype=float),
                    synthetic[column].dropna().to_numpy(dtype=float))
    ax.set_title(str(column), fontsize=9)
  for ax in axes.flat[len(columns):]:
    ax.set_visible(False)
  axes.flat[0].legend(fontsize=7)
  fig.tight_layout()
  fig.savefig(path, dpi=80)
  plt.close(fig)
  return path


def plot_correlations(path, real, synthetic, categorical=()):
  """Pearson correlation heatmaps of the numeric columns: real, synthetic, and synthetic
  minus real.

  Args:
    path: the PNG to write.
    real: the real table.
    synthetic: the synthetic table, with the same columns.
    categorical: the names of the categorical columns, left out.

  Returns:
    path.
  """
  numeric = [c for c in real.columns if c not in categorical]
  fig, axes = plt.subplots(1, 3, figsize=(15, 4.8))
  if len(numeric) < 2:
    for ax in axes:
      ax.set_axis_off()
    axes[1].text(0.5, 0.5, 'fewer than two numeric columns', ha='center', va='center')
  else:
    r_real = real[numeric].astype(float).corr().to_numpy()
    r_synthetic = synthetic[numeric].astype(float).corr().to_numpy()
    for ax, matrix, title in ((axes[0], r_real, 'real'), (axes[1], r_synthetic, 'synthetic'),
                              (axes[2], r_synthetic - r_real, 'synthetic - real')):
      image = ax.imshow(matrix, vmin=-1, vmax=1, cmap='coolwarm')
      ax.set_xticks(range(len(numeric)), [str(c) for c in numeric], rotation=90, fontsize=7)
      # Only the first panel is labelled: long names would run into the panel beside.
      ax.set_yticks(range(len(numeric)),
                    [str(c) for c in numeric] if ax is axes[0] else [], fontsize=7)
      ax.set_title(title)
    fig.colorbar(image, ax=axes.tolist(), shrink=0.8)
  fig.savefig(path, dpi=80, bbox_inches='tight')
  plt.close(fig)
  return path


def _cell(value):
  if isinstance(value, (float, np.floating)):
    return 'n/a' if np.isnan(value) else f'{value:.4f}'
  return str(value)


def _markdown(frame):
  header = '| ' + ' | '.join(str(c) for c in frame.columns) + ' |'
  rule = '|' + '---|' * len(frame.columns)
  rows = ['| ' + ' | '.join(_cell(v) for v in row) + ' |'
          for row in frame.itertuples(index=False)]
  return '\n'.join([header, rule, *rows])


def headline(quality, scores, detection, dcr):
  """The evaluation's numbers under flat names.

  Args:
    quality: a similarity.Quality.
    scores: an efficacy.Efficacy.
    detection: a privacy.Detection.
    dcr: a privacy.DistanceToClosestRecord.

  Returns:
    A dict of floats: quality_score, column_shapes, column_pair_trends, efficacy_ratio,
    efficacy_real, efficacy_synthetic (means over the models), detection_auc,
    detection_score, detection_auc_boosted, and dcr_synthetic_median, dcr_synthetic_p5,
    dcr_test_median, dcr_test_p5, dcr_closer_than_test_p5, dcr_exact_copies.
  """
  numbers = {
      'quality_score': quality.quality_score,
      'column_shapes': quality.column_shapes,
      'column_pair_trends': quality.column_pair_trends,
      'efficacy_ratio': scores.mean_ratio,
      'efficacy_real': float(scores.table['real'].mean()),
      'efficacy_synthetic': float(scores.table['synthetic'].mean()),
      'detection_auc': detection.auc,
      'detection_score': detection.score,
      'detection_auc_boosted': detection.boosted_auc,
  }
  numbers.update({f'dcr_{k}': v for k, v in dcr.summary.items()})
  return {k: float(v) for k, v in numbers.items()}


def _pairs_section(pairs):
  scored = pairs.dropna(subset=['score']).sort_values('score', kind='stable')
  shown = ['column_1', 'column_2', 'metric', 'score', 'contributes']
  if len(scored) <= 2 * PAIRS_SHOWN:
    return _markdown(scored[shown])
  return (f'Lowest {PAIRS_SHOWN}:\n\n{_markdown(scored[shown].head(PAIRS_SHOWN))}\n\n'
          f'Highest {PAIRS_SHOWN}:\n\n{_markdown(scored[shown].tail(PAIRS_SHOWN)[::-1])}')


def _document(numbers, quality, scores, detection, target, task, sizes):
  notes = '\n'.join(f'- {n}' for n in scores.notes) or '- none'
  overall = pd.DataFrame({'measure': ['quality score', 'column shapes', 'column pair trends'],
                          'value': [quality.quality_score, quality.column_shapes,
                                    quality.column_pair_trends]})
  tests = pd.DataFrame({
      'classifier': ['logistic regression', 'gradient-boosted trees'],
      'ROC AUC (0.5 = indistinguishable)': [detection.auc, detection.boosted_auc],
      'SDMetrics score (1 = indistinguishable)': [detection.score, detection.boosted_score]})
  dcr = pd.DataFrame({
      'rows': ['synthetic', 'test (held-out real)'],
      'median': [numbers['dcr_synthetic_median'], numbers['dcr_test_median']],
      '5th percentile': [numbers['dcr_synthetic_p5'], numbers['dcr_test_p5']]})
  return f"""# Synthetic table report

{sizes[0]} real training rows, {sizes[1]} synthetic rows, {sizes[2]} held-out real rows.

## Overall quality (SDMetrics QualityReport)

{_markdown(overall)}

## ML efficacy ({task}, target `{target}`, {scores.metric}; SDGym protocol)

Each model trained on the real rows and on the synthetic rows, both tested on the held-out
rows; ratio = synthetic / real. Mean ratio: {_cell(scores.mean_ratio)}.

{_markdown(scores.table)}

Notes:
{notes}

## Column shapes

{_markdown(quality.columns)}

![columns]({COLUMNS_PNG})

## Column pair trends

{_pairs_section(quality.pairs)}

![correlations]({CORRELATIONS_PNG})

## Detection (real vs synthetic, 3-fold cross-validation)

{_markdown(tests)}

## Distance to closest real record

Euclidean, standardised numeric columns and one-hot categories.
{_cell(numbers['dcr_closer_than_test_p5'])} of the synthetic rows are closer to a real row
than the held-out rows' 5th percentile (exact copies included;
{_cell(numbers['dcr_exact_copies'])} are exact copies).

{_markdown(dcr)}
"""


def write_report(outdir, real, synthetic, test, categorical, target, task, seed=0):
  """Evaluates a synthetic table and writes report.md, columns.png and correlations.png.

  Args:
    outdir: the folder written to (made if absent); one with a report.md is refused.
    real: the real training table.
    synthetic: the synthetic table, with the same columns.
    test: held-out real rows, with the same columns.
    categorical: the names of the categorical columns.
    target: the column the efficacy models predict.
    task: 'binary', 'multiclass' or 'regression'.
    seed: seeds the efficacy models and the detection folds.

  Returns:
    A flat dict: headline()'s numbers, and the PNG paths under columns_png and
    correlations_png (the only keys whose values are not floats).
  """
  path = os.path.join(outdir, REPORT)
  if os.path.exists(path):
    raise FileExistsError(f'{path} exists; nothing was overwritten')
  os.makedirs(outdir, exist_ok=True)
  categorical = tuple(categorical)
  synthetic, test = synthetic[list(real.columns)], test[list(real.columns)]
  quality = similarity.quality_report(real, synthetic, categorical)
  scores = efficacy.evaluate(real, synthetic, test, target, task, categorical, seed=seed)
  detection = privacy.detection(real, synthetic, categorical, seed=seed)
  dcr = privacy.distance_to_closest_record(real, synthetic, test, categorical)
  numbers = headline(quality, scores, detection, dcr)
  pngs = {'columns_png': plot_columns(os.path.join(outdir, COLUMNS_PNG), real, synthetic,
                                      categorical),
          'correlations_png': plot_correlations(os.path.join(outdir, CORRELATIONS_PNG), real,
                                                synthetic, categorical)}
  with open(path, 'w', encoding='utf-8') as f:
    f.write(_document(numbers, quality, scores, detection, target, task,
                      (len(real), len(synthetic), len(test))))
  return {**numbers, **pngs}
