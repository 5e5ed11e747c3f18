"""Every experiment config: its smoke variant trains through the real training function
(tfds datasets under tfds.testing.mock_data), image-specific bad input is refused, and the
PacGAN mixture protocol's variants carry the reference settings."""
import importlib
import math
import os
import sys

import pytest
import tensorflow_datasets as tfds

from configs import pacgan_common, pacgan_grid, pacgan_ring
from gan_jax import evaluate, train, validation
from tests import cli
from tests.conftest import ROOT, run_env

IMAGE_CONFIGS = ['dcgan_mnist5k', 'cgan_mnist5k', 'dcgan_mnist', 'dcgan_cifar10',
                 'dcgan_celeba64', 'wgan_gp_cifar10', 'sngan_cifar10', 'sngan_cifar10_cond',
                 'stylegan2', 'biggan', 'progan']
PACGAN_CONFIGS = {'pacgan_ring': pacgan_ring, 'pacgan_grid': pacgan_grid}


def test_every_config_file_is_covered():
  names = {f[:-3] for f in os.listdir(os.path.join(ROOT, 'configs'))
           if f.endswith('.py') and f not in ('default.py', 'image_common.py',
                                              'pacgan_common.py')}
  # stacked_mnist's smoke run and variants are tested in tests/test_stacked_mnist.py, ctgan's
  # in tests/test_tabular_train.py.
  assert names == (set(IMAGE_CONFIGS) | {'quickstart', 'stacked_mnist', 'ctgan'}
                   | set(PACGAN_CONFIGS))


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
  return cli.run([sys.executable, '-m', 'gan_jax.main', *args], cwd=ROOT,
                 timeout=300, env=run_env())


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


@pytest.mark.parametrize('variant', pacgan_common.VARIANTS)
@pytest.mark.parametrize('name', PACGAN_CONFIGS)
def test_pacgan_variants_carry_the_reference_protocol(name, variant):
  c = PACGAN_CONFIGS[name].get_config(variant)
  validation.validate(c)
  mixture = {'pacgan_ring': ('ring8', 1.0, 0.01), 'pacgan_grid': ('grid25', 0.0, 0.05)}
  assert (c.dataset, c.data_radius, c.data_std) == mixture[name]
  assert dict(c.mlp) == dict(width=400, depth=4, activation='relu', g_norm='batch',
                             d_width=200, d_depth=3, d_maxout=5, init_std=0.02)
  assert (c.z_dim, c.g_lr, c.d_lr, c.num_steps) == (2, 1e-4, 1e-4, 400_000)
  assert c.evals == ('modes',) and c.num_eval_samples == 2_500
  # 100 packed samples per step, as the reference's batch.
  assert c.batch_size == 100 * c.pac
  expected = {
      'gan': dict(pac=1, loss='ns', g_betas=(0.8, 0.999)),
      'pacgan2': dict(pac=2, loss='ns'), 'pacgan3': dict(pac=3), 'pacgan4': dict(pac=4),
      'minibatch': dict(d_minibatch='discrimination', minibatch_kernels=100,
                        minibatch_dim=5, g_betas=(0.8, 0.999)),
      'unrolled': dict(unrolled_steps=5, g_betas=(0.5, 0.999), d_betas=(0.5, 0.999)),
      'wgan_gp': dict(loss='wgan_gp', n_critic=5, gp_weight=10.0, g_betas=(0.5, 0.9),
                      d_betas=(0.5, 0.9)),
      'best': dict(pac=2, loss='ns', r1_gamma=0.1, ema_decay=0.99, g_betas=(0.8, 0.999)),
  }[variant]
  assert {k: tuple(c[k]) if isinstance(c[k], (list, tuple)) else c[k]
          for k in expected} == expected


def test_pacgan_arguments_default_to_gan_and_unknown_ones_are_refused():
  assert pacgan_common.parse(None) == ('gan', False)
  assert pacgan_common.parse('smoke') == ('gan', True)
  assert pacgan_common.parse('pacgan3,smoke') == ('pacgan3', True)
  for bad in ('pacgan5', 'gan,pacgan2', 'best,pacgan2', 'smoke,smoke'):
    with pytest.raises(ValueError, match='allowed: one of gan, pacgan2'):
      pacgan_common.parse(bad)


# Packing, minibatch discrimination and the gradient penalty each meet the batch-norm
# generator and maxout critic here; the unrolled variant (validated above; twice as slow to
# compile) shares its critic updates with these.
@pytest.mark.parametrize('name,arg', [('pacgan_ring', 'pacgan3,smoke'),
                                      ('pacgan_grid', 'minibatch,smoke'),
                                      ('pacgan_grid', 'wgan_gp,smoke')])
def test_pacgan_smoke_variants_train_and_score_modes(name, arg, tmp_path):
  config = PACGAN_CONFIGS[name].get_config(arg)
  summary = train.train_and_evaluate(config, str(tmp_path))
  assert summary['steps'] == 2
  assert 0 <= summary['modes'] <= {'pacgan_ring': 8, 'pacgan_grid': 25}[name]
  assert 0.0 <= summary['hq_fraction'] <= 1.0


BAD_MIXTURE_FIELDS = [
    (dict(dataset='grid25', data_radius=1.0), ['config.data_radius=1.0', 'ring8', "'grid25'"]),
    (dict(dataset='mnist5k', data_std=0.1, evals=()), ['config.data_std=0.1', 'mnist5k']),
    (dict(data_std=-0.01), ['config.data_std=-0.01', '[0, inf)']),
    (dict(mlp_d_maxout=1), ['config.mlp.d_maxout=1', 'linear']),
    (dict(mlp_g_norm='layer'), ["config.mlp.g_norm='layer'", 'batch, batch_pac, none']),
    (dict(mlp_g_norm='batch_pac'), ["config.mlp.g_norm='batch_pac'", 'config.pac=1',
                                    'pac >= 2']),
    (dict(update_order='together'), ["config.update_order='together'",
                                     'alternating, simultaneous']),
    (dict(n_critic=5, update_order='simultaneous'), ['config.n_critic=5', 'must be 1']),
    (dict(unrolled_steps=5, update_order='simultaneous'), ['config.unrolled_steps=5',
                                                           'must be 0']),
    (dict(mlp_d_depth=-1), ['config.mlp.d_depth=-1', '[0, inf)']),
    (dict(mlp_init_std=-0.02), ['config.mlp.init_std=-0.02', '[0, inf)']),
]


@pytest.mark.parametrize('overrides,expected', BAD_MIXTURE_FIELDS,
                         ids=[next(iter(o)) for o, _ in BAD_MIXTURE_FIELDS])
def test_bad_mixture_and_mlp_fields_are_one_line_errors(overrides, expected):
  c = pacgan_ring.get_config('smoke')
  c.data_radius = 0.0
  for key, value in overrides.items():
    if key.startswith('mlp_'):
      c.mlp[key[4:]] = value
    else:
      c[key] = value
  with pytest.raises(validation.ConfigError) as error:
    validation.validate(c)
  message = str(error.value)
  assert '\n' not in message
  for part in expected:
    assert part in message
