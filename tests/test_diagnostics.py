"""Named warnings: each fires when its condition persists, once, re-arms, survives a resume,
fires on a run built to fail and stays quiet on the quickstart."""
import json
import os
import subprocess
import sys

import ml_collections
import pytest

from configs import default
from gan_jax import diagnostics
from tests.conftest import ROOT, run_env


def _diag(**overrides):
  settings = ml_collections.ConfigDict(default.get_config().diagnostics)
  settings.update(overrides)
  return diagnostics.Diagnostics(settings)


def _train(**m):
  return {'event': 'train', **m}


HEALTHY = dict(g_grad_norm=1.0, d_accuracy=0.6, d_loss=1.3, g_loss=0.8, feature_diversity=0.9)


@pytest.mark.parametrize('name,bad', [
    ('vanishing_generator_gradient', dict(g_grad_norm=1e-4)),
    ('discriminator_overpowering', dict(d_accuracy=1.0, d_loss=0.01)),
    ('mode_collapse', dict(feature_diversity=0.02)),
])
def test_a_condition_fires_after_patience_log_steps_once_and_rearms(name, bad):
  diag = _diag(patience=3)
  assert diag.observe(_train(**HEALTHY)) == []
  fired = [diag.observe(_train(**{**HEALTHY, **bad})) for _ in range(5)]
  assert [len(f) for f in fired] == [0, 0, 1, 0, 0]
  assert fired[2][0][0] == name
  assert diag.observe(_train(**HEALTHY)) == []  # clears
  again = [diag.observe(_train(**{**HEALTHY, **bad})) for _ in range(3)]
  assert again[2][0][0] == name


def test_oscillation_is_loss_spread_over_the_window():
  diag = _diag(patience=1, oscillation_window=4, oscillation_std=0.5)
  swings = [0.1, 2.5, 0.1, 2.5]
  fired = [diag.observe(_train(**{**HEALTHY, 'd_loss': v})) for v in swings]
  assert [f[0][0] for f in fired if f] == ['oscillation'] and fired[3]
  steady = _diag(patience=1, oscillation_window=4, oscillation_std=0.5)
  assert not any(steady.observe(_train(**HEALTHY)) for _ in range(8))


def test_fewer_modes_than_before_is_mode_collapse_at_once():
  diag = _diag()
  assert diag.observe({'event': 'eval', 'modes': 8}) == []
  assert diag.observe({'event': 'eval', 'modes': 8}) == []
  assert diag.observe({'event': 'eval', 'modes': 5})[0][0] == 'mode_collapse'


def test_replaying_records_restores_the_state_a_resume_needs():
  records = [_train(**{**HEALTHY, 'g_grad_norm': 1e-4}) for _ in range(2)]
  diag = _diag(patience=3)
  diag.replay([_train(**HEALTHY)] + records)
  assert diag.observe(records[0])[0][0] == 'vanishing_generator_gradient'


def _quickstart(workdir, *overrides):
  proc = subprocess.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=configs/quickstart.py',
       f'--workdir={workdir}', '--config.num_steps=1500', '--config.log_every=100',
       *overrides], cwd=ROOT, capture_output=True, text=True, timeout=600, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
    return json.load(f), proc.stdout


def test_diagnostics_fire_on_a_run_built_to_fail_and_stay_quiet_on_the_quickstart(tmp_path):
  # The quickstart with a 10x critic learning rate, the saturating loss and no R1 penalty.
  summary, stdout = _quickstart(tmp_path / 'fail', '--config.d_lr=5e-3', '--config.r1_gamma=0',
                                '--config.loss=minimax')
  assert 'discriminator_overpowering' in summary['warnings']
  assert 'warning at step' in stdout and 'discriminator_overpowering' in stdout
  records = [json.loads(line) for line in open(tmp_path / 'fail' / 'metrics.jsonl')]
  assert any(r['event'] == 'warning' and r['warning'] == 'discriminator_overpowering'
             for r in records)
  summary, _ = _quickstart(tmp_path / 'ok')
  assert summary['warnings'] == []
