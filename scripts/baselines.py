"""Regenerates a table of BASELINES.md: the published mode-coverage tables, retrained.

  python scripts/baselines.py --table=ring --seeds=10
  python scripts/baselines.py --table=grid --seeds=10 --steps=20000
  python scripts/baselines.py --table=stacked_mnist --seeds=3 --rows=dcgan,pacgan4
  python scripts/baselines.py --table=grid --seeds=5 --steps=20000 --eval_every=2000 \
      --rows=gan,pacgan2,best
  python scripts/baselines.py --table=grid --seeds=10 --seeds_per_run=5 --steps=20000 \
      --eval_every=2000 --rows=gan,pacgan2,best     # the runs above, and seeds 5-9

Each row of a table is one experiment config variant, trained as one process of
--config.num_seeds=SEEDS (seeds 0 .. SEEDS-1 in one compiled program) for --steps steps, the
same budget for every row, and scored by its final evaluation. With --seeds_per_run=K a row
is trained as runs of K seeds (0 .. K-1, then K .. 2K-1, ...) pooled into one row, so
--seeds=10 --seeds_per_run=5 reuses a row's 5-seed run and trains only seeds 5-9. With
--eval_every=N each run is also evaluated every N steps, and the section adds each metric's
learning curve (mean +- std over seeds at every evaluation, a column per row). Runs live in
WORKDIR/TABLE/ROW_sK_nSTEPS (ROW_sK_fromF_nSTEPS for seeds F .. F+K-1; plus _eN with
--eval_every); a finished one (with its summary.json) is reused, an interrupted one resumes.
The script then rewrites the table's section of --out: our rows (mean +- std over seeds),
the published rows with their source, the command, the commits that trained the rows (each
run's segments.jsonl) and the one checked out, the machine and the wall time. A budget other
than the table's default has a section of its own (TABLE_nSTEPS), so a longer run does not
replace the default table.
Sections of other tables and budgets in the file are left as they are.
"""
import dataclasses
import math
import os
import platform
import sys

from absl import app, flags
import numpy as np

from gan_jax import launch, provenance, writers

_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


@dataclasses.dataclass(frozen=True)
class Table:
  """One published table and the configs that reproduce its rows.

  Attributes:
    title: the section heading.
    config: the experiment config file; each row is one of its variants.
    rows: (row name, config variant) pairs, in table order.
    metrics: (metric, column heading, scale) triples of the final evaluation.
    published: row name -> the published cell text, per metric column.
    source: where the published rows come from.
    steps: the default budget (steps per run) on this project's CPU.
    budget: the paper's budget, for the note beside the table.
  """
  title: str
  config: str
  rows: tuple
  metrics: tuple
  published: dict
  source: str
  steps: int
  budget: str


_MIXTURE_METRICS = (('modes', 'modes', 1.0), ('hq_fraction', 'high quality %', 100.0),
                    ('mode_kl', 'reverse KL', 1.0))
_MIXTURE_ROWS = (('GAN', 'gan'), ('PacGAN2', 'pacgan2'), ('PacGAN3', 'pacgan3'),
                 ('PacGAN4', 'pacgan4'), ('minibatch discrimination', 'minibatch'),
                 ('unrolled GAN (5 steps)', 'unrolled'), ('WGAN-GP', 'wgan_gp'),
                 ('gan_jax best (R1 + EMA + PacGAN2)', 'best'))
_PACGAN_TABLE_1 = 'Lin et al. 2018 (PacGAN), Table 1: 10 trials, 400 epochs of 100k samples'
TABLES = {
    'ring': Table(
        title='2-D ring: 8 Gaussians on the unit circle, std 0.01 (max 8 modes)',
        config='configs/pacgan_ring.py', rows=_MIXTURE_ROWS, metrics=_MIXTURE_METRICS,
        published={'GAN': ('6.3 +- 0.5', '98.2 +- 0.2', '0.45 +- 0.09'),
                   'ALI': ('6.6 +- 0.3', '97.6 +- 0.4', '0.36 +- 0.04'),
                   'PacGAN2': ('7.9 +- 0.1', '95.6 +- 2.0', '0.07 +- 0.03'),
                   'PacGAN3': ('7.8 +- 0.1', '97.7 +- 0.3', '0.10 +- 0.02'),
                   'PacGAN4': ('7.8 +- 0.1', '95.9 +- 1.4', '0.07 +- 0.02')},
        source=_PACGAN_TABLE_1, steps=1_000, budget='400k steps of batch 100'),
    'grid': Table(
        title='2-D grid: 25 Gaussians at {-4,-2,0,2,4}^2, std 0.05 (max 25 modes)',
        config='configs/pacgan_grid.py', rows=_MIXTURE_ROWS, metrics=_MIXTURE_METRICS,
        published={'GAN': ('17.3 +- 0.8', '94.8 +- 0.7', '0.70 +- 0.07'),
                   'ALI': ('24.1 +- 0.4', '95.7 +- 0.6', '0.14 +- 0.03'),
                   'PacGAN2': ('23.8 +- 0.7', '91.3 +- 0.8', '0.13 +- 0.04'),
                   'PacGAN3': ('24.6 +- 0.4', '94.2 +- 0.4', '0.06 +- 0.02'),
                   'PacGAN4': ('24.8 +- 0.2', '93.6 +- 0.6', '0.04 +- 0.01')},
        source=_PACGAN_TABLE_1, steps=1_000, budget='400k steps of batch 100'),
    'stacked_mnist': Table(
        title='Stacked MNIST: 1,000 modes, D = 1/4 G',
        config='configs/stacked_mnist.py',
        rows=(('DCGAN', 'dcgan'), ('PacDCGAN2', 'pacgan2'), ('PacDCGAN4', 'pacgan4'),
              ('unrolled GAN (10 steps)', 'unrolled'),
              ('gan_jax best (R1 + EMA + PacGAN2)', 'best')),
        metrics=(('modes', 'modes', 1.0), ('mode_kl', 'KL', 1.0)),
        published={'DCGAN': ('78.5 +- 17.6', '5.21 +- 0.19'),
                   'unrolled GAN (10 steps)': ('327.2 +- 74.7', '4.66 +- 0.46'),
                   'PacDCGAN2': ('484.5 +- 33.0', '2.61 +- 0.22'),
                   'PacDCGAN4': ('667.4 +- 29.0', '1.81 +- 0.15')},
        source='Lin et al. 2018 (PacGAN), Table 3 (D = 1/4 G), after Metz et al. 2017',
        steps=2_000, budget='500k steps of batch 128'),
}

_TABLE = flags.DEFINE_enum('table', None, list(TABLES), 'Which table to regenerate.')
_SEEDS = flags.DEFINE_integer('seeds', 10, 'Seeds per row, 0 .. SEEDS-1.')
_SEEDS_PER_RUN = flags.DEFINE_integer(
    'seeds_per_run', 0, 'Train each row as runs of this many seeds (0: one run of every '
    'seed), so a row can grow by more seeds without retraining the ones it has.')
_STEPS = flags.DEFINE_integer('steps', 0, "Training steps per run, the same for every row "
                              "(0: the table's default CPU budget).")
_EVAL_EVERY = flags.DEFINE_integer('eval_every', 0, 'Also evaluate every N steps and write '
                                   'learning curves (0: only the final evaluation).')
_ROWS = flags.DEFINE_list('rows', [], 'Config variants to train (default: every row).')
_WORKDIR = flags.DEFINE_string('workdir', os.path.join(_ROOT, 'runs', 'baselines'),
                               'Where the runs live.')
_OUT = flags.DEFINE_string('out', os.path.join(_ROOT, 'BASELINES.md'), 'The Markdown file.')
flags.mark_flag_as_required('table')


def _cell(values, scale):
  """'mean +- std' of one metric over seeds; seeds without a value (NaN) are left out."""
  values = np.asarray(values, np.float64) * scale
  finite = values[np.isfinite(values)]
  if not finite.size:
    return 'n/a'
  digits = _digits(scale, finite.mean())
  text = f'{finite.mean():.{digits}f} +- {finite.std():.{digits}f}'
  missing = values.size - finite.size
  return text + (f' ({missing} seeds n/a)' if missing else '')


def _digits(scale, mean):
  """Decimals: 1 for percentages, 2 otherwise, more where the mean needs them to show two
  significant digits (a reverse KL of 0.0015 is not 0.00)."""
  digits = 1 if scale != 1.0 else 2
  if 0 < abs(mean) < 10.0 ** (1 - digits):
    digits = 1 - math.floor(math.log10(abs(mean)))
  return digits


def _number(value):
  try:
    return float(value)
  except (TypeError, ValueError):
    return math.nan  # metrics.jsonl writes an undefined metric as 'nan'.


def run_name(variant, first, seeds, steps, every):
  """The directory name of the run of seeds first .. first+seeds-1 of one row."""
  return (f'{variant}_s{seeds}' + (f'_from{first}' if first else '') + f'_n{steps}' +
          (f'_e{every}' if every else ''))


def seed_runs(seeds, per_run):
  """(first seed, seeds) of each run that trains seeds 0 .. seeds-1, per_run at a time
  (0: all in one run)."""
  per_run = per_run or seeds
  return [(first, min(per_run, seeds - first)) for first in range(0, seeds, per_run)]


def _train(table, variant, first, seeds, steps, every):
  """Trains (or reuses) the run of one row's seeds first .. first+seeds-1, evaluated every
  `every` steps (0: at the end); returns its summary, with the code that trained it and its
  evaluation records."""
  workdir = os.path.join(_WORKDIR.value, _TABLE.value,
                         run_name(variant, first, seeds, steps, every))
  overrides = [f'num_seeds={seeds}', f'num_steps={steps}', f'eval_every={every or steps}',
               f'checkpoint_every={max(steps // 4, 1)}', f'log_every={max(steps // 10, 1)}']
  print(f'{_TABLE.value}/{variant}: seeds {first}-{first + seeds - 1} x {steps} steps in '
        f'{workdir}', flush=True)
  summary = launch.train_once(f'{table.config}:{variant}', workdir, first, overrides,
                              cwd=_ROOT)
  evals = [r for r in writers.read_metrics(workdir) if r['event'] == 'eval']
  return {**summary, 'per_seed': summary.get('per_seed', {str(first): summary}),
          'code': provenance.code_versions(workdir), 'evals': evals}


def pooled(summaries):
  """One row's summary from the summaries of the runs that trained its seeds (_train's):
  every run's seeds, their evaluation records and code (and how many runs recorded none),
  and the runs' summed wall time."""
  return {'per_seed': {k: v for s in summaries for k, v in s['per_seed'].items()},
          'seconds': sum(s['seconds'] for s in summaries),
          'code': list(dict.fromkeys(c for s in summaries for c in s['code'])),
          'unrecorded': sum(not s['code'] for s in summaries),
          'evals': [r for s in summaries for r in s['evals']]}


def _machine():
  import jax  # pylint: disable=import-outside-toplevel
  device = jax.devices()[0]
  return (f'{platform.machine()} {platform.system()}, {os.cpu_count()} CPUs, '
          f'jax {jax.__version__} on {device.platform} ({device.device_kind})')


def _commits(results):
  """The code that trained the rows (each run's segments.jsonl) and the code checked out now,
  which may differ: finished runs are reused."""
  trained = list(dict.fromkeys(c for s in results.values() for c in s['code']))
  unrecorded = sum(s['unrecorded'] for s in results.values())
  text = ', '.join(trained)
  if unrecorded:
    text += f'{"; " if text else ""}{unrecorded} runs older than segments.jsonl, unrecorded'
  # The runs it starts import the gan_jax/ of _ROOT (their working directory).
  return (f'{text} (this section written at '
          f'{provenance.code_version(os.path.join(_ROOT, "gan_jax"))})')


def section_key(name, table, steps):
  """The section of table `name` at `steps` steps: the table's own at its default budget,
  NAME_nSTEPS at any other."""
  return name if steps == table.steps else f'{name}_n{steps}'


def section(key, table, results, seeds, steps, every, command, per_run=0):
  """The Markdown section `key` of `table` for `results` (row name -> summary, pooled
  over its runs), with the learning curves when the runs were evaluated every `every` steps
  (0: at the end only); each row's `seeds` seeds were trained `per_run` at a time (0: all
  in one run)."""
  heads = [h for _, h, _ in table.metrics]
  title = table.title if key in TABLES else f'{table.title}, {steps:,} steps'
  lines = [f'<!-- baselines:{key} -->', f'## {title}', '',
           f'| model | source | {" | ".join(heads)} | wall time |',
           '|---|---|' + '---|' * len(heads) + '---|']
  for name, summary in results.items():
    per_seed = list(summary['per_seed'].values()) if 'per_seed' in summary else [summary]
    cells = [_cell([_number(s.get(m)) for s in per_seed], scale) for m, _, scale in
             table.metrics]
    lines.append(f'| {name} | gan_jax, {len(per_seed)} seeds | {" | ".join(cells)} | '
                 f'{summary["seconds"] / 60:.1f} min |')
  for name, cells in table.published.items():
    lines.append(f'| {name} | published | {" | ".join(cells)} | |')
  total = sum(s['seconds'] for s in results.values()) / 3600
  evaluated = f'; evaluated every {every:,} steps, curves below' if every else ''
  runs = (f'{seeds} seeds per run' if len(seed_runs(seeds, per_run)) == 1 else
          f'{seeds} seeds per row, in runs of {per_run}')
  lines += ['', f'Ours: {steps:,} steps per run ({runs}, the same budget for '
            f'every row; the paper: {table.budget}), scored by the final evaluation'
            f'{evaluated}. Published: {table.source}.', '',
            f'Command: `{command}`  ', f'Commit: {_commits(results)}  ', f'Machine: {_machine()}  ',
            f'Wall time: {total:.2f} h for the rows above.']
  if every:
    lines += curves(table, results)
  return '\n'.join(lines + [f'<!-- /baselines:{key} -->'])


def curves(table, results):
  """Markdown lines: per metric, its mean +- std over seeds at each evaluation step that
  every row's run reached (a line per step, a column per row)."""
  reached = [{r['step'] for r in s['evals']} for s in results.values()]
  steps = sorted(set.intersection(*reached)) if reached else []
  lines = []
  for metric, head, scale in table.metrics:
    lines += ['', f'{head[0].upper() + head[1:]} at each evaluation (mean +- std over seeds):', '',
              f'| step | {" | ".join(results)} |', '|---|' + '---|' * len(results)]
    for step in steps:
      cells = [_cell([_number(r.get(metric)) for r in s['evals'] if r['step'] == step], scale)
               for s in results.values()]
      lines.append(f'| {step:,} | {" | ".join(cells)} |')
  return lines


def write_section(path, name, text):
  """Replaces section `name` of the Markdown file `path` (appending it if absent)."""
  begin, end = f'<!-- baselines:{name} -->', f'<!-- /baselines:{name} -->'
  old = ''
  if os.path.exists(path):
    with open(path, encoding='utf-8') as f:
      old = f.read()
  if begin in old and end in old:
    new = old[:old.index(begin)] + text + old[old.index(end) + len(end):]
  else:
    header = '' if old else ('# Baselines\n\nPublished tables retrained with gan_jax; '
                             '`scripts/baselines.py` regenerates each section.\n')
    new = (old or header).rstrip('\n') + '\n\n' + text + '\n'
  tmp = path + '.tmp'
  with open(tmp, 'w', encoding='utf-8') as f:
    f.write(new)
  os.replace(tmp, path)  # A kill mid-write leaves the old file whole.


def main(argv):
  del argv
  table = TABLES[_TABLE.value]
  variants = dict((v, n) for n, v in table.rows)
  unknown = [r for r in _ROWS.value if r not in variants]
  if unknown:
    sys.exit(f'error: --rows={",".join(_ROWS.value)}: {", ".join(unknown)} not in table '
             f'{_TABLE.value}; its rows: {", ".join(variants)}')
  if (_SEEDS.value < 1 or _SEEDS_PER_RUN.value < 0 or _STEPS.value < 0 or
      _EVAL_EVERY.value < 0):
    sys.exit(f'error: --seeds={_SEEDS.value} must be >= 1, --seeds_per_run='
             f'{_SEEDS_PER_RUN.value} >= 0, --steps={_STEPS.value} >= 0 and '
             f'--eval_every={_EVAL_EVERY.value} >= 0')
  steps = _STEPS.value or table.steps
  every = _EVAL_EVERY.value if _EVAL_EVERY.value < steps else 0
  results = {}
  for variant in _ROWS.value or list(variants):
    try:
      results[variants[variant]] = pooled([
          _train(table, variant, first, seeds, steps, every)
          for first, seeds in seed_runs(_SEEDS.value, _SEEDS_PER_RUN.value)])
    except launch.LaunchError as e:
      sys.exit(f'error: {_TABLE.value}/{variant}: {e}')
  command = ' '.join(['python scripts/baselines.py'] + sys.argv[1:])
  key = section_key(_TABLE.value, table, steps)
  write_section(_OUT.value, key, section(key, table, results, _SEEDS.value, steps, every,
                                         command, _SEEDS_PER_RUN.value))
  print(f'wrote the {key} section of {_OUT.value}')


if __name__ == '__main__':
  app.run(main)
