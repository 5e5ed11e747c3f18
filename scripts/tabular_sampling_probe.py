"""Samples a trained tabular run four ways and scores each: gan_jax's sampling against the
two things ctgan's `sample()` does differently.

  python scripts/tabular_sampling_probe.py --workdir=runs/ctgan_default --out=runs/probe

- Batch norm: the running averages (gan_jax) or each batch's own statistics (ctgan never
  puts its generator in eval mode).
- Conditions: drawn as the data has them, a column uniformly and then a category by its
  frequency (gan_jax), or by training-by-sampling's log-frequency (ctgan: its
  `sample_original_condvec` normalises `_discrete_column_category_prob`, which holds the
  log-frequency probabilities when `log_frequency` is on, its default).

The same latents feed every way, and the same conditions both batch-norm ways: as many
batches of the run's batch size as cover the training split's rows, truncated to that many
rows (as ctgan draws whole batches). Writes OUT/WAY/report.md (gan_jax.tabular.report against
the run's own training and test splits; WAY is e.g. running_averages+data_frequency) and
OUT/probe.json, and prints every way's figures.
"""
import json
import math
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
import jax
import numpy as np

from gan_jax import checkpoint, evaluate, models, train
from gan_jax.tabular import report, synthesis

_WORKDIR = flags.DEFINE_string('workdir', None, 'A finished tabular (model=ctgan) run.')
_OUT = flags.DEFINE_string('out', None, 'Output folder (must not hold probe.json).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents and conditions.')
flags.mark_flags_as_required(['workdir', 'out'])

SHOWN = ('efficacy_ratio', 'quality_score', 'column_shapes', 'column_pair_trends',
         'detection_auc')


def _restored_run(workdir):
  """The run of `workdir` with its latest checkpoint; exits with one line when there is none."""
  try:
    config = checkpoint.read_run_config(workdir)
  except checkpoint.CheckpointError as e:
    sys.exit(f'error: {e}')
  if config.model != 'ctgan':
    sys.exit(f'error: --workdir={workdir} holds a model={config.model!r} run; the probe '
             'samples tabular (model=ctgan) runs')
  try:
    run = train.Run(config)
  except (AttributeError, KeyError) as e:
    sys.exit(f'error: {checkpoint.missing_field_message(workdir, e)}')
  with checkpoint.Checkpointer(workdir, config, read_only=True) as ckpt:
    if ckpt.latest_step() is None:
      sys.exit(f'error: no checkpoint in {ckpt.directory}')
    run.restore(ckpt)
  return run


def _rows_both_ways(run, z, labels):
  """Generator outputs for (z, labels) with running averages (the library's sampler) and
  with per-batch statistics."""
  config, state = run.config, run.seed_state(0)
  averages = np.asarray(evaluate.make_sampler(run.g_model, run.mesh, z, labels)(state),
                        np.float32)
  params, model_state = evaluate.sampling_params(state), state.g_model_state
  local = config.copy_and_resolve_references()
  local.sync_batch_stats = False  # Training-mode batch norm outside shard_map; same variables.
  g_local = models.build(local, run.dataset.sample_shape, run.dataset.layout)[0]
  per_batch = jax.jit(lambda z, y: models.apply(g_local, params, model_state, z, y,
                                                train=True)[0])
  b = config.batch_size
  batches = [np.asarray(per_batch(z[i:i + b], None if labels is None else labels[i:i + b]),
                        np.float32) for i in range(0, len(z), b)]
  return averages, np.concatenate(batches)


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)
  out_json = os.path.join(_OUT.value, 'probe.json')
  if os.path.exists(out_json):
    sys.exit(f'error: {out_json} exists; pass another --out (nothing was overwritten)')
  run = _restored_run(_WORKDIR.value)
  config = run.config
  table = run.dataset.table  # The run's own splits.
  n = len(table.train)
  drawn = math.ceil(n / config.batch_size) * config.batch_size
  results = {}
  # An unconditional run has no conditions to draw: one way of drawing them.
  frequencies = synthesis.CONDITION_FREQUENCIES if run.dataset.num_classes else ('data',)
  for frequency in frequencies:
    z, labels = synthesis.draw_inputs(jax.random.PRNGKey(_SEED.value), drawn, config.z_dim,
                                      synthesis.condition_logits(run.dataset, frequency))
    for statistics, rows in zip(('running_averages', 'batch_statistics'),
                                _rows_both_ways(run, z, labels)):
      name = f'{statistics}+{frequency}_frequency'
      frame = run.dataset.transformer.inverse(rows[:n])
      numbers = report.write_report(os.path.join(_OUT.value, name), table.train,
                                    frame[list(table.train.columns)], table.test,
                                    table.categorical, table.target, table.task,
                                    seed=_SEED.value)
      results[name] = {k: v for k, v in numbers.items() if isinstance(v, float)}
      print(f'{name}: ' + ' '.join(f'{k}={results[name][k]:.4f}' for k in SHOWN), flush=True)
  with open(out_json, 'w', encoding='utf-8') as f:
    json.dump(results, f, indent=2)


if __name__ == '__main__':
  app.run(main)
