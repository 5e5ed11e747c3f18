"""Machine-learning efficacy: models trained on the synthetic rows and on the real ones, both
tested on held-out real rows, with the protocol of SDGym 0.2 (the benchmark of Xu et al.
2019, "Modeling Tabular Data using Conditional GAN"; sdgym/evaluate.py at v0.2.0).

Models and scores, as SDGym has them:
  binary: DecisionTreeClassifier(max_depth=15, class_weight='balanced'), AdaBoostClassifier(),
    LogisticRegression(class_weight='balanced', max_iter=50), MLPClassifier((50,),
    max_iter=50); F1 of the positive class (here the real table's rarer class), with
    accuracy and ROC AUC beside it.
  multiclass: DecisionTreeClassifier(max_depth=30, class_weight='balanced'),
    MLPClassifier((100,), max_iter=50); macro F1, with accuracy.
  regression: LinearRegression(), MLPRegressor((100,), max_iter=50); R^2.
Features, as SDGym's FeatureMaker makes them, from the real training table's statistics: a
numeric column with min >= 0 and max >= 1000 becomes log(max(x, 0.01)), any other
5 (x - min) / (max - min); a categorical column becomes the one-hot of the real table's
categories (a category absent from them encodes as all zeros).

Where this departs from SDGym: a categorical column of at most two categories is one-hot
encoded too (SDGym passes its integer code, the same information); a training table is
subsampled to 50,000 rows by a seeded draw, not by numpy's global shuffle; the regression
target is used as it is (SDGym's log(clip(y, 1, 20000)) was written for its News dataset);
and the models take `seed` as their random_state, so a result is a function of its inputs.
"""
import dataclasses
import warnings

import numpy as np
import pandas as pd
from sklearn.ensemble import AdaBoostClassifier
from sklearn.exceptions import ConvergenceWarning
from sklearn.linear_model import LinearRegression, LogisticRegression
from sklearn.metrics import accuracy_score, f1_score, r2_score, roc_auc_score
from sklearn.neural_network import MLPClassifier, MLPRegressor
from sklearn.tree import DecisionTreeClassifier

TASKS = ('binary', 'multiclass', 'regression')
METRICS = {'binary': 'f1', 'multiclass': 'macro_f1', 'regression': 'r2'}
MAX_ROWS = 50_000
SCALINGS = ('sdgym', 'standard')


class Features:
  """Table rows to model inputs, with statistics and categories taken from the real table.

  Args:
    real: the real table the statistics come from.
    categorical: the names of the categorical columns; every other column is numeric.
    scaling: 'sdgym' (SDGym's log or 5 (x - min) / (max - min), see the module docstring)
      or 'standard' ((x - mean) / std).
    exclude: columns left out of the features (a prediction target).
  """

  def __init__(self, real, categorical=(), scaling='sdgym', exclude=()):
    if scaling not in SCALINGS:
      raise ValueError(f'scaling={scaling!r}: choose from {", ".join(SCALINGS)}')
    self.scaling = scaling
    self.columns = [c for c in real.columns if c not in exclude]
    self.categories = {c: pd.Index(real[c].unique()) for c in self.columns if c in categorical}
    self.numeric = {c: self._fit_numeric(real[c]) for c in self.columns
                    if c not in self.categories}

  def _fit_numeric(self, column):
    values = _numeric(column)
    low, high = values.min(), values.max()
    if self.scaling == 'sdgym':
      return ('log', 0.0, 1.0) if low >= 0 and high >= 1e3 else (
          'linear', low, (high - low) / 5 or 1.0)
    return 'linear', values.mean(), values.std() or 1.0

  def transform(self, frame):
    """Encodes a table's rows.

    Args:
      frame: a table with (at least) the real table's feature columns.

    Returns:
      A float64 array [rows, features]: the numeric columns, then the one-hots, in the
      real table's column order.
    """
    parts = []
    for column in self.columns:
      if column in self.categories:
        codes = self.categories[column].get_indexer(frame[column])
        parts.append(np.eye(len(self.categories[column]) + 1)[codes][:, :-1])
        continue
      kind, shift, scale = self.numeric[column]
      values = _numeric(frame[column])
      if kind == 'log':
        values = np.log(np.maximum(values, 1e-2))
      parts.append(((values - shift) / scale)[:, None])
    return np.concatenate(parts, axis=1) if parts else np.zeros((len(frame), 0))


def _numeric(column):
  values = pd.to_numeric(column).to_numpy(dtype=float)
  if np.isnan(values).any():
    raise ValueError(f'numeric column {column.name!r} has missing values; fill or drop them')
  return values


def models(task, seed):
  """SDGym's models for a task.

  Args:
    task: 'binary', 'multiclass' or 'regression'.
    seed: the random_state of the models that draw.

  Returns:
    A list of (name, unfitted scikit-learn estimator).
  """
  if task == 'binary':
    return [
        ('DecisionTreeClassifier', DecisionTreeClassifier(max_depth=15, class_weight='balanced',
                                                          random_state=seed)),
        ('AdaBoostClassifier', AdaBoostClassifier(random_state=seed)),
        ('LogisticRegression', LogisticRegression(solver='lbfgs', class_weight='balanced',
                                                  max_iter=50)),
        ('MLPClassifier', MLPClassifier(hidden_layer_sizes=(50,), max_iter=50,
                                        random_state=seed)),
    ]
  if task == 'multiclass':
    return [
        ('DecisionTreeClassifier', DecisionTreeClassifier(max_depth=30, class_weight='balanced',
                                                          random_state=seed)),
        ('MLPClassifier', MLPClassifier(hidden_layer_sizes=(100,), max_iter=50,
                                        random_state=seed)),
    ]
  if task == 'regression':
    return [
        ('LinearRegression', LinearRegression()),
        ('MLPRegressor', MLPRegressor(hidden_layer_sizes=(100,), max_iter=50,
                                      random_state=seed)),
    ]
  raise ValueError(f'task={task!r}: choose from {", ".join(TASKS)}')


@dataclasses.dataclass(frozen=True)
class Efficacy:
  """Each model's test score trained on the real rows and on the synthetic ones.

  Attributes:
    task: 'binary', 'multiclass' or 'regression'.
    metric: the score the ratio is of: 'f1', 'macro_f1' or 'r2'.
    table: one row per model: model, real, synthetic, ratio (synthetic / real; NaN where
      the real score is not positive); binary adds accuracy_real, accuracy_synthetic,
      roc_auc_real, roc_auc_synthetic; multiclass adds accuracy_real, accuracy_synthetic.
    mean_ratio: the mean of the defined ratios.
    notes: what was done about degenerate inputs (a one-class synthetic target, rows with
      a class the real table lacks, undefined ratios).
  """
  task: str
  metric: str
  table: pd.DataFrame
  mean_ratio: float
  notes: tuple


def _subsample(frame, seed, max_rows):
  if len(frame) <= max_rows:
    return frame
  rows = np.sort(np.random.default_rng(seed).choice(len(frame), max_rows, replace=False))
  return frame.iloc[rows]


def _positive(real_target):
  """The real table's rarer class (the earlier in sorted order on a tie), whose F1 binary
  scores report."""
  counts = real_target.value_counts()
  rarest = counts[counts == counts.min()].index
  return sorted(rarest, key=str)[0]


def _classify(model, x, y, x_test, y_test, task, positive):
  """Scores of one classifier trained on (x, y); a one-class y gets the constant
  prediction of that class, as SDGym gives it, with AUC 0.5."""
  classes = np.unique(y)
  if len(classes) == 1:
    predicted = np.full(len(x_test), classes[0], dtype=object)
    probability = np.full(len(x_test), float(classes[0] == positive))
  else:
    model.fit(x, y)
    predicted = model.predict(x_test)
    probability = (model.predict_proba(x_test)[:, list(model.classes_).index(positive)]
                   if positive in model.classes_ else np.zeros(len(x_test)))
  scores = {'accuracy': accuracy_score(y_test, predicted)}
  if task == 'binary':
    scores['f1'] = f1_score(y_test, predicted, labels=[positive], average='macro',
                            zero_division=0.0)
    scores['roc_auc'] = (roc_auc_score(y_test == positive, probability)
                         if len(np.unique(y_test)) == 2 else float('nan'))
  else:
    scores['macro_f1'] = f1_score(y_test, predicted, average='macro', zero_division=0.0)
  return scores


def _score(task, estimator, x, y, x_test, y_test, positive):
  with warnings.catch_warnings():
    # SDGym's max_iter=50 stops MLP and logistic regression short on purpose.
    warnings.simplefilter('ignore', ConvergenceWarning)
    if task == 'regression':
      estimator.fit(x, y)
      return {'r2': r2_score(y_test, estimator.predict(x_test))}
    return _classify(estimator, x, y, x_test, y_test, task, positive)


def _labels(column, task):
  """The target as the models take it: numbers, or class names as text (scikit-learn
  refuses object arrays of integer or boolean classes)."""
  if task == 'regression':
    return _numeric(column)
  return column.astype(str).to_numpy()


def evaluate(real, synthetic, test, target, task, categorical=(), seed=0, max_rows=MAX_ROWS):
  """Trains SDGym's models on the real rows and on the synthetic rows, tests both on `test`.

  Args:
    real: the real training table.
    synthetic: the synthetic table, with the same columns.
    test: held-out real rows, with the same columns.
    target: the column predicted.
    task: 'binary', 'multiclass' or 'regression'.
    categorical: the names of the categorical columns (the target may be among them).
    seed: seeds the subsampling and the models; equal inputs and seed give equal results.
    max_rows: a training table with more rows is subsampled to this many, as SDGym does.

  Returns:
    An Efficacy.
  """
  if task not in TASKS:
    raise ValueError(f'task={task!r}: choose from {", ".join(TASKS)}')
  if target not in real.columns:
    raise ValueError(f'target {target!r} is not a column: {list(real.columns)}')
  notes = []
  positive = None
  if task != 'regression':
    known = synthetic[target].isin(real[target].unique())
    if not known.all():
      notes.append(f'{int((~known).sum())} synthetic rows have a {target} class the real '
                   'rows lack; they were dropped')
      synthetic = synthetic[known]
    if not len(synthetic):
      raise ValueError(f'no synthetic row has a {target} class of the real rows')
    if task == 'binary':
      positive = _positive(real[target].astype(str))
    for name, frame in (('real', real), ('synthetic', synthetic)):
      if frame[target].nunique() == 1:
        notes.append(f'the {name} {target} has one class ({frame[target].iloc[0]!r}): each '
                     'model predicts it for every test row')
  features = Features(real, categorical, scaling='sdgym', exclude=(target,))
  x_test, y_test = features.transform(test), _labels(test[target], task)
  trained = {}
  for name, frame in (('real', real), ('synthetic', synthetic)):
    frame = _subsample(frame, seed, max_rows)
    x, y = features.transform(frame), _labels(frame[target], task)
    trained[name] = [(model, _score(task, estimator, x, y, x_test, y_test, positive))
                     for model, estimator in models(task, seed)]
  metric = METRICS[task]
  rows = []
  for (model, real_scores), (_, synthetic_scores) in zip(trained['real'],
                                                          trained['synthetic']):
    ratio = (synthetic_scores[metric] / real_scores[metric] if real_scores[metric] > 0
             else float('nan'))
    if np.isnan(ratio):
      notes.append(f'{model}: the real-trained {metric} is {real_scores[metric]:.4g}, not '
                   'positive, so its ratio is undefined')
    row = {'model': model, 'real': real_scores[metric], 'synthetic': synthetic_scores[metric],
           'ratio': ratio}
    for extra in sorted(set(real_scores) - {metric}):
      row[f'{extra}_real'], row[f'{extra}_synthetic'] = real_scores[extra], synthetic_scores[
          extra]
    rows.append(row)
  table = pd.DataFrame(rows)
  ratios = table['ratio'].dropna()
  return Efficacy(task=task, metric=metric, table=table,
                  mean_ratio=float(ratios.mean()) if len(ratios) else float('nan'),
                  notes=tuple(notes))

