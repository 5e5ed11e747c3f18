"""scripts/sample.py draws from a run's latest checkpoint and refuses what it cannot use."""
import os
import subprocess
import sys

import numpy as np

from gan_jax import train
from tests.conftest import ROOT, run_env
from tests.helpers import tiny_config


def _sample(*args):
  return subprocess.run([sys.executable, 'scripts/sample.py', *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300, env=run_env())


def test_samples_come_from_the_checkpoint_and_are_written_as_npz_and_png(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config(ema_decay=0.5), workdir)
  out = str(tmp_path / 'draw')
  proc = _sample(f'--workdir={workdir}', '--num=100', f'--out={out}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert 'from step 4' in proc.stdout
  samples = np.load(out + '.npz')['samples']
  assert samples.shape == (100, 2) and np.all(np.isfinite(samples))
  assert os.path.getsize(out + '.png') > 1000
  again = str(tmp_path / 'again')
  assert _sample(f'--workdir={workdir}', '--num=100', f'--out={again}').returncode == 0
  np.testing.assert_array_equal(np.load(again + '.npz')['samples'], samples)


def test_a_directory_without_a_run_is_a_one_line_error(tmp_path):
  proc = _sample(f'--workdir={tmp_path}', f'--out={tmp_path / "x"}')
  assert proc.returncode != 0 and 'config.json' in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1
