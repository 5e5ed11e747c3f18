"""Runs named config variants over several seeds and prints a markdown table of their final
evaluation metrics (mean and standard deviation over seeds).

  python scripts/sweep.py --config=configs/quickstart.py --workdir=runs/sweep \
      --base=dataset=grid25,r1_gamma=0,ema_decay=0,num_steps=10000 \
      --variant=plain: --variant=unrolled5:unrolled_steps=5 \
      --variant=minibatch:d_minibatch=discrimination --variant=pacgan2:pac=2 \
      --variant=wgan_gp:loss=wgan_gp --seeds=0,1,2 --metrics=modes,hq_fraction

Each run is `python -m gan_jax.main` in WORKDIR/VARIANT/seed_S (rerunning resumes or skips
finished runs); overrides are FIELD=VALUE pairs as on the command line.
"""
import os
import sys
import time

from absl import app, flags
import numpy as np

from gan_jax import launch, progress

_CONFIG = flags.DEFINE_string('config', 'configs/quickstart.py', 'Base config file.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory of all the runs.')
_BASE = flags.DEFINE_string('base', '', 'Overrides for every variant: FIELD=VALUE,...')
_VARIANTS = flags.DEFINE_multi_string('variant', None, 'NAME:FIELD=VALUE,... (repeatable).')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1', '2'], 'Seeds.')
_METRICS = flags.DEFINE_list('metrics', ['modes', 'hq_fraction'], 'Summary metrics to report.')
flags.mark_flags_as_required(['workdir', 'variant'])


def _overrides(text):
  pairs = [p for p in text.split(',') if p]
  bad = [p for p in pairs if '=' not in p]
  if bad:
    sys.exit(f'error: override {bad[0]!r} is not FIELD=VALUE')
  return pairs


def run_one(name, overrides, seed):
  """Trains one variant and seed (or reuses its finished run); returns its summary."""
  try:
    return launch.train_once(_CONFIG.value, os.path.join(_WORKDIR.value, name, f'seed_{seed}'),
                             seed, overrides)
  except launch.LaunchError as e:
    sys.exit(f'error: {name} {e}')


class _Runs:
  """Counts the sweep's runs and prints one line per finished run with an ETA (stderr, so
  the table on stdout stays clean)."""

  def __init__(self, total):
    self.total, self.done, self.start = total, 0, time.time()

  def finished(self, name, seed, seconds):
    self.done += 1
    elapsed = time.time() - self.start
    print(f'[{self.done}/{self.total}] {name} seed {seed}: {seconds:.0f} s; sweep '
          f'{progress.format_seconds(elapsed)} so far, ETA '
          f'{progress.format_seconds(progress.eta(self.done, self.total, elapsed))}',
          file=sys.stderr, flush=True)


def main(argv):
  del argv
  base = _overrides(_BASE.value)
  rows = []
  runs = _Runs(len(_VARIANTS.value) * len(_SEEDS.value))
  for variant in _VARIANTS.value:
    name, _, text = variant.partition(':')
    summaries = []
    for seed in _SEEDS.value:
      summaries.append(run_one(name, base + _overrides(text), seed))
      runs.finished(name, seed, summaries[-1]['seconds'])
    cells = []
    for metric in _METRICS.value:
      missing = [seed for seed, s in zip(_SEEDS.value, summaries) if metric not in s]
      if missing:
        offered = sorted(k for k, v in summaries[0].items() if isinstance(v, (int, float)))
        sys.exit(f'error: --metrics names {metric!r}, which the {name} run of seed '
                 f'{missing[0]} did not report; its summary has: {", ".join(offered)}')
      values = np.array([float(s[metric]) for s in summaries])
      cells.append(f'{values.mean():.3g} ± {values.std():.2g} '
                   f'({", ".join(f"{v:.3g}" for v in values)})')
    seconds = np.mean([s['seconds'] for s in summaries])
    rows.append(f'| {name} | {text or "-"} | ' + ' | '.join(cells) + f' | {seconds:.0f} |')
  print(f'| variant | overrides | {" | ".join(_METRICS.value)} | seconds/run |')
  print('|---|---|' + '---|' * len(_METRICS.value) + '---|')
  print('\n'.join(rows))


if __name__ == '__main__':
  app.run(main)
