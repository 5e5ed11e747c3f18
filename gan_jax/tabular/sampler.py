"""CTGAN's training-by-sampling: a condition (one category of one categorical column), then a
training row having it.

A condition is a flat index c over the categories of all categorical columns, column 0's
first. CTGAN draws a column uniformly, then one of its categories by log-frequency,
log(1 + count), so rare categories are seen often enough for the generator to learn them;
then a real row uniformly among those with that category, for the critic. The drawing is a
pure jax function of (arrays, key), so it runs inside jit.
"""
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np


class SamplerArrays(NamedTuple):
  """The jnp arrays `sample` reads (ConditionSampler.arrays)."""
  log_prob: jnp.ndarray
  row_index: jnp.ndarray
  row_start: jnp.ndarray
  row_count: jnp.ndarray


class ConditionSampler:
  """The conditions of a table's training rows and the rows of each condition.

  Args:
    codes: int (N, columns), each training row's category index in each categorical column.
    sizes: the number of categories of each categorical column.

  Attributes:
    num_conditions: sum(sizes).
    log_prob: float32 (num_conditions,), log P(c) = log((1 / columns) * f(count_c) / sum of
      f(count) over c's column) with f(n) = log(1 + n), CTGAN's training distribution; -inf
      for a category no row has.
    data_log_prob: the same with f(n) = n, the data's own frequencies in a uniformly chosen
      column, by which CTGAN samples synthetic tables.
    column_of: int32 (num_conditions,), the categorical column of each condition.
    column_offset: int32 (columns,), the first condition of each column.
    row_index: int32 (N * columns,), row numbers grouped by condition, conditions in order.
    row_start, row_count: int32 (num_conditions,), each condition's slice of row_index.
  """

  def __init__(self, codes, sizes):
    codes = np.asarray(codes, np.int64)
    sizes = np.asarray(sizes, np.int64)
    if codes.ndim != 2 or codes.shape[1] != len(sizes) or not len(sizes):
      raise ValueError(f'codes of shape {codes.shape} do not match {len(sizes)} categorical '
                       'columns (at least one is needed)')
    if (codes < 0).any() or (codes >= sizes).any():
      raise ValueError('a category code is outside its column\'s 0..size-1')
    self.num_conditions = int(sizes.sum())
    self.column_offset = (np.cumsum(sizes) - sizes).astype(np.int32)
    self.column_of = np.repeat(np.arange(len(sizes)), sizes).astype(np.int32)
    flat = codes + self.column_offset  # (N, columns) condition of each row in each column
    counts = np.bincount(flat.reshape(-1), minlength=self.num_conditions).astype(np.float64)
    self.log_prob = self._column_log_prob(np.log1p(counts), len(sizes))
    self.data_log_prob = self._column_log_prob(counts, len(sizes))
    by_condition = flat.T.reshape(-1)  # column-major, so row numbers stay sorted per column
    order = np.argsort(by_condition, kind='stable')
    self.row_index = np.tile(np.arange(codes.shape[0]), len(sizes))[order].astype(np.int32)
    self.row_count = counts.astype(np.int32)
    self.row_start = (np.cumsum(self.row_count) - self.row_count).astype(np.int32)

  def _column_log_prob(self, weight, columns):
    """log((1 / columns) * weight / its column's total weight), float32."""
    column_total = np.bincount(self.column_of, weights=weight)[self.column_of]
    with np.errstate(divide='ignore'):  # An absent category has probability 0: log -inf.
      return np.log(weight / column_total / columns).astype(np.float32)

  def arrays(self):
    """The SamplerArrays of this sampler, as jnp arrays for `sample`."""
    return SamplerArrays(jnp.asarray(self.log_prob), jnp.asarray(self.row_index),
                         jnp.asarray(self.row_start), jnp.asarray(self.row_count))

  def condition_index(self, column_position, code):
    """The flat condition of category `code` of the `column_position`-th categorical column.

    Raises:
      ValueError: the column or the code is out of range.
    """
    sizes = np.diff(np.append(self.column_offset, self.num_conditions))
    if not 0 <= column_position < len(sizes):
      raise ValueError(f'categorical column {column_position} is not in 0..{len(sizes) - 1}')
    if not 0 <= code < sizes[column_position]:
      raise ValueError(f'category {code} of categorical column {column_position} is not in '
                       f'0..{sizes[column_position] - 1}')
    return int(self.column_offset[column_position] + code)


def sample(arrays, key, shape):
  """Draws conditions by log_prob and, for each, a training row having it.

  Args:
    arrays: SamplerArrays (ConditionSampler.arrays), possibly traced.
    key: a PRNG key.
    shape: the shape of the draws.
  Returns:
    (conditions int32 `shape`, rows int32 `shape`): rows[i] is uniform among the training
    rows whose column column_of[conditions[i]] has that category.
  """
  k_condition, k_row = jax.random.split(key)
  conditions = jax.random.categorical(k_condition, arrays.log_prob, shape=shape)
  count = arrays.row_count[conditions]
  offset = jax.random.randint(k_row, shape, 0, jnp.maximum(count, 1))
  rows = arrays.row_index[arrays.row_start[conditions] + offset]
  return conditions.astype(jnp.int32), rows.astype(jnp.int32)
