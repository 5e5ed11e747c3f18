"""Synthetic tables from a CTGAN generator: latents and conditions in, decoded rows out."""
import jax
import numpy as np

from gan_jax import evaluate


# How synthetic rows' conditions are drawn: 'data', as the data has them (a column uniformly,
# then a category by its frequency), or 'log', by training-by-sampling's log-frequency, as
# ctgan's sample() draws them (rare categories more often than in the data).
CONDITION_FREQUENCIES = ('data', 'log')


def condition_logits(dataset, frequency):
  """The log-probabilities to draw a table's synthetic conditions from.

  Args:
    dataset: the TableData.
    frequency: one of CONDITION_FREQUENCIES.
  Returns:
    dataset.sample_logits for 'data', dataset.train_logits for 'log'; None for an
    unconditional run.
  """
  return dataset.train_logits if frequency == 'log' else dataset.sample_logits


def draw_inputs(key, num_rows, z_dim, condition_logits=None, condition=None):
  """Latents and conditions for `num_rows` synthetic rows.

  Args:
    key: a PRNG key.
    num_rows: rows to draw.
    z_dim: the latent size.
    condition_logits: log-probabilities of the conditions (the dataset's sample_logits: a
      categorical column uniformly, then a category by its frequency, as CTGAN samples), or
      None for an unconditional generator.
    condition: one flat condition index for every row (conditional sampling), or None.
  Returns:
    (z float32 (num_rows, z_dim), labels int32 (num_rows,) or None).
  """
  k_z, k_y = jax.random.split(key)
  z = jax.random.normal(k_z, (num_rows, z_dim))
  if condition_logits is None:
    return z, None
  if condition is not None:
    return z, np.full((num_rows,), condition, np.int32)
  return z, jax.random.categorical(k_y, np.asarray(condition_logits), shape=(num_rows,))


def make_table_sampler(dataset, g_model, mesh, z, labels=None):
  """A function state -> a synthetic DataFrame with the table's columns, from fixed inputs.

  Args:
    dataset: the TableData (its transformer decodes the rows).
    g_model: the generator.
    mesh: the device mesh.
    z, labels: the inputs (draw_inputs).
  Returns:
    sample(state) -> pandas DataFrame of len(z) rows, the columns and dtypes of the table.
  """
  generate = evaluate.make_sampler(g_model, mesh, z, labels)
  return lambda state: dataset.transformer.inverse(np.asarray(generate(state), np.float32))
