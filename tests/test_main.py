"""The real command line: a shortened quickstart end to end, and bad input refused early."""
import json
import os
import subprocess
import sys

import pytest

from tests import cli
from tests.conftest import ROOT, run_env


def _main(workdir, *args):
  cmd = [sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}', *args]
  return cli.run(cmd, cwd=ROOT, timeout=300, env=run_env())


def test_quickstart_smoke_runs_end_to_end_and_writes_its_outputs(tmp_path):
  workdir = tmp_path / 'run'
  proc = _main(workdir, '--config=configs/quickstart.py:smoke')
  assert proc.returncode == 0, proc.stderr[-3000:]
  assert 'summary:' in proc.stdout and 'modes=' in proc.stdout
  files = set(os.listdir(workdir))
  assert {'config.json', 'metrics.jsonl', 'segments.jsonl', 'checkpoint_seconds.json',
          'curves.png', 'summary.json'} <= files
  assert any(f.startswith('events.out.tfevents') for f in files)
  assert any(f.startswith('modes_') and f.endswith('.png') for f in files)
  config = json.loads((workdir / 'config.json').read_text())
  records = [json.loads(line) for line in (workdir / 'metrics.jsonl').read_text().splitlines()]
  train_records = [r for r in records if 'd_loss' in r]
  eval_records = [r for r in records if 'modes' in r]
  assert [r['step'] for r in train_records] == list(
      range(config['log_every'], config['num_steps'] + 1, config['log_every']))
  assert eval_records[-1]['step'] == config['num_steps']
  assert {'g_loss', 'd_real', 'd_fake', 'g_grad_norm', 'd_grad_norm',
          'steps_per_sec'} <= set(train_records[-1])
  assert 0 <= eval_records[-1]['modes'] <= 8
  assert 'best_step=' in proc.stdout and os.listdir(workdir / 'checkpoints_best')


BAD_INPUTS = [
    ('--config.loss=softmax', ['config.loss', "'softmax'", 'hinge']),
    ('--config.dataset=cifar11', ['config.dataset', "'cifar11'", 'ring8']),
    ('--config.model=transformer', ['config.model', "'transformer'", 'mlp']),
    ('--config.g_lr=-0.001', ['config.g_lr', '-0.001', '(0, inf)']),
    ('--config.d_lr=nan', ['config.d_lr', 'nan', 'finite']),
    ('--config.batch_size=0', ['config.batch_size', '0', '(0, inf)']),
    ('--config.n_critic=-2', ['config.n_critic', '-2', '(0, inf)']),
    ('--config.learning_rate=0.1', ['learning_rate', 'fields are', 'g_lr']),
    ('--config.n_critic=two', ['--config.n_critic=two', 'two']),
    ('--config=configs/quickstart.py:huge', ["'huge'", 'smoke']),
    ('--config=configs/missing.py', ['--config', 'missing.py']),
    ('--config.best_metric=fid', ['config.best_metric', "'fid'", 'hq_fraction',
                                  "--config.best_metric=''"]),
    ('--config.num_step=3', ["no field 'num_step'", 'did you mean num_steps']),
    ('--config.d_norm=batch', ["model='mlp'", 'no normalisation', "must be 'none'"]),
]


@pytest.mark.parametrize('flag,expected', BAD_INPUTS, ids=[b[0] for b in BAD_INPUTS])
def test_bad_input_is_a_one_line_error_before_any_work(tmp_path, flag, expected):
  workdir = tmp_path / 'run'
  proc = _main(workdir, '--config=configs/quickstart.py', flag)
  assert proc.returncode != 0
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert len(lines) == 1, proc.stderr
  for part in expected:
    assert part in lines[0]
  assert not workdir.exists()


# The three tests below start a fresh interpreter (subprocess, not tests/cli.py's forks), so
# the command line's own start-up stays covered: import-time output, sys.path, --help.
def test_workdir_is_required(tmp_path):
  proc = subprocess.run([sys.executable, '-m', 'gan_jax.main',
                         '--config=configs/quickstart.py'], cwd=ROOT, capture_output=True,
                        text=True, timeout=120, env=run_env())
  assert proc.returncode != 0
  assert 'workdir' in proc.stderr and len(proc.stderr.strip().splitlines()) == 1


def test_help_prints_the_usage_and_exits_zero():
  proc = subprocess.run([sys.executable, '-m', 'gan_jax.main', '--help'], cwd=ROOT,
                        capture_output=True, text=True, timeout=120, env=run_env())
  assert proc.returncode == 0, proc.stderr
  assert 'Launches one experiment' in proc.stdout and '--workdir' in proc.stdout


def test_a_run_starts_from_any_working_directory(tmp_path):
  # Config files import `configs.default`: that must not depend on the caller's directory.
  elsewhere = tmp_path / 'elsewhere'
  elsewhere.mkdir()
  proc = subprocess.run(
      [sys.executable, '-m', 'gan_jax.main', f'--workdir={tmp_path / "run"}',
       f'--config={os.path.join(ROOT, "configs", "quickstart.py")}:smoke',
       '--config.num_steps=2', '--config.eval_every=2'],
      cwd=elsewhere, capture_output=True, text=True, timeout=300, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'summary: steps=2' in proc.stdout
