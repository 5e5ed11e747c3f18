"""Named warnings: each fires when its condition persists, once, re-arms, survives a resume,
judges the critic by its objective, reads mode collapse off the mixtures' mode counts, fires on
a run built to fail and stays quiet on the quickstart and on the original WGAN settings."""
import json
import os
import sys

import numpy as np
import pytest

from configs import default
from gan_jax import diagnostics
from tests import cli
from tests.conftest import ROOT, run_env


def _diag(loss='ns', dataset='ring8', **overrides):
  config = default.get_config()
  config.loss, config.dataset = loss, dataset
  config.diagnostics.update(overrides)
  return diagnostics.Diagnostics(config)


def _train(**m):
  return {'event': 'train', **m}


def _eval(modes, hq_fraction=0.5, mode_kl=0.0):
  return {'event': 'eval', 'modes': modes, 'hq_fraction': hq_fraction, 'mode_kl': mode_kl}


HEALTHY = dict(g_grad_norm=1.0, d_accuracy=0.6, d_loss=1.3, g_loss=0.8, feature_diversity=0.9)


@pytest.mark.parametrize('name,bad,patience', [
    ('vanishing_generator_gradient', dict(g_grad_norm=1e-3), 'patience'),  # < 0.01 x peak
    ('vanishing_generator_gradient', dict(g_grad_norm=1e-6), 'patience'),  # < the floor
    ('discriminator_overpowering', dict(d_accuracy=1.0, d_loss=0.01), 'patience'),
    ('mode_collapse', dict(feature_diversity=0.02), 'collapse_patience'),
])
def test_a_condition_fires_after_patience_log_steps_once_and_rearms(name, bad, patience):
  diag = _diag(**{patience: 3})
  assert diag.observe(_train(**HEALTHY)) == []
  fired = [diag.observe(_train(**{**HEALTHY, **bad})) for _ in range(5)]
  assert [len(f) for f in fired] == [0, 0, 1, 0, 0]
  assert fired[2][0][0] == name
  assert diag.observe(_train(**HEALTHY)) == []  # clears
  again = [diag.observe(_train(**{**HEALTHY, **bad})) for _ in range(3)]
  assert again[2][0][0] == name


def test_a_generator_still_at_initialisation_is_not_collapse():
  # Healthy runs start with feature_diversity ~0.2 for up to 5 log steps of the corpus.
  diag = _diag()
  early = [diag.observe(_train(**{**HEALTHY, 'feature_diversity': 0.2})) for _ in range(5)]
  assert not any(early)


@pytest.mark.parametrize('loss', ['wgan', 'wgan_gp'])
def test_a_wasserstein_critic_that_ranks_everything_is_not_overpowering(loss):
  diag = _diag(loss)
  winning = {**HEALTHY, 'd_loss': -5.0, 'd_accuracy': 1.0, 'g_loss': 3.0}
  assert not any(diag.observe(_train(**winning)) for _ in range(10))


def test_overpowering_is_judged_against_the_objectives_loss_at_chance():
  assert diagnostics.chance_loss('ns') == pytest.approx(2 * np.log(2), rel=1e-6)
  assert diagnostics.chance_loss('hinge') == pytest.approx(2.0)
  assert diagnostics.chance_loss('lsgan') == pytest.approx(0.25)
  assert diagnostics.chance_loss('wgan') is None
  # lsgan's loss of 0.2 is near chance (0.25): no warning; the same loss is 0.14 x the
  # non-saturating loss at chance, a critic that wins.
  record = {**HEALTHY, 'd_accuracy': 0.97, 'd_loss': 0.2}
  lsgan, ns = _diag('lsgan', patience=1), _diag('ns', patience=1)
  assert lsgan.observe(_train(**record)) == []
  assert ns.observe(_train(**record))[0][0] == 'discriminator_overpowering'


def test_oscillation_is_loss_spread_over_the_window_relative_to_the_loss_at_chance():
  diag = _diag(patience=1, oscillation_window=4, oscillation_std=0.4)
  swings = [0.1, 2.5, 0.1, 2.5]
  fired = [diag.observe(_train(**{**HEALTHY, 'd_loss': v})) for v in swings]
  assert [f[0][0] for f in fired if f] == ['oscillation'] and fired[3]
  steady = _diag(patience=1, oscillation_window=4)
  assert not any(steady.observe(_train(**HEALTHY)) for _ in range(8))
  wasserstein = _diag('wgan_gp', patience=1, oscillation_window=4)
  assert not any(wasserstein.observe(_train(**{**HEALTHY, 'd_loss': v})) for v in swings * 2)


def test_missing_modes_on_a_mixture_is_mode_collapse_after_collapse_evals():
  # ring8, 2,500 samples: hq_fraction 0.5 puts 156 samples per mode, far above the minimum.
  diag = _diag(collapse_evals=2)
  assert diag.observe(_eval(8)) == []
  assert diag.observe(_eval(4, mode_kl=0.85)) == []
  fired = diag.observe(_eval(4, mode_kl=0.85))
  assert fired[0][0] == 'mode_collapse' and '4 of 8 modes' in fired[0][1]
  assert diag.observe(_eval(4, mode_kl=0.85)) == []  # once
  assert diag.observe(_eval(7)) == []  # clears
  grid = _diag(dataset='grid25', collapse_evals=1)
  assert grid.observe(_eval(13, mode_kl=1.4))[0][0] == 'mode_collapse'
  assert _diag(dataset='grid25', collapse_evals=1).observe(_eval(16)) == []


def test_too_few_samples_on_the_modes_say_nothing_about_collapse():
  # 0.004 x 2,500 samples = 1.25 per ring8 mode: an unconverged generator, not a collapse.
  diag = _diag(collapse_evals=1)
  assert diag.observe(_eval(2, hq_fraction=0.004, mode_kl=1.4)) == []
  images = _diag(dataset='digits8x8', collapse_evals=1)
  assert images.observe({'event': 'eval'}) == []


def test_replaying_records_restores_the_state_a_resume_needs():
  records = [_train(**{**HEALTHY, 'g_grad_norm': 1e-4}) for _ in range(2)]
  diag = _diag(patience=3)
  diag.replay([_train(**HEALTHY)] + records)
  assert diag.observe(records[0])[0][0] == 'vanishing_generator_gradient'


def _quickstart(workdir, *overrides):
  proc = cli.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=configs/quickstart.py',
       f'--workdir={workdir}', '--config.num_steps=1500', '--config.log_every=100',
       *overrides], cwd=ROOT, timeout=600, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
    return json.load(f), proc.stdout


def test_diagnostics_fire_on_a_run_built_to_fail(tmp_path):
  # The quickstart with a 10x critic learning rate, the saturating loss and no R1 penalty.
  summary, stdout = _quickstart(tmp_path / 'fail', '--config.d_lr=5e-3', '--config.r1_gamma=0',
                                '--config.loss=minimax')
  assert 'discriminator_overpowering' in summary['warnings']
  assert 'warning at step' in stdout and 'discriminator_overpowering' in stdout
  records = [json.loads(line) for line in open(tmp_path / 'fail' / 'metrics.jsonl')]
  assert any(r['event'] == 'warning' and r['warning'] == 'discriminator_overpowering'
             for r in records)


# Separate tests, so the suite's workers run them side by side.
QUIET = {
    'quickstart': [],
    # The original WGAN settings: a critic that ranks every real above every fake is working.
    'original_wgan': ['--config.loss=wgan', '--config.r1_gamma=0', '--config.optimizer=rmsprop',
                      '--config.g_lr=5e-5', '--config.d_lr=5e-5', '--config.n_critic=5'],
}


@pytest.mark.parametrize('name', QUIET)
def test_diagnostics_stay_quiet_on_healthy_runs(tmp_path, name):
  summary, _ = _quickstart(tmp_path / name, *QUIET[name])
  assert summary['warnings'] == []
