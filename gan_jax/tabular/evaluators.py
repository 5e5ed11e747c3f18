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

from gan_jax import evaluate
from gan_jax.tabular import efficacy, privacy, report, similarity, synthesis

class TableEvaluator:
  """One of the tables' evaluators, by name.

  Args:
    name: 'similarity', 'efficacy' or 'privacy' (evaluate.TABLE_METRICS).
    config: the experiment config (z_dim, tabular.eval_rows, tabular.efficacy_max_rows).
    dataset: the TableData.
    g_model: the generator.
    mesh: the device mesh.
  """

  def __init__(self, name, config, dataset, g_model, mesh):
    self.name = name
    self.table = dataset.table
    self._max_rows = config.tabular.efficacy_max_rows or efficacy.MAX_ROWS
    num_rows = config.tabular.eval_rows or len(self.table.train)
    self._num_rows, self._z_dim = num_rows, config.z_dim
    self._dataset, self._g_model, self._mesh = dataset, g_model, mesh
    self._seed = config.seed

  def _synthetic(self, state):
    key = jax.random.fold_in(state.key, 0x7AB1E)
    z, labels = synthesis.draw_inputs(key, self._num_rows, self._z_dim,
                                      self._dataset.sample_logits)
    return synthesis.make_table_sampler(self._dataset, self._g_model, self._mesh, z,
                                        labels)(state)

  def run(self, state):
    """Returns (metrics, artifacts); the similarity evaluator's artifacts draw PNGs."""
    t = self.table
    synthetic = self._synthetic(state)
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
