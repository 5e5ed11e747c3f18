"""A table as a dataset: its training rows encoded by CTGAN's transformer, held on device,
batched by CTGAN's training-by-sampling (data/__init__ names the batch contract).

Each real row of a batch is drawn for a condition: a categorical column chosen uniformly,
one of its categories by log-frequency, then a training row having it (CTGAN's sampler;
gan_jax/tabular/sampler.py). The batch's 'y' holds those conditions, so the step's
conditional machinery (labels for the critic, y_fake for the generator) carries CTGAN's
conditional vector. Like every dataset here a batch is a function of (seed, step) alone:
rows are drawn with replacement from fold_in(data key, step), as CTGAN draws them.
"""
import dataclasses
import logging

import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import NamedSharding, PartitionSpec as P

from gan_jax import seeds
from gan_jax.tabular import sampler as sampler_lib
from gan_jax.tabular import tables, transformer as transformer_lib

log = logging.getLogger('gan_jax')


@dataclasses.dataclass(frozen=True)
class RowLayout:
  """Where each column lives in an encoded row: what the CTGAN networks are built from.

  Attributes:
    spans: ((start, size, kind), ...) covering the row; kind 'scalar' (a continuous
      column's normalised value, tanh) or 'softmax' (a one-hot: modes or categories).
    condition_spans: ((start, size), ...) of the categorical columns' one-hots, whose
      categories (concatenated, in this order) the conditions index.
  """
  spans: tuple
  condition_spans: tuple


def layout_of(transformer):
  """The RowLayout of a fitted TableTransformer."""
  spans = tuple((s.start, s.size, 'scalar' if s.kind == 'scalar' else 'softmax')
                for s in transformer.spans)
  return RowLayout(spans, tuple((s.start, s.size) for s in transformer.condition_spans))


def category_codes(transformer, rows):
  """Each categorical column's category index (N, columns) in encoded `rows` (N, D)."""
  return np.stack([np.argmax(rows[:, s.start:s.start + s.size], axis=1)
                   for s in transformer.condition_spans], axis=1)


class TableData:
  """A registered table or csv:PATH, split, encoded and sampled on device.

  Attributes:
    table: the loaded tables.Table (train and test DataFrames, categorical, target, task).
    transformer: the TableTransformer fitted on the training rows.
    layout: the RowLayout the models are built from.
    sample_shape: (D,), one encoded row.
    num_classes: the number of conditions (all categories of all categorical columns), 0
      when the table has no categorical column or config.tabular.conditional is False.
    condition_sampler: the ConditionSampler of the training rows (None when unconditional).
    train_logits: log-probabilities of the conditions under training-by-sampling (None when
      unconditional): the generator's conditions during training.
    sample_logits: log-probabilities of the conditions as the data has them (a column
      uniformly, then a category by its frequency), for sampling synthetic tables: averaged
      over conditions, the generator's rows then follow the data's distribution.

  Args:
    config: experiment config (dataset, seed, batch_size, n_critic, tabular.*).
    mesh: the device mesh.
  """

  def __init__(self, config, mesh):
    t = config.tabular
    self.name = config.dataset
    self.table = tables.load(config.dataset, target=t.target,
                             categorical=_names(t.categorical), test_fraction=t.test_fraction,
                             seed=t.split_seed, missing=t.missing)
    self.transformer = transformer_lib.TableTransformer(
        max_modes=t.max_modes, weight_threshold=t.weight_threshold, seed=t.split_seed)
    self.transformer.fit(self.table.train, self.table.categorical)
    rows = self.transformer.transform(self.table.train).astype(np.float32)
    self.layout = layout_of(self.transformer)
    self.sample_shape = (rows.shape[1],)
    log.info('table %s: %d training rows, %d test rows, %d columns -> rows of %d numbers',
             self.name, len(self.table.train), len(self.table.test),
             len(self.table.train.columns), rows.shape[1])
    replicated = NamedSharding(mesh, P())
    self.rows = jax.device_put(rows, replicated)
    conditional = t.conditional and bool(self.transformer.condition_spans)
    self.condition_sampler = self.train_logits = self.sample_logits = None
    self.num_classes = 0
    arrays_ = None
    if conditional:
      codes = category_codes(self.transformer, rows)
      sizes = [s.size for s in self.transformer.condition_spans]
      self.condition_sampler = sampler_lib.ConditionSampler(codes, sizes)
      self.num_classes = self.condition_sampler.num_conditions
      self.train_logits = self.condition_sampler.log_prob
      self.sample_logits = self.condition_sampler.data_log_prob
      arrays_ = jax.device_put(self.condition_sampler.arrays(), replicated)
    self._condition_arrays = arrays_
    self._keys = seeds.keys(config, 0x7AB1E)
    shape = (config.n_critic, config.batch_size)
    self._batch_at = jax.jit(
        seeds.vmap(config, lambda r, a, step, key: self._draw(r, a, step, key, shape),
                   in_axes=(None, None, None, 0)),
        out_shardings=seeds.batch_sharding(config, mesh))

  def _draw(self, rows, condition_arrays, step, key, shape):
    key = jax.random.fold_in(key, step)
    if condition_arrays is None:
      return {'x': rows[jax.random.randint(key, shape, 0, rows.shape[0])]}
    conditions, idx = sampler_lib.sample(condition_arrays, key, shape)
    return {'x': rows[idx], 'y': conditions}

  def condition_of(self, column, value):
    """The flat condition index of category `value` (compared as text) of `column`.

    Raises:
      ValueError: (one line) the column is not a categorical column of the table, the model
        is unconditional, or the value is not one of the column's categories.
    """
    if self.condition_sampler is None:
      raise ValueError('this run\'s generator is unconditional (tabular.conditional=False '
                       'or no categorical column)')
    columns = [s.column for s in self.transformer.condition_spans]
    if column not in columns:
      raise ValueError(f'{column!r} is not a categorical column; choose one of: '
                       f'{", ".join(columns)}')
    categories = [str(v) for v in self.transformer.categories[column]]
    if value not in categories:
      raise ValueError(f'{value!r} is not a category of {column!r}; its categories: '
                       f'{", ".join(categories)}')
    return self.condition_sampler.condition_index(columns.index(column),
                                                  categories.index(value))

  def batch_at(self, step):
    """Returns the batch of training step `step` (one per seed, stacked, for num_seeds > 1)."""
    return self._batch_at(self.rows, self._condition_arrays, jnp.int32(step), self._keys)


def resolve(config, dataset):
  """Sets the config fields a table decides: num_classes (its number of conditions) and,
  with tabular.epochs > 0, num_steps = epochs x CTGAN's steps per epoch (training rows //
  batch_size, at least 1)."""
  config.num_classes = dataset.num_classes
  if config.tabular.epochs > 0:
    per_epoch = max(len(dataset.table.train) // config.batch_size, 1)
    config.num_steps = config.tabular.epochs * per_epoch
    log.info('tabular.epochs=%d of %d steps: num_steps=%d', config.tabular.epochs,
             per_epoch, config.num_steps)


def _names(spec):
  """A comma-separated list of column names, or None when empty (inferred)."""
  names = [n.strip() for n in spec.split(',') if n.strip()] if spec else []
  return names or None

