"""Evaluates a trained run's checkpoint: FID, KID, precision/recall, Inception Score, modes,
class accuracy.

  python scripts/evaluate.py --workdir=runs/mnist --evals=fid,kid,pr,is --num_samples=10000
  python scripts/evaluate.py --workdir=runs/mnist --step=best --evals=fid
  python scripts/evaluate.py --workdir=runs/quickstart --evals=modes --step=20000

Uses the run's own evaluators (the same on-device pipeline, reference statistics and fixed
latents as training-time evaluations, so `--num_samples` equal to the run's reproduces its
logged figures), with the weights evaluation uses (EMA, with their standing batch-norm
statistics). Prints a table and writes it as JSON to --out (default
WORKDIR/eval_STEP_NUM.json; an existing file is never overwritten). A run of several seeds
is evaluated seed by seed, with the mean and std over them.
"""
import json
import os
import sys

from absl import app, flags
from absl import logging as absl_logging

from gan_jax import checkpoint, evaluate, progress, seeds, train
from gan_jax.data.tfds import DataUnavailableError
from gan_jax.metrics import inception_weights, stats_files
from gan_jax.validation import ConfigError

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run directory with config.json and '
                               'checkpoints/.')
_EVALS = flags.DEFINE_list('evals', ['fid'], 'Evaluators: fid, kid, pr, is (image runs), '
                           'class_accuracy (conditional digits), modes (2-D mixtures).')
_NUM = flags.DEFINE_integer('num_samples', 10_000, 'Generated samples per evaluation.')
_STEP = flags.DEFINE_string('step', 'latest', "'latest', 'best' (by the run's best_metric) "
                            'or a saved step number.')
_OUT = flags.DEFINE_string('out', None, 'JSON output path (default: in the workdir).')
flags.mark_flags_as_required(['workdir'])

EVALS = tuple(n for n in evaluate.NAMES if n != 'grid')


def _config(workdir):
  """(the run's config.json with this script's evaluators and sample count, the run's own
  best_metric)."""
  try:
    config = checkpoint.read_run_config(workdir)
  except checkpoint.CheckpointError as e:
    sys.exit(f'error: {e}')
  bad = [n for n in _EVALS.value if n not in EVALS]
  if bad or not _EVALS.value:
    sys.exit(f'error: --evals={",".join(_EVALS.value)}: choose from {", ".join(EVALS)}')
  if _NUM.value <= 0:
    sys.exit(f'error: --num_samples={_NUM.value} must be positive')
  best_metric = config.best_metric
  config.evals = tuple(_EVALS.value)
  config.best_metric = ''  # The run's best_metric may be an evaluator not asked for here.
  config.fid.num_samples = config.num_eval_samples = _NUM.value
  return config, best_metric


def _step(ckpt, best_metric):
  """The checkpoint step --step names."""
  text = _STEP.value
  if text == 'latest':
    step = ckpt.latest_step()
  elif text == 'best':
    if not best_metric:
      sys.exit("error: --step=best needs a run trained with a best_metric; use --step=latest "
               'or a step number')
    step = ckpt.best_step()
  elif text.isdigit():
    step = int(text)
  else:
    sys.exit(f"error: --step={text!r}: use 'latest', 'best' or a step number")
  if step is None:
    sys.exit(f'error: no checkpoint in {ckpt.directory}')
  return step


def _table(metrics):
  rows = '\n'.join(f'| {k} | {v:.6g} |' for k, v in metrics.items())
  return f'| metric | value |\n|---|---|\n{rows}'


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)  # Keeps Orbax's restore chatter quiet.
  progress.log_to_console(sys.stderr)  # Progress lines; stdout keeps the result.
  config, best_metric = _config(_WORKDIR.value)
  try:
    saved = config.copy_and_resolve_references()
    saved.best_metric = best_metric  # Opens the best-N checkpoints too.
    with checkpoint.Checkpointer(_WORKDIR.value, saved, read_only=True) as ckpt:
      step = _step(ckpt, best_metric)
      out = _OUT.value or os.path.join(_WORKDIR.value, f'eval_{step}_{_NUM.value}.json')
      if os.path.exists(out):  # Before the run is built: a refusal costs no compile.
        sys.exit(f'error: {out} exists; pass another --out (nothing was overwritten)')
      run = train.Run(config)
      run.restore(ckpt, step)
    per_seed = []
    for index in range(len(run.seeds)):
      state, metrics = run.seed_state(index), {}
      for evaluator in run.evaluators.values():
        metrics.update(evaluator.run(state)[0])
      per_seed.append({k: float(v) for k, v in metrics.items()})
  except (ConfigError, checkpoint.CheckpointError, DataUnavailableError,
          inception_weights.WeightsUnavailableError, stats_files.StatsFileError) as e:
    sys.exit(f'error: {e}')
  except (AttributeError, KeyError) as e:
    sys.exit(f'error: {checkpoint.missing_field_message(_WORKDIR.value, e)}')
  record = {'workdir': _WORKDIR.value, 'step': step, 'num_samples': _NUM.value,
            'evals': list(config.evals)}
  if len(run.seeds) == 1:
    record.update(per_seed[0])
    table = _table(per_seed[0])
  else:
    record['per_seed'] = {str(seed): m for seed, m in zip(run.seeds, per_seed)}
    record.update(seeds.mean_std(per_seed))
    table = '\n\n'.join(f'seed {seed}:\n{_table(m)}' for seed, m in zip(run.seeds, per_seed))
    table += f'\n\nmean over {len(run.seeds)} seeds:\n{_table(record["mean"])}'
  with open(out, 'w', encoding='utf-8') as f:
    json.dump(record, f, indent=2)
  print(f'{_WORKDIR.value}, step {step}, {_NUM.value} samples:\n{table}\nwrote {out}')


if __name__ == '__main__':
  app.run(main)
