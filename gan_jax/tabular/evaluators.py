"""The tables' evaluators (config.evals): a synthetic table decoded from fixed latents and
conditions, judged against the real training rows and the held-out test rows.

  similarity: SDMetrics' quality report (similarity.py) and pictures of every column and
    of the correlations (report.py).
  efficacy: SDGym's machine-learning efficacy (efficacy.py).
  privacy: detection of synthetic rows by a classifier and distance to the closest record
    (privacy.py).
Every evaluation of a run draws the same inputs (from the run's key), so successive figures
differ only because the generator changed.
"""
import jax
import numpy as np

from gan_jax import models, parallel
from gan_jax.state import sampling_params
from gan_jax.tabular import efficacy, privacy, report, similarity, synthesis

class SyntheticTable:
  """The synthetic table every tables' evaluator of a run judges, made once per evaluation.

  One compiled generator over fixed inputs drawn from the run's key; the decoded table is
  kept for the state it came from, so the similarity, efficacy and privacy evaluators of one
  evaluation share it.

  Args:
    config: the experiment config (z_dim, tabular.eval_rows).
    dataset: the TableData.
    g_model: the generator.
    mesh: the device mesh.
  """

  def __init__(self, config, dataset, g_model, mesh):
    num_rows = config.tabular.eval_rows or len(dataset.table.train)
    logits = dataset.sample_logits

    def generate(params, model_state, run_key):
      z, labels = synthesis.draw_inputs(jax.random.fold_in(run_key, 0x7AB1E), num_rows,
                                        config.z_dim, logits)
      return models.apply(g_model, params, model_state, z, labels, train=False)[0]

    self._generate = jax.jit(generate, out_shardings=parallel.replicated(mesh))
    self._transformer = dataset.transformer
    self._made = (None, None)  # (the sampling weights' first leaf, their table)

  def of(self, state):
    """The synthetic DataFrame of `state` (the run's evaluation view of one seed)."""
    params = sampling_params(state)
    leaf = jax.tree.leaves(params)[0]
    if self._made[0] is not leaf:  # Arrays are immutable: the same leaf, the same weights.
      rows = parallel.fetch(self._generate(params, state.g_model_state, state.key))
      self._made = (leaf, self._transformer.inverse(np.asarray(rows, np.float32)))
    return self._made[1]


class TableEvaluator:
  """One of the tables' evaluators, by name.

  Args:
    name: 'similarity', 'efficacy' or 'privacy' (evaluate.TABLE_METRICS).
    config: the experiment config (seed, tabular.efficacy_max_rows).
    dataset: the TableData.
    synthetic: the run's SyntheticTable, shared by its tables' evaluators.
  """

  def __init__(self, name, config, dataset, synthetic):
    self.name = name
    self.table = dataset.table
    self._max_rows = config.tabular.efficacy_max_rows or efficacy.MAX_ROWS
    self._synthetic = synthetic
    self._seed = config.seed

  def run(self, state):
    """Returns (metrics, artifacts); the similarity evaluator's artifacts draw PNGs."""
    t = self.table
    synthetic = self._synthetic.of(state)
    if self.name == 'similarity':
      quality = similarity.quality_report(t.train, synthetic, t.categorical)
      figures = {
          'columns': lambda path: report.plot_columns(path, t.train, synthetic, t.categorical),
          'correlations': lambda path: report.plot_correlations(path, t.train, synthetic,
                                                                t.categorical)}
      return {'quality_score': quality.quality_score, 'column_shapes': quality.column_shapes,
              'column_pair_trends': quality.column_pair_trends}, {'figures': figures}
    if self.name == 'efficacy':
      scores = efficacy.evaluate(t.train, synthetic, t.test, t.target, t.task, t.categorical,
                                 seed=self._seed, max_rows=self._max_rows)
      return {'efficacy_ratio': scores.mean_ratio,
              'efficacy_real': float(scores.table['real'].mean()),
              'efficacy_synthetic': float(scores.table['synthetic'].mean())}, {}
    detection = privacy.detection(t.train, synthetic, t.categorical, seed=self._seed,
                                  boosted=False)
    dcr = privacy.distance_to_closest_record(t.train, synthetic, t.test, t.categorical)
    return {'detection_auc': detection.auc, 'detection_score': detection.score,
            **{f'dcr_{k}': float(dcr.summary[k]) for k in
               ('synthetic_median', 'test_median', 'closer_than_test_p5', 'exact_copies')}}, {}
