"""Every experiment config: its smoke variant trains through the real training function
(tfds datasets under tfds.testing.mock_data), and image-specific bad input is refused."""
import importlib
import math
import os
import subprocess
import sys

import pytest
import tensorflow_datasets as tfds

from gan_jax import evaluate, train
from tests.conftest import ROOT, run_env

IMAGE_CONFIGS = ['dcgan_mnist5k', 'cgan_mnist5k', 'dcgan_mnist', 'dcgan_cifar10',
                 'dcgan_celeba64', 'wgan_gp_cifar10', 'sngan_cifar10', 'sngan_cifar10_cond']


def test_every_config_file_is_covered():
  names = {f[:-3] for f in os.listdir(os.path.join(ROOT, 'configs'))
           if f.endswith('.py') and f not in ('default.py', 'image_common.py')}
  assert names == set(IMAGE_CONFIGS) | {'quickstart'}


@pytest.mark.parametrize('name', IMAGE_CONFIGS)
def test_smoke_variant_trains_and_writes_a_sample_grid(name, tmp_path):
  config = importlib.import_module(f'configs.{name}').get_config('smoke')
  with tfds.testing.mock_data(num_examples=16):
    summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['steps'] == 2
  assert os.path.exists(tmp_path / 'grid_0000002.png')
  assert os.path.isdir(tmp_path / 'checkpoints' / '2')
  # The Inception evaluators (mnist5k configs) log every metric they name...
  for evaluator in set(config.evals) & set(evaluate.INCEPTION_METRICS):
    for metric in evaluate.metric_names(evaluator):
      assert math.isfinite(summary[metric]), metric
  # ... and the best-FID state is kept apart from the latest.
  if config.best_metric:
    assert summary['best_step'] == 2 and f'best_{config.best_metric}' in summary
    assert os.path.isdir(tmp_path / 'checkpoints_best' / '2')


def _main(*args):
  return subprocess.run([sys.executable, '-m', 'gan_jax.main', *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300, env=run_env())


BAD_IMAGE_INPUTS = [
    (['--config=configs/dcgan_mnist5k.py', '--config.dataset=cifar11'],
     ["config.dataset='cifar11'", 'TensorFlow Datasets']),
    (['--config=configs/dcgan_mnist5k.py', '--config.image_shape=(28, 28, 3)'],
     ['(28, 28, 3)', '(28, 28, 1)', 'channels']),
    (['--config=configs/dcgan_mnist5k.py', "--config.d_minibatch=stddev",
      '--config.minibatch_group=3'], ['minibatch_group=3', 'divides', 'batch']),
    (['--config=configs/sngan_cifar10.py', '--config.dataset=mnist5k',
      '--config.image_shape=()'], ['resnet', 'mnist5k', '32x32', '(28, 28, 1)']),
    (['--config=configs/cgan_mnist5k.py', '--config.num_classes=7'],
     ['num_classes=7', '10 classes']),
    (['--config=configs/quickstart.py', "--config.evals=('modes', 'fid')"],
     ["'fid'", 'needs image data', 'ring8']),
    (['--config=configs/dcgan_mnist5k.py', '--config.fid.inception_weights=/no/such.pth'],
     ['config.fid.inception_weights', '/no/such.pth', 'not a file']),
    (['--config=configs/dcgan_mnist5k.py', '--config.fid.num_samples=5'],
     ['num_samples=5', 'is_splits=10']),
]


@pytest.mark.parametrize('args,expected', BAD_IMAGE_INPUTS,
                         ids=[a[0][-1] for a in BAD_IMAGE_INPUTS])
def test_image_bad_input_is_a_one_line_error(tmp_path, args, expected):
  proc = _main(f'--workdir={tmp_path / "run"}', *args)
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  for part in expected:
    assert part in lines[0]
  assert not os.path.exists(tmp_path / 'run' / 'checkpoints')
