"""scripts/baselines.py: table cells over seeds, and rewriting one section of BASELINES.md
while keeping the others (the tables themselves are recorded outputs, not tests)."""
import os
import subprocess
import sys

import numpy as np

from tests import cli
from tests.conftest import ROOT

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import baselines  # pylint: disable=wrong-import-position


def test_a_cell_is_the_mean_and_population_std_over_seeds_with_undefined_seeds_named():
  values = [7.0, 8.0, 8.0, 6.0]
  assert baselines._cell(values, 1.0) == f'{np.mean(values):.2f} +- {np.std(values):.2f}'
  assert baselines._cell([0.981, 0.97], 100.0) == '97.5 +- 0.5'
  assert baselines._cell([0.1, float('nan')], 1.0) == '0.10 +- 0.00 (1 seeds n/a)'
  assert baselines._cell([float('nan')], 1.0) == 'n/a'


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


def test_the_section_names_the_code_that_trained_its_runs_and_the_code_checked_out():
  head = baselines.provenance.code_version(os.path.join(ROOT, 'gan_jax'))
  results = {'GAN': {'code': ['abc1234', 'def5678']}, 'PacGAN2': {'code': ['def5678']},
             'old run': {}}
  assert baselines._commits(results) == (
      f'abc1234, def5678; 1 runs older than segments.jsonl, unrecorded (this section written '
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
