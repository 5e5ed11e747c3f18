"""How far synthetic rows are from giving the real ones away: detection (can a classifier
tell them from real rows?) and distance to the closest real record.

Both work in one feature space, fitted on the real training rows: numeric columns
standardised, categorical columns one-hot over the real table's categories.
"""
import dataclasses

import numpy as np
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import StratifiedKFold
from sklearn.neighbors import NearestNeighbors
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import RobustScaler

from gan_jax.tabular.efficacy import Features

FOLDS = 3


@dataclasses.dataclass(frozen=True)
class Detection:
  """Cross-validated ROC AUC of classifiers telling real rows (label 1) from synthetic ones.

  Attributes:
    auc: the logistic regression's mean fold AUC; 0.5 means indistinguishable.
    score: SDMetrics' LogisticDetection score of the same folds, 1 - mean(2 max(AUC, 0.5) - 1):
      1 means indistinguishable, 0 perfectly told apart.
    fold_aucs: the logistic regression's AUC on each fold.
    boosted_auc: the same for a gradient-boosted tree ensemble (NaN if not run).
    boosted_score: its SDMetrics-style score.
  """
  auc: float
  score: float
  fold_aucs: tuple
  boosted_auc: float
  boosted_score: float


def _sdmetrics_score(aucs):
  return float(1 - np.mean([2 * max(auc, 0.5) - 1 for auc in aucs]))


def _fold_aucs(classifier, x, y, folds):
  aucs = []
  for train, test in folds:
    classifier.fit(x[train], y[train])
    aucs.append(roc_auc_score(y[test], classifier.predict_proba(x[test])[:, 1]))
  return aucs


def detection(real, synthetic, categorical=(), seed=0, boosted=True, folds=FOLDS):
  """Trains classifiers to tell the real rows from the synthetic ones, as SDMetrics'
  LogisticDetection does: 3 stratified folds, a RobustScaler then an lbfgs logistic
  regression (scaling standardised or raw numeric columns robustly gives the same inputs).

  Args:
    real: the real table.
    synthetic: the synthetic table, with the same columns.
    categorical: the names of the categorical columns.
    seed: draws the folds (SDMetrics draws them from numpy's global generator) and seeds
      the boosted trees.
    boosted: also run a HistGradientBoostingClassifier, which finds differences a linear
      model cannot.
    folds: the number of folds.

  Returns:
    A Detection.
  """
  features = Features(real, categorical, scaling='standard')
  x = np.concatenate([features.transform(real), features.transform(synthetic)])
  y = np.concatenate([np.ones(len(real)), np.zeros(len(synthetic))])
  splits = list(StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed).split(x, y))
  aucs = _fold_aucs(make_pipeline(RobustScaler(), LogisticRegression(solver='lbfgs')),
                    x, y, splits)
  boosted_aucs = (_fold_aucs(HistGradientBoostingClassifier(random_state=seed), x, y, splits)
                  if boosted else [])
  return Detection(auc=float(np.mean(aucs)), score=_sdmetrics_score(aucs),
                   fold_aucs=tuple(float(a) for a in aucs),
                   boosted_auc=float(np.mean(boosted_aucs)) if boosted else float('nan'),
                   boosted_score=_sdmetrics_score(boosted_aucs) if boosted else float('nan'))


@dataclasses.dataclass(frozen=True)
class DistanceToClosestRecord:
  """Euclidean distances to the nearest real training row, in the shared feature space.

  Attributes:
    synthetic: each synthetic row's distance.
    test: each held-out real row's distance: how close a fresh sample from the real
      distribution comes, the yardstick for the synthetic rows.
    summary: synthetic_median, synthetic_p5, test_median, test_p5; closer_than_test_p5
      (the share of synthetic rows nearer a real row than the test rows' 5th percentile,
      exact copies always counted, even when that percentile is 0); exact_copies (the
      share of synthetic rows at distance 0).
  """
  synthetic: np.ndarray
  test: np.ndarray
  summary: dict


def _nearest_distances(reference, queries):
  """Each query row's Euclidean distance to its nearest reference row."""
  # Brute-force search through |x|^2 + |y|^2 - 2 x.y is fast (a k-d tree is not, in the
  # dimensions one-hots make) but leaves rounding noise where a row is copied; recomputing
  # the distance to the neighbour found from the differences makes a copy exactly 0.
  search = NearestNeighbors(n_neighbors=1, algorithm='brute').fit(reference)
  nearest = search.kneighbors(queries, return_distance=False)[:, 0]
  return np.sqrt(np.sum((queries - reference[nearest]) ** 2, axis=1))


def distance_to_closest_record(real, synthetic, test, categorical=()):
  """The distance from each synthetic row, and each test row, to its closest real row.

  Args:
    real: the real training table.
    synthetic: the synthetic table, with the same columns.
    test: held-out real rows, with the same columns.
    categorical: the names of the categorical columns.

  Returns:
    A DistanceToClosestRecord.
  """
  features = Features(real, categorical, scaling='standard')
  reference = features.transform(real)
  to_synthetic = _nearest_distances(reference, features.transform(synthetic))
  to_test = _nearest_distances(reference, features.transform(test))
  test_p5 = float(np.percentile(to_test, 5))
  summary = {
      'synthetic_median': float(np.median(to_synthetic)),
      'synthetic_p5': float(np.percentile(to_synthetic, 5)),
      'test_median': float(np.median(to_test)),
      'test_p5': test_p5,
      'closer_than_test_p5': float(np.mean((to_synthetic < test_p5) | (to_synthetic == 0))),
      'exact_copies': float(np.mean(to_synthetic == 0)),
  }
  return DistanceToClosestRecord(synthetic=to_synthetic, test=to_test, summary=summary)
