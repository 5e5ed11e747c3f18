"""scripts/baselines.py: table cells over seeds, and rewriting one section of BASELINES.md
while keeping the others (the tables themselves are recorded outputs, not tests)."""
import json
import os
import subprocess
import sys

import numpy as np

from tests import cli
from tests.conftest import ROOT, run_env

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import baselines  # pylint: disable=wrong-import-position


def test_a_cell_is_the_mean_and_population_std_over_seeds_with_undefined_seeds_named():
  values = [7.0, 8.0, 8.0, 6.0]
  assert baselines._cell(values, 1.0) == f'{np.mean(values):.2f} +- {np.std(values):.2f}'
  assert baselines._cell([0.981, 0.97], 100.0) == '97.5 +- 0.5'
  assert baselines._cell([0.1, float('nan')], 1.0) == '0.10 +- 0.00 (1 seeds n/a)'
  assert baselines._cell([float('nan')], 1.0) == 'n/a'


def test_a_small_mean_keeps_two_significant_digits():
  assert baselines._cell([0.001, 0.002], 1.0) == '0.0015 +- 0.0005'
  assert baselines._cell([0.0004, 0.0006], 100.0) == '0.050 +- 0.010'
  assert baselines._cell([0.0, 0.0], 1.0) == '0.00 +- 0.00'
  assert baselines._cell([-0.5, 0.5], 1.0) == '0.00 +- 0.50'


def _evals(values_by_step):
  """metrics.jsonl eval records: step -> one modes value per seed."""
  return [{'step': step, 'event': 'eval', 'seed': seed, 'modes': v, 'hq_fraction': v / 10,
           'mode_kl': 1 / v} for step, values in values_by_step.items()
          for seed, v in enumerate(values)]


def _run(*code, final_modes=(), evals=None):
  """One run's summary as _train returns it: its seeds' final modes, a minute of wall time,
  the code of its segments (none: older than segments.jsonl) and its eval records."""
  return {'per_seed': {str(k): {'modes': m} for k, m in enumerate(final_modes)},
          'seconds': 60, 'code': list(code), 'evals': _evals(evals or {})}


def test_a_longer_budget_has_its_own_section_with_a_learning_curve_per_metric():
  table = baselines.TABLES['ring']
  assert baselines.section_key('ring', table, table.steps) == 'ring'
  assert baselines.section_key('ring', table, 20_000) == 'ring_n20000'
  # The rows reached different evaluations; the curves keep those all of them reached.
  results = {'GAN': baselines.pooled([_run('abc1234', final_modes=[6, 8],
                                           evals={10: [4, 5], 20: [6, 8]})]),
             'PacGAN2': baselines.pooled([_run('abc1234', final_modes=[8, 8],
                                               evals={10: [7, 8], 20: [8, 8], 30: [8, 8]})])}
  text = baselines.section('ring_n20', table, results, 2, 20, 10, 'CMD')
  lines = text.splitlines()
  assert lines[0] == '<!-- baselines:ring_n20 -->' and lines[-1] == '<!-- /baselines:ring_n20 -->'
  assert lines[1] == f'## {table.title}, 20 steps'
  assert 'evaluated every 10 steps, curves below' in text
  modes = lines.index('Modes at each evaluation (mean +- std over seeds):')
  assert lines[modes + 2:modes + 6] == ['| step | GAN | PacGAN2 |', '|---|---|---|',
                                        '| 10 | 4.50 +- 0.50 | 7.50 +- 0.50 |',
                                        '| 20 | 7.00 +- 1.00 | 8.00 +- 0.00 |']
  kl = lines.index('Reverse KL at each evaluation (mean +- std over seeds):')
  expected = [np.mean([1 / 4, 1 / 5]), np.std([1 / 4, 1 / 5])]
  assert lines[kl + 4].startswith(f'| 10 | {expected[0]:.2f} +- {expected[1]:.2f} |')
  assert not any(line.startswith('| 30 |') for line in lines)


def test_rewriting_a_section_keeps_the_other_sections_and_the_text_around_them(tmp_path):
  path = str(tmp_path / 'BASELINES.md')
  section = lambda name, text: f'<!-- baselines:{name} -->\n{text}\n<!-- /baselines:{name} -->'
  baselines.write_section(path, 'ring', section('ring', 'ring v1'))
  baselines.write_section(path, 'grid', section('grid', 'grid v1'))
  with open(path, encoding='utf-8') as f:
    text = f.read()
  with open(path, 'w', encoding='utf-8') as f:
    f.write(text + '\nA note of ours.\n')
  baselines.write_section(path, 'ring', section('ring', 'ring v2'))
  with open(path, encoding='utf-8') as f:
    text = f.read()
  assert 'ring v2' in text and 'ring v1' not in text and 'grid v1' in text
  assert text.endswith('A note of ours.\n') and text.startswith('# Baselines')
  assert text.index('ring v2') < text.index('grid v1')  # Rewritten in place.


def test_the_section_names_the_code_that_trained_its_runs_and_counts_the_runs_without_a_record():
  head = baselines.provenance.code_version(os.path.join(ROOT, 'gan_jax'))
  # PacGAN2's second run and both of 'old row' predate segments.jsonl: three runs, two rows.
  results = {'GAN': baselines.pooled([_run('abc1234', 'def5678')]),
             'PacGAN2': baselines.pooled([_run('def5678'), _run()]),
             'old row': baselines.pooled([_run(), _run()])}
  assert baselines._commits(results) == (
      f'abc1234, def5678; 3 runs older than segments.jsonl, unrecorded (this section written '
      f'at {head})')
  assert head.split()[0] == subprocess.run(['git', 'rev-parse', '--short', 'HEAD'], cwd=ROOT,
                                           capture_output=True, text=True).stdout.strip()


def test_an_unknown_row_is_a_one_line_error_that_trains_nothing(tmp_path):
  proc = cli.run([sys.executable, 'scripts/baselines.py', '--table=ring',
                  '--rows=gan,pacgan9', f'--workdir={tmp_path}'], cwd=ROOT)
  assert proc.returncode == 1
  assert proc.stderr.strip() == ('error: --rows=gan,pacgan9: pacgan9 not in table ring; its '
                                 'rows: gan, pacgan2, pacgan3, pacgan4, minibatch, unrolled, '
                                 'wgan_gp, best')
  assert not os.listdir(tmp_path)


def test_a_row_in_runs_of_k_seeds_covers_each_seed_once_and_keeps_its_first_runs_name():
  assert baselines.seed_runs(10, 5) == [(0, 5), (5, 5)]
  assert baselines.seed_runs(7, 3) == [(0, 3), (3, 3), (6, 1)]
  assert baselines.seed_runs(10, 0) == baselines.seed_runs(10, 10) == [(0, 10)]
  assert baselines.seed_runs(3, 5) == [(0, 3)]
  # Seeds 0 .. K-1 keep the name a one-run row of K seeds has, so such runs are reused.
  assert baselines.run_name('gan', 0, 5, 20000, 2000) == 'gan_s5_n20000_e2000'
  assert baselines.run_name('gan', 5, 5, 20000, 2000) == 'gan_s5_from5_n20000_e2000'
  assert baselines.run_name('gan', 5, 5, 1000, 0) == 'gan_s5_from5_n1000'


def test_a_row_trained_as_runs_of_one_seed_pools_both_runs_seeds(tmp_path):
  out = str(tmp_path / 'B.md')
  command = [sys.executable, 'scripts/baselines.py', '--table=ring', '--seeds=2',
             '--seeds_per_run=1', '--steps=2', '--rows=gan', f'--workdir={tmp_path}',
             f'--out={out}']
  proc = cli.run(command, cwd=ROOT, env=run_env())
  assert proc.returncode == 0, proc.stderr
  summaries = []
  for name, seed in (('gan_s1_n2', 0), ('gan_s1_from1_n2', 1)):
    with open(tmp_path / 'ring' / name / 'config.json', encoding='utf-8') as f:
      assert json.load(f)['seed'] == seed
    with open(tmp_path / 'ring' / name / 'summary.json', encoding='utf-8') as f:
      summaries.append(json.load(f))
  with open(out, encoding='utf-8') as f:
    text = f.read()
  modes = [s['modes'] for s in summaries]
  kl = [s['mode_kl'] for s in summaries]
  minutes = sum(s['seconds'] for s in summaries) / 60
  row = next(line for line in text.splitlines() if line.startswith('| GAN | gan_jax'))
  assert row.startswith(f'| GAN | gan_jax, 2 seeds | {np.mean(modes):.2f} +- '
                        f'{np.std(modes):.2f} | ')
  assert row.endswith(f' | {baselines._cell(kl, 1.0)} | {minutes:.1f} min |')
  assert '(2 seeds per row, in runs of 1, the same budget' in text
