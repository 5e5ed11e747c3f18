"""scripts/sample.py draws from a run's latest checkpoint and refuses what it cannot use."""
import json
import os
import shutil
import sys

import matplotlib.pyplot as plt
import numpy as np
import pytest

from gan_jax import checkpoint, evaluate, train
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import tiny_config


def _sample(*args):
  return cli.run([sys.executable, 'scripts/sample.py', *args], cwd=ROOT,
                 timeout=300, env=run_env())


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
  os.remove(again + '.npz')  # Either file there is refused, and neither is touched.
  before = os.path.getmtime(again + '.png')
  proc = _sample(f'--workdir={workdir}', '--num=5', f'--out={again}')
  assert proc.returncode != 0 and f'{again}.png exists' in proc.stderr
  assert not os.path.exists(again + '.npz') and os.path.getmtime(again + '.png') == before


def test_a_directory_without_a_run_is_a_one_line_error(tmp_path):
  proc = _sample(f'--workdir={tmp_path}', f'--out={tmp_path / "x"}')
  assert proc.returncode != 0 and 'config.json' in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1


def test_slerp_starts_and_ends_at_the_endpoint_latents_and_follows_the_great_circle():
  rng = np.random.default_rng(0)
  z0, z1 = rng.normal(size=(2, 3, 5))
  t = np.linspace(0.0, 1.0, 7)
  path = evaluate.slerp(z0, z1, t)
  assert path.shape == (3, 7, 5)
  np.testing.assert_array_equal(path[:, 0], z0)  # So the first and last columns are the
  np.testing.assert_array_equal(path[:, -1], z1)  # endpoint latents' own samples.
  omega = np.arccos(np.sum(z0 * z1, -1) / (np.linalg.norm(z0, axis=-1)
                                           * np.linalg.norm(z1, axis=-1)))
  for i, ti in enumerate(t):
    expected = (np.sin((1 - ti) * omega)[:, None] * z0 + np.sin(ti * omega)[:, None] * z1
                ) / np.sin(omega)[:, None]
    np.testing.assert_allclose(path[:, i], expected, rtol=1e-12, atol=1e-12)
  e0, e1 = np.eye(2)
  np.testing.assert_allclose(evaluate.slerp(e0, e1, [1 / 3])[0],
                             [np.cos(np.pi / 6), np.sin(np.pi / 6)], atol=1e-15)
  np.testing.assert_allclose(evaluate.slerp(e0, 2 * e0, [0.25])[0], [1.25, 0.0])  # Parallel.


def test_interpolation_needs_an_image_model_and_two_steps(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config(), workdir)
  for flag, message in (('--interpolate=1', 'must be at least 2'),
                        ('--interpolate=4', 'needs an image model')):
    proc = _sample(f'--workdir={workdir}', flag, f'--out={tmp_path / "x"}')
    assert proc.returncode != 0 and message in proc.stderr, proc.stderr[-2000:]
    assert len(proc.stderr.strip().splitlines()) == 1


def test_a_conditional_image_run_gets_class_columns_interpolations_and_a_class_sweep(tmp_path):
  workdir = str(tmp_path / 'run')
  train.train_and_evaluate(tiny_config(dataset='mnist5k', model='dcgan', image_shape=(28, 28, 1),
                                       num_classes=10, evals=(), g_width=4, d_width=4,
                                       num_steps=2, eval_every=2, checkpoint_every=2), workdir)
  out = str(tmp_path / 'walk')
  proc = _sample(f'--workdir={workdir}', '--num=20', '--interpolate=3', f'--out={out}')
  assert proc.returncode == 0, proc.stderr[-2000:]
  np.testing.assert_array_equal(np.load(out + '.npz')['labels'], np.arange(20) % 10)
  cell = 3 * 28 + 1  # Digits are upscaled 3x.
  for suffix, rows, cols in (('', 2, 10), ('_interp', 8, 3), ('_classes', 8, 10)):
    height, width, _ = plt.imread(f'{out}{suffix}.png').shape
    assert height > rows * cell + 1 and width >= cols * cell + 1, suffix
    assert height < rows * cell + 60, suffix  # Only a title and column labels above.


def test_a_stylegan2_run_gets_truncated_samples_and_style_grids(tmp_path):
  workdir = str(tmp_path / 'run')
  config = tiny_config(dataset='digits8x8', model='stylegan2', image_shape=(8, 8, 1), evals=(),
                       g_width=4, d_width=4, z_dim=8, num_steps=2, eval_every=2,
                       checkpoint_every=2)
  config.stylegan.w_dim = 8
  train.train_and_evaluate(config, workdir)
  spread = {}
  for psi in ('0', '1'):
    out = str(tmp_path / f'psi{psi}')
    extra = ['--style_grids', '--interpolate=3'] if psi == '0' else []
    proc = _sample(f'--workdir={workdir}', '--num=16', f'--psi={psi}', f'--out={out}', *extra)
    assert proc.returncode == 0, proc.stderr[-2000:]
    spread[psi] = np.load(out + '.npz')['images'].astype(np.float64).std(axis=0).mean()
  # psi 0 draws every latent from w_avg: only the (still faint) per-pixel noise differs.
  assert spread['0'] < 0.1 * spread['1']
  cell = 8 * 3 + 1
  for suffix, rows, cols in (('_truncation', 5, 8), ('_mixing', 5, 7), ('_interp_w', 8, 3)):
    height, width, _ = plt.imread(f'{tmp_path}/psi0{suffix}.png').shape
    assert height > rows * cell and width > cols * cell, suffix
  other = str(tmp_path / 'other')
  train.train_and_evaluate(tiny_config(num_steps=2, checkpoint_every=2, eval_every=2), other)
  proc = _sample(f'--workdir={other}', '--psi=0.5', f'--out={tmp_path}/x')
  assert proc.returncode != 0 and 'for StyleGAN2 runs' in proc.stderr
  assert len(proc.stderr.strip().splitlines()) == 1


def test_sweep_reports_progress_and_refuses_a_metric_its_runs_do_not_report(tmp_path):
  cmd = [sys.executable, 'scripts/sweep.py', '--config=configs/quickstart.py:smoke',
         f'--workdir={tmp_path}', '--base=num_steps=4,eval_every=4,log_every=2',
         '--variant=plain:', '--seeds=0', '--metrics=modes,fid']
  proc = cli.run(cmd, cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  assert "'fid'" in lines[0] and 'modes' in lines[0] and 'nan' not in proc.stdout
  assert '[1/1] plain seed 0' in proc.stderr and 'ETA' in proc.stderr


def test_evaluate_reproduces_the_runs_own_evaluation_of_a_checkpoint(tmp_path):
  workdir = tmp_path / 'run'
  proc = cli.run([sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}',
                  '--config=configs/dcgan_mnist5k.py:smoke',
                  "--config.evals=('fid', 'kid')"],
                 cwd=ROOT, timeout=600, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  logged = [json.loads(line) for line in open(workdir / 'metrics.jsonl')
            if '"eval"' in line][-1]
  config = json.loads((workdir / 'config.json').read_text())
  num = config['fid']['num_samples']
  evaluate_cmd = [sys.executable, 'scripts/evaluate.py', f'--workdir={workdir}',
                  '--evals=fid,kid', f'--num_samples={num}', '--step=latest']
  proc = cli.run(evaluate_cmd, cwd=ROOT, timeout=600, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  assert '| fid |' in proc.stdout and '| kid |' in proc.stdout
  out = json.loads((workdir / f'eval_{logged["step"]}_{num}.json').read_text())
  assert out['step'] == logged['step'] and out['num_samples'] == num
  np.testing.assert_allclose([out['fid'], out['kid']], [logged['fid'], logged['kid']],
                             rtol=1e-5)
  again = cli.run(evaluate_cmd, cwd=ROOT, timeout=600, env=run_env())
  assert again.returncode != 0 and 'exists' in again.stderr  # Never overwrites.


@pytest.fixture(scope='module')
def smoke_run(tmp_path_factory):
  workdir = tmp_path_factory.mktemp('smoke') / 'run'
  cli.run([sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}',
           '--config=configs/quickstart.py:smoke'], cwd=ROOT, timeout=300, env=run_env(),
          check=True)
  return workdir


@pytest.mark.parametrize('args,expected', [
    (['--evals=fid,bleu'], ['--evals=fid,bleu', 'choose from']),
    (['--step=soon'], ["--step='soon'", 'latest']),
    (['--step=99'], ['no checkpoint of step 99', 'saved steps']),
    (['--num_samples=0'], ['--num_samples=0', 'positive']),
])
@pytest.mark.xdist_group('scripts_smoke_run')  # One smoke run per suite (see test_checkpoint).
def test_evaluate_refuses_bad_input_in_one_line(smoke_run, args, expected):
  workdir = smoke_run
  proc = cli.run([sys.executable, 'scripts/evaluate.py', f'--workdir={workdir}',
                  '--evals=modes', *args], cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  for part in expected:
    assert part in lines[0]


def _strip_added_fields(config):
  """`config` as a run older than every field of checkpoint.ADDED_FIELDS wrote it."""
  for name in checkpoint.ADDED_FIELDS:
    *sections, field = name.split('.')
    parents = [config]
    for section in sections:
      parents.append(parents[-1][section])
    del parents[-1][field]
    if sections and not parents[-1]:  # A section that came with its fields.
      del parents[-2][sections[-1]]
  return config


@pytest.mark.xdist_group('scripts_smoke_run')
def test_a_run_older_than_the_added_fields_samples_as_it_did(smoke_run, tmp_path):
  old = tmp_path / 'old'
  shutil.copytree(smoke_run, old)
  for path in [old / 'config.json', *old.glob('checkpoints/*/config/metadata')]:
    path.write_text(json.dumps(_strip_added_fields(json.loads(path.read_text()))))
  for workdir, out in ((smoke_run, 'new'), (old, 'old')):
    proc = _sample(f'--workdir={workdir}', '--num=50', f'--out={tmp_path / out}')
    assert proc.returncode == 0, proc.stderr[-2000:]
  np.testing.assert_array_equal(np.load(tmp_path / 'old.npz')['samples'],
                                np.load(tmp_path / 'new.npz')['samples'])


@pytest.mark.parametrize('script', ['sample.py', 'evaluate.py'])
@pytest.mark.xdist_group('scripts_smoke_run')
def test_a_run_written_by_an_older_version_is_a_one_line_error(smoke_run, tmp_path, script):
  old = tmp_path / 'old'
  shutil.copytree(smoke_run, old)
  config = json.loads((old / 'config.json').read_text())
  del config['data_resize']  # A field this version added.
  (old / 'config.json').write_text(json.dumps(config))
  proc = cli.run([sys.executable, f'scripts/{script}', f'--workdir={old}',
                  f'--out={tmp_path / "out"}'], cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  assert "no field 'data_resize'" in lines[0] and 'older version' in lines[0]
  assert 'Traceback' not in proc.stderr


@pytest.mark.parametrize('script', ['sample.py', 'evaluate.py'])
@pytest.mark.xdist_group('scripts_smoke_run')
def test_a_run_without_checkpoints_is_a_one_line_error_that_creates_nothing(
    smoke_run, tmp_path, script):
  workdir = tmp_path / 'not_saved_yet'
  workdir.mkdir()
  shutil.copy(smoke_run / 'config.json', workdir)
  proc = cli.run([sys.executable, f'scripts/{script}', f'--workdir={workdir}',
                  f'--out={tmp_path / "out"}'], cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  assert lines[0] == f'error: no checkpoint in {workdir / "checkpoints"}'
  assert os.listdir(workdir) == ['config.json'] and os.listdir(tmp_path) == ['not_saved_yet']
