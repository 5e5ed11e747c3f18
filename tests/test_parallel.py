"""Data parallelism: 8 emulated devices give the 1-device result on the same global batch,
two processes give the 1-process result, and bad device/process input is refused."""
import os
import socket
import subprocess
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import objectives, parallel, train
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import restored_state, tiny_config


def test_the_suite_runs_on_eight_emulated_devices():
  assert jax.device_count() == 8


def _one_step(config, num_devices, step=0):
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:num_devices]))
  if step:  # The initial state, as if at `step`: a progressive run's stage and alpha there.
    run.begin_step(step)
    run.state = run.state.replace(step=jnp.full_like(run.state.step, step))
    run.state = jax.jit(run.schedule.with_alpha)(run.state) if run.schedule else run.state
  # measure=True as a traced argument: the program the training loop runs on every step.
  state, measurements = run.train_step(run.state, run.dataset.batch_at(step), True)
  return parallel.fetch(state), parallel.fetch(measurements)


def _assert_one_device_result(config, measurements=True, step=0):
  """One step on 8 devices gives the 1-device state (and measurements) on the same batch."""
  one, m_one = _one_step(config, 1, step)
  eight, m_eight = _one_step(config, 8, step)
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)
  for name in m_one if measurements else ():
    np.testing.assert_allclose(m_one[name], m_eight[name], rtol=1e-4, atol=1e-5)


def _image_config(loss, d_norm, **overrides):
  c = tiny_config(dataset='digits8x8', model='dcgan', image_shape=(8, 8, 1), loss=loss,
                  d_norm=d_norm, evals=(), g_width=4, d_width=4, **overrides)
  return c


# Every objective's batch reductions over several critic updates (the MLP, n_critic 5), one
# single-update step, and each critic normalisation of the DCGAN with the objective it meets in
# the configs: synchronised batch norm, WGAN-GP's per-example penalty through layer norm and
# through spectral norm's power iteration, and spectral norm with the hinge loss. Each case
# compiles two steps (about 25 s on 2 cores), so the objectives are not crossed with every
# normalisation: the normalisations' parallel behaviour does not depend on the loss.
CASES = [(loss, 'mlp', 5) for loss in objectives.OBJECTIVES] + [('ns', 'mlp', 1)]
CASES += [('ns', 'batch', 5), ('wgan_gp', 'layer', 5), ('wgan_gp', 'spectral', 5),
          ('hinge', 'spectral', 5)]


@pytest.mark.parametrize('loss,arch,n_critic', CASES, ids=['-'.join(map(str, c)) for c in CASES])
def test_eight_devices_equal_one_device_on_the_same_global_batch(loss, arch, n_critic):
  if arch == 'mlp':
    config = tiny_config(loss=loss, n_critic=n_critic, ema_decay=0.9)
  else:  # DCGAN: batch norm in G always; the critic's normalisation as named.
    config = _image_config(loss, arch, n_critic=n_critic)
  _assert_one_device_result(config)


# The techniques compose: three runs cover all of them.
STABILISATION = [
    # Simultaneous updates: the generator's fakes (latents, instance noise) the critic's.
    dict(d_minibatch='discrimination', feature_matching=1.0, instance_noise=0.1,
         instance_noise_steps=10, real_label=0.9, fake_label=0.1,
         update_order='simultaneous'),
    # The generator's batch norm per pac position: its groups' statistics across devices.
    dict(d_minibatch='stddev', pac=2, dragan_weight=1.0, r1_gamma=1.0, r1_every=2,
         mlp=dict(g_norm='batch_pac')),
    dict(loss='wgan_gp', n_critic=2, pac=2, unrolled_steps=2),
]


@pytest.mark.parametrize('overrides', STABILISATION,
                         ids=['minibatch-fm-noise-smoothing-simultaneous',
                              'stddev-pac-batch_pac-dragan-lazy_r1', 'wgan_gp-pac-unrolled'])
def test_stabilisation_techniques_also_give_the_one_device_result(overrides):
  config = tiny_config(**{k: v for k, v in overrides.items() if k != 'mlp'})
  config.mlp.update(overrides.get('mlp', {}))
  _assert_one_device_result(config)


def test_minibatch_discrimination_in_a_dcgan_critic_gives_the_one_device_result():
  config = _image_config('ns', 'batch', d_minibatch='discrimination', feature_matching=0.5)
  _assert_one_device_result(config, measurements=False)


def test_a_stylegan2_step_gives_the_one_device_result():
  # w_avg, the minibatch std-dev, style mixing, per-pixel noise and R1 see the global batch.
  config = tiny_config(dataset='digits8x8', model='stylegan2', image_shape=(8, 8, 1), evals=(),
                       g_width=4, d_width=4, z_dim=8, r1_gamma=1.0, ema_decay=0.9)
  config.stylegan.w_dim = 8
  config.stylegan.pl_weight = 2.0  # Path-length regularisation at step 0 (pl_every 4).
  _assert_one_device_result(config)


def test_a_biggan_step_gives_the_one_device_result():
  # Conditional BN from the shared embedding, self-attention, spectral norm in both networks,
  # the hinge critic and the orthogonal regulariser. One critic update: the loop over several
  # is pinned above, and each more update is compiled again in this slowest case.
  config = tiny_config(dataset='mnist5k32', model='biggan', image_shape=(32, 32, 1), evals=(),
                       g_width=4, d_width=4, z_dim=8, num_classes=10, loss='hinge', n_critic=1,
                       d_norm='spectral', g_ortho=1e-4)
  config.biggan.shared_dim = 4
  _assert_one_device_result(config)


def test_a_progan_step_mid_fade_gives_the_one_device_result():
  # Stage 1 (8x8) at alpha 0.5: the faded generator and critic, the real images' fade, the
  # minibatch std-dev, WGAN-GP and the drift term see the global batch.
  config = tiny_config(dataset='digits8x8', model='progan', image_shape=(8, 8, 1), evals=(),
                       g_width=4, d_width=4, z_dim=8, loss='wgan_gp', d_drift=0.001,
                       ema_decay=0.9)
  config.progan.stable_steps = config.progan.fade_steps = 2
  _assert_one_device_result(config, step=3)


def test_per_device_batch_statistics_differ_from_synchronised_ones():
  config = _image_config('ns', 'batch', sync_batch_stats=False)
  one, _ = _one_step(config, 1)
  eight, _ = _one_step(config, 8)
  assert any(not np.allclose(a, b, atol=1e-5)
             for a, b in zip(jax.tree.leaves(one.g_params), jax.tree.leaves(eight.g_params)))


def _command(workdir, *args):
  return [sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}', *args]


def _run(workdir, *args):
  """A run on 8 devices, forked (tests/cli.py); returns the CompletedProcess."""
  return cli.run(_command(workdir, *args), cwd=ROOT, env=run_env(8), timeout=300)


TINY = ['--config=configs/quickstart.py:smoke', '--config.num_steps=6',
        '--config.checkpoint_every=3', '--config.eval_every=3', '--config.log_every=3']


def _free_port():
  with socket.socket() as s:
    s.bind(('localhost', 0))
    return s.getsockname()[1]


def _restore(workdir):
  from configs import quickstart  # pylint: disable=import-outside-toplevel
  config = quickstart.get_config('smoke')
  config.num_steps, config.checkpoint_every, config.eval_every, config.log_every = 6, 3, 3, 3
  return restored_state(config, workdir)


def test_two_processes_train_like_one_process_with_the_same_global_batch(tmp_path):
  single = _run(tmp_path / 'single', *TINY)
  assert single.returncode == 0, single.stderr[-2000:]
  assert '8 devices' in single.stdout
  port = _free_port()
  procs = [subprocess.Popen(_command(tmp_path / 'multi', *TINY,
                                     f'--coordinator_address=localhost:{port}',
                                     '--num_processes=2', f'--process_id={i}'),
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                            text=True, env=run_env(4))
           for i in range(2)]
  outputs = [p.communicate(timeout=300) for p in procs]
  for p, (_, err) in zip(procs, outputs):
    assert p.returncode == 0, err[-3000:]
  assert 'summary: steps=6' in outputs[0][0] and 'summary' not in outputs[1][0]
  assert '8 devices' in outputs[0][0]
  one, two = _restore(str(tmp_path / 'single')), _restore(str(tmp_path / 'multi'))
  assert int(two.step) == 6
  # Both checkpoint directories saved steps 3 and 6 (their barriers must not collide).
  for name in ('checkpoints', 'checkpoints_best'):
    assert sorted(os.listdir(tmp_path / 'multi' / name)) == ['3', '6']
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(two)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('args,expected', [
    (['--config.batch_size=12'], ['config.batch_size=12', 'divisible', '(8)']),
    (['--num_processes=2'], ['--coordinator_address', 'all three']),
    (['--coordinator_address=localhost:1', '--num_processes=2', '--process_id=2'],
     ['--process_id=2', '[0, --num_processes=2)']),
])
def test_bad_device_and_process_input_is_a_one_line_error(tmp_path, args, expected):
  proc = _run(tmp_path / 'run', *TINY, *args)
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr
  for part in expected:
    assert part in lines[0]


def test_per_example_penalties_of_a_batch_norm_critic_give_the_one_device_result():
  # R1 through the fixed-statistics critic (batch norm synced, stddev groups spanning
  # devices: 2 examples per device, groups of 4), and conditional WGAN-GP's label-matched fakes.
  configs = [
      _image_config('ns', 'batch', r1_gamma=1.0, d_minibatch='stddev'),
      _image_config('wgan_gp', 'batch', num_classes=10),
  ]
  for config in configs:
    _assert_one_device_result(config)
