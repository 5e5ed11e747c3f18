"""CTGAN's data transformer: a table's rows to fixed-size float vectors and back.

Each continuous column is modelled by a variational Gaussian mixture (scikit-learn's
BayesianGaussianMixture with a Dirichlet-process prior, as CTGAN and rdt's
ClusterBasedNormalizer fit it), keeping the modes whose weight exceeds `weight_threshold`.
A value x is encoded by mode-specific normalisation: a mode k drawn from x's posterior over
the kept modes, then the scalar (x - mu_k) / (4 sigma_k) clipped to [-0.99, 0.99] and the
one-hot of k. Each categorical column is a one-hot of its sorted categories. Decoding takes
the modes and categories by argmax, so inverse(transform(frame)) gives the frame back:
exactly for categorical and integer columns, to float32 precision for float ones, except
a value more than 3.96 sigma from its drawn mode: it is clipped, as CTGAN clips it, which
here happens only to a value more than 3.96 sigma from every kept mode (an outlier).

Where this differs from CTGAN, on purpose:
- the posterior is the plain mixture posterior from the kept modes' weights, means and stds
  (not scikit-learn's variational predict_proba), so a transformer rebuilt by from_dict
  encodes exactly as the fitted one does;
- the draw is among the modes within 3.96 sigma of x when there is one (CTGAN now and then
  draws a mode farther away, a few values in ten thousand, and clips them);
- the draws come from a generator seeded by (seed, column): transform is a function of its
  input.
"""
import warnings
from typing import NamedTuple

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.mixture import BayesianGaussianMixture

CLIP = 0.99


class Span(NamedTuple):
  """Where one part of a column lives in an encoded row.

  Attributes:
    column: the column's name.
    start, size: its slice of the row.
    kind: 'scalar' (a continuous column's normalised value, size 1, tanh output), 'mode'
      (the one-hot of its mode, softmax output) or 'category' (a categorical column's
      one-hot, softmax output).
  """
  column: str
  start: int
  size: int
  kind: str


class TableTransformer:
  """Encodes a DataFrame's rows as CTGAN does and decodes encoded (or generated) rows.

  Args:
    max_modes: the mixture's components per continuous column (CTGAN: 10).
    weight_threshold: components with a larger weight are kept as modes (CTGAN: 0.005).
    seed: seeds the mixtures' fit and the draws of modes in transform.
  """

  def __init__(self, max_modes=10, weight_threshold=0.005, seed=0):
    self.max_modes = max_modes
    self.weight_threshold = weight_threshold
    self.seed = seed
    self._columns = None

  def fit(self, frame, categorical):
    """Fits the mixtures and category lists.

    Args:
      frame: a DataFrame without missing values.
      categorical: names of the categorical columns; every other column is continuous.
    Returns:
      self.
    Raises:
      ValueError: a name in `categorical` is not a column, or a column has missing values.
    """
    unknown = [c for c in categorical if c not in frame.columns]
    if unknown:
      raise ValueError(f'categorical columns {unknown} are not in the table; its columns: '
                       f'{", ".join(map(str, frame.columns))}')
    self._columns = []
    for name in frame.columns:
      column = frame[name]
      if column.isna().any():
        raise ValueError(f'column {name!r} has {int(column.isna().sum())} missing values')
      fit = self._fit_categorical if name in categorical else self._fit_continuous
      self._columns.append(fit(name, column))
    return self

  def _fit_continuous(self, name, column):
    values = column.to_numpy(np.float64)
    # A mixture cannot have more components than there are values.
    gm = BayesianGaussianMixture(
        n_components=min(self.max_modes, len(values)),
        weight_concentration_prior_type='dirichlet_process', weight_concentration_prior=0.001,
        max_iter=100, n_init=1, random_state=self.seed)
    with warnings.catch_warnings():
      # Like rdt's ClusterBasedNormalizer: 100 iterations are the budget, not a failure.
      warnings.simplefilter('ignore', ConvergenceWarning)
      gm.fit(values[:, None])
    keep = np.flatnonzero(gm.weights_ > self.weight_threshold)
    if not keep.size:  # A threshold above every weight still leaves the heaviest mode.
      keep = np.array([np.argmax(gm.weights_)])
    return {
        'kind': 'continuous', 'name': name, 'dtype': str(column.dtype),
        'integer': bool(np.all(values == np.round(values))),
        'low': float(values.min()), 'high': float(values.max()),
        'weights': gm.weights_[keep].tolist(), 'means': gm.means_[keep, 0].tolist(),
        'stds': np.sqrt(gm.covariances_[keep].reshape(-1)).tolist()}

  @staticmethod
  def _fit_categorical(name, column):
    values = column.drop_duplicates().tolist()
    try:
      values = sorted(values)
    except TypeError:  # Mixed types in an object column: sort them as text.
      values = sorted(values, key=str)
    return {'kind': 'categorical', 'name': name, 'dtype': str(column.dtype), 'values': values}

  def _fitted(self):
    if self._columns is None:
      raise ValueError('the TableTransformer is not fitted: call fit or from_dict first')
    return self._columns

  @property
  def spans(self):
    """(Span, ...) of every column part, in the order of an encoded row."""
    spans, start = [], 0
    for c in self._fitted():
      if c['kind'] == 'continuous':
        spans += [Span(c['name'], start, 1, 'scalar'),
                  Span(c['name'], start + 1, len(c['means']), 'mode')]
      else:
        spans.append(Span(c['name'], start, len(c['values']), 'category'))
      start = spans[-1].start + spans[-1].size
    return tuple(spans)

  @property
  def output_dim(self):
    """D, the length of an encoded row."""
    last = self.spans[-1]
    return last.start + last.size

  @property
  def condition_spans(self):
    """The 'category' spans, in order: their categories make CTGAN's conditional vector."""
    return tuple(s for s in self.spans if s.kind == 'category')

  @property
  def categories(self):
    """{categorical column: (its categories as the table has them, sorted), ...}."""
    return {c['name']: tuple(c['values']) for c in self._fitted() if c['kind'] == 'categorical'}

  def transform(self, frame):
    """Encodes rows.

    Args:
      frame: a DataFrame with (at least) the fitted columns.
    Returns:
      float32 (len(frame), output_dim).
    Raises:
      ValueError: a fitted column is absent, or a category was not seen by fit (naming the
        column and the value).
    """
    columns = self._fitted()
    absent = [c['name'] for c in columns if c['name'] not in frame.columns]
    if absent:
      raise ValueError(f'columns {absent} of the fitted table are not in the frame')
    parts = []
    for position, c in enumerate(columns):
      column = frame[c['name']]
      if c['kind'] == 'continuous':
        rng = np.random.default_rng([self.seed, position])
        parts += _normalise(column.to_numpy(np.float64), c, rng)
      else:
        parts.append(_one_hot(column, c))
    return np.concatenate(parts, axis=1).astype(np.float32)

  def inverse(self, rows):
    """Decodes encoded or generated rows (modes and categories by argmax).

    Args:
      rows: (N, output_dim) numbers; the scalars are clipped to [-1, 1] first.
    Returns:
      A DataFrame with the fitted columns in their order and dtypes: continuous values
      clipped to the fitted [min, max], rounded when the column held only integers.
    """
    rows = np.asarray(rows, np.float64)
    if rows.ndim != 2 or rows.shape[1] != self.output_dim:
      raise ValueError(f'rows of shape {rows.shape} are not (N, {self.output_dim})')
    out, start = {}, 0
    for c in self._fitted():
      if c['kind'] == 'continuous':
        size = len(c['means'])
        k = np.argmax(rows[:, start + 1:start + 1 + size], axis=1)
        s = np.clip(rows[:, start], -1, 1)
        x = np.clip(s * 4 * np.asarray(c['stds'])[k] + np.asarray(c['means'])[k],
                    c['low'], c['high'])
        values = np.round(x) if c['integer'] else x
        start += 1 + size
      else:
        size = len(c['values'])
        values = np.array(c['values'], dtype=object)[
            np.argmax(rows[:, start:start + size], axis=1)]
        start += size
      out[c['name']] = pd.Series(values).astype(c['dtype'])
    return pd.DataFrame(out)

  def to_dict(self):
    """The fitted transformer as JSON-serialisable data (from_dict rebuilds it)."""
    return {'max_modes': self.max_modes, 'weight_threshold': self.weight_threshold,
            'seed': self.seed, 'columns': [dict(c) for c in self._fitted()]}

  @classmethod
  def from_dict(cls, d):
    """The fitted transformer `to_dict` gave `d`: it encodes and decodes identically."""
    transformer = cls(d['max_modes'], d['weight_threshold'], d['seed'])
    transformer._columns = [dict(c) for c in d['columns']]  # pylint: disable=protected-access
    return transformer


def _normalise(x, c, rng):
  """[scalar (N, 1), mode one-hot (N, modes)] of a continuous column's values."""
  means, stds = np.asarray(c['means']), np.asarray(c['stds'])
  z = (x[:, None] - means) / stds
  log_post = np.log(c['weights']) - np.log(stds) - 0.5 * z ** 2
  # Drawing only among the modes that encode x unclipped keeps the round trip exact (CTGAN
  # now and then draws a mode 4 sigma away and clips); a value no mode covers keeps them all.
  covers = np.abs(z) < 4 * CLIP
  log_post = np.where(covers | ~covers.any(axis=1, keepdims=True), log_post, -np.inf)
  post = np.exp(log_post - log_post.max(axis=1, keepdims=True))
  cdf = np.cumsum(post, axis=1)
  u = rng.random(len(x))[:, None] * cdf[:, -1:]
  k = np.minimum((cdf <= u).sum(axis=1), len(means) - 1)
  scalar = np.clip(z[np.arange(len(x)), k] / 4, -CLIP, CLIP)
  return [scalar[:, None], _indicator(k, len(means))]


def _one_hot(column, c):
  """The one-hot (N, categories) of a categorical column, matching values as text."""
  index = {str(v): i for i, v in enumerate(c['values'])}
  codes = column.map(lambda v: index.get(str(v), -1)).to_numpy(np.int64)
  if (codes < 0).any():
    value = column.iloc[int(np.argmax(codes < 0))]
    raise ValueError(f'column {c["name"]!r} has the category {value!r}, not seen when the '
                     f'transformer was fitted (its categories: '
                     f'{", ".join(map(str, c["values"]))})')
  return _indicator(codes, len(c['values']))


def _indicator(codes, size):
  """float32 one-hots (N, size) of int codes (N,)."""
  out = np.zeros((len(codes), size), np.float32)
  out[np.arange(len(codes)), codes] = 1
  return out
