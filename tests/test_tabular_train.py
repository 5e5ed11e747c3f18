"""Tables in the library's own loop: CTGAN batches by training-by-sampling, the conditional
step (8 devices = 1), a smoke run through train_and_evaluate, CSV sampling and the
one-line errors of bad tables and configs."""
import os
import sys

import jax
import jax.numpy as jnp
import numpy as np
import pandas as pd
import pytest
from jax.sharding import PartitionSpec as P

from configs import ctgan as ctgan_config
from gan_jax import models, objectives, optim, parallel, steps, train, validation
from tests import cli
from tests.conftest import ROOT, run_env


def _tiny(**overrides):
  c = ctgan_config.get_config('german,smoke')
  c.evals = ()
  for key, value in overrides.items():
    c[key] = value
  return c


def test_real_rows_of_a_batch_have_their_condition_and_conditions_follow_the_sampler():
  run = train.Run(_tiny(batch_size=400, num_steps=1))
  data = run.dataset
  assert run.config.num_classes == data.num_classes == sum(
      s.size for s in data.transformer.condition_spans)
  starts = np.cumsum([0] + [s.size for s in data.transformer.condition_spans])
  x, y = [], []
  for step in range(5):
    batch = jax.device_get(data.batch_at(step))
    x.append(batch['x'][0])
    y.append(batch['y'][0])
  x, y = np.concatenate(x), np.concatenate(y)
  for row, condition in zip(x, y):
    column = np.searchsorted(starts, condition, side='right') - 1
    span = data.transformer.condition_spans[column]
    assert row[span.start + condition - starts[column]] == 1.0
  # Training-by-sampling: the columns are drawn uniformly.
  columns = np.searchsorted(starts, y, side='right') - 1
  freq = np.bincount(columns, minlength=len(starts) - 1) / len(y)
  n_col = len(starts) - 1
  assert np.all(np.abs(freq - 1 / n_col) < 5 * np.sqrt((1 / n_col) * (1 - 1 / n_col) / len(y)))
  # A batch is a function of the step alone (exact resume).
  np.testing.assert_array_equal(jax.device_get(data.batch_at(3))['x'],
                                jax.device_get(data.batch_at(3))['x'])


def _one_step(config, num_devices):
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:num_devices]))
  state, measurements = run.train_step(run.state, run.dataset.batch_at(0))
  return parallel.fetch(state), parallel.fetch(measurements)


def _assert_same_state(config, one, eight):
  """The 1- and 8-device states after one step agree; weights to a quarter of the lr."""
  weights = ('g_params', 'd_params', 'ema_params')
  for field in weights:
    # Adam's first step moves a weight by lr g / (|g| + eps): a gradient element at the
    # rounding level of the devices' other summation order can take a different fraction
    # of lr (0.1 lr seen with pandas 3.1 / scikit-learn 1.9), so weights agree to lr / 4.
    lr = config.g_lr if field != 'd_params' else config.d_lr
    for a, b in zip(jax.tree.leaves(getattr(one, field)),
                    jax.tree.leaves(getattr(eight, field))):
      np.testing.assert_allclose(a, b, rtol=1e-5, atol=lr / 4)
  rest = lambda state: state.replace(**{field: None for field in weights})  # noqa: E731
  for a, b in zip(jax.tree.leaves(rest(one)), jax.tree.leaves(rest(eight))):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-5)


def test_ctgan_step_on_eight_devices_equals_one_device_with_the_condition_loss():
  # Packs of 5 rows with their conditions, dropout and Gumbel noise from each row's own
  # bits, the WGAN-GP penalty and the generator's conditional cross-entropy.
  config = _tiny(batch_size=80, pac=5)
  one, m_one = _one_step(config, 1)
  eight, m_eight = _one_step(config, 8)
  _assert_same_state(config, one, eight)
  for name in m_one:
    np.testing.assert_allclose(m_one[name], m_eight[name], rtol=1e-4, atol=1e-5)
  assert m_one['condition_loss'] > 0 and 'gp' in m_one
  # The generator's loss is its adversarial term plus the cross-entropy.
  np.testing.assert_allclose(m_one['g_loss'], m_one['g_adv_loss'] + m_one['condition_loss'],
                             rtol=1e-5)


def test_permuted_conditions_pair_real_rows_with_fakes_of_other_conditions_as_ctgan_does():
  # CTGAN's code: the critic's fakes are generated for a permutation of the real rows'
  # conditions, and its gradient penalty interpolates each pack's rows and condition
  # one-hots together (calc_gradient_penalty on the concatenation).
  config = _tiny(batch_size=80, pac=5)
  config.tabular.critic_conditions = 'permuted'
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  fns = steps.StepFunctions(config, run.g_model, run.d_model, *optim.build(config),
                            run.dataset.train_logits)
  assert fns.permuted_conditions and not fns.fakes_for_real_labels
  batch = run.dataset.batch_at(0)
  critic_inputs, _ = fns.draw_randomness(run.state, 80, batch['x'].shape[2:])
  inputs = jax.tree.map(lambda v: v[0], critic_inputs)
  permutation = inputs.pop('permutation')
  np.testing.assert_array_equal(np.sort(permutation), np.arange(80))
  y = batch['y'][0]
  inputs.update(x=batch['x'][0], y=y, y_fake=y[permutation])
  assert np.any(np.asarray(inputs['y_fake']) != np.asarray(y))

  def on_mesh(fn, *args):
    mapped = jax.shard_map(fn, mesh=run.mesh, in_specs=P(), out_specs=P(), check_vma=False)
    return parallel.fetch(jax.jit(mapped)(*args))

  real = models.pack(inputs['x'], 5)
  fake = models.pack(jax.random.uniform(jax.random.key(3), inputs['x'].shape, minval=-1), 5)

  def penalties(s, i):
    one_hots = lambda labels: models.pack(  # noqa: E731
        jax.nn.one_hot(labels, config.num_classes), 5)
    concatenation = lambda h: models.apply(  # noqa: E731
        fns.penalty_critic, s.d_params, s.d_model_state, h, None, train=True,
        noise=i['d_noise'] ^ jnp.uint32(2))[0]
    reference = objectives.gradient_penalty(
        concatenation, jnp.concatenate([real, one_hots(i['y'])], -1),
        jnp.concatenate([fake, one_hots(i['y_fake'])], -1), i['eps'])
    return fns._gradient_penalty(s.d_params, s.d_model_state, real, fake, i, None), reference

  gp, reference = on_mesh(penalties, run.state, inputs)
  np.testing.assert_allclose(gp, reference, rtol=1e-5)
  # The train step's critic update is the one with the permuted conditions.
  expected = on_mesh(lambda s, i: fns.d_update(s, i)[0].d_params, run.state, inputs)
  one = parallel.fetch(run.train_step(run.state, batch)[0])  # Donates run.state: last.
  for a, b in zip(jax.tree.leaves(one.d_params), jax.tree.leaves(expected)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  eight, _ = _one_step(config, 8)
  _assert_same_state(config, one, eight)


def test_an_unrolled_critic_with_permuted_conditions_repeats_the_last_critic_update():
  # The unrolled critic updates (Metz et al.) are the critic's own updates looked ahead, on
  # the step's last critic batch: with permuted conditions, its fakes keep that update's
  # permutation of the real rows' conditions.
  config = _tiny(batch_size=80, pac=5, unrolled_steps=1)
  config.tabular.critic_conditions = 'permuted'
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  fns = steps.StepFunctions(config, run.g_model, run.d_model, *optim.build(config),
                            run.dataset.train_logits)
  batch = run.dataset.batch_at(0)
  critic, generator = fns.draw_randomness(run.state, 80, batch['x'].shape[2:])
  permutation = critic.pop('permutation')
  np.testing.assert_array_equal(np.sort(permutation, axis=1), [np.arange(80)])
  critic.update(x=batch['x'], y=batch['y'],
                y_fake=jnp.take_along_axis(batch['y'], permutation, axis=1))
  generator.update(x=batch['x'][0], y=batch['y'][0],
                   unroll=jax.tree.map(lambda v: v[0], critic))
  step = lambda s, c, g: fns.per_device_step(s, c, g)[0]  # noqa: E731
  expected = parallel.fetch(jax.jit(jax.shard_map(
      step, mesh=run.mesh, in_specs=P(), out_specs=P(), check_vma=False))(
          run.state, critic, generator))
  one = parallel.fetch(run.train_step(run.state, batch)[0])  # Donates run.state: last.
  for a, b in zip(jax.tree.leaves(one.g_params), jax.tree.leaves(expected.g_params)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)


def test_every_option_that_draws_randomness_at_once_still_builds_a_step():
  # Twelve draws a step; the 16 keys every run's step has split leave room for more.
  config = _tiny(batch_size=80, pac=5, unrolled_steps=1, dragan_weight=1.0,
                 instance_noise=0.1)
  config.tabular.critic_conditions = 'permuted'
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  state, _ = jax.eval_shape(run.train_step, run.state, run.dataset.batch_at(0))
  assert jax.tree.structure(state) == jax.tree.structure(run.state)


def test_a_steps_keys_begin_with_the_split_of_16_and_go_on_with_fresh_ones():
  key = jax.random.key(7)
  keys = steps._step_keys(key)
  first = [next(keys) for _ in range(16)]
  more = [next(keys) for _ in range(20)]
  data = lambda ks: np.stack([jax.random.key_data(k) for k in ks])  # noqa: E731
  np.testing.assert_array_equal(data(first), jax.random.key_data(jax.random.split(key, 16)))
  assert len({tuple(k) for k in data(first + more).tolist()}) == 36


def test_unconditional_ctgan_has_no_conditions():
  config = _tiny()
  config.tabular.conditional = False
  run = train.Run(config)
  assert run.config.num_classes == 0 and 'y' not in run.dataset.batch_at(0)
  _, measurements = run.train_step(run.state, run.dataset.batch_at(0))
  assert 'condition_loss' not in measurements


def test_epochs_set_num_steps_as_ctgans_epochs():
  config = _tiny(batch_size=160, num_steps=1)
  config.tabular.epochs = 3
  train.Run(config)
  assert config.num_steps == 3 * (800 // 160)  # german: 800 training rows.


def test_smoke_run_evaluates_checkpoints_and_samples_a_csv(tmp_path):
  workdir = tmp_path / 'run'
  config = ctgan_config.get_config('german,smoke')
  summary = train.train_and_evaluate(config, str(workdir))
  assert summary['steps'] == 2 and os.path.isdir(workdir / 'checkpoints' / '2')
  for name in ('quality_score', 'efficacy_ratio', 'detection_auc'):
    assert np.isfinite(summary[name]), name
  assert any(f.startswith('similarity_') and f.endswith('.png') for f in os.listdir(workdir))
  out = tmp_path / 'rows'
  cmd = [sys.executable, 'scripts/sample.py', f'--workdir={workdir}', '--num=30',
         f'--out={out}', '--condition=housing=rent']
  proc = cli.run(cmd, cwd=ROOT, timeout=300, env=run_env())
  assert proc.returncode == 0, proc.stderr[-2000:]
  rows = pd.read_csv(f'{out}.csv')
  assert list(rows.columns) == ['risk', 'sex', 'job', 'housing', 'saving_accounts',
                                'checking_account', 'credit_amount', 'duration', 'purpose',
                                'age'] and len(rows) == 30
  assert rows['credit_amount'].dtype.kind == 'i'
  again = cli.run(cmd, cwd=ROOT, timeout=300, env=run_env())
  assert again.returncode != 0 and 'exists' in again.stderr  # Never overwrites.
  bad = cli.run(cmd[:4] + [f'--out={out}_castle', '--condition=housing=castle'],
                cwd=ROOT, timeout=300, env=run_env())
  assert bad.returncode != 0
  assert "error: --condition: 'castle' is not a category of 'housing'" in bad.stderr
  assert 'free, own, rent' in bad.stderr
  # Conditions drawn by log-frequency, as ctgan's sample() draws them.
  log = cli.run(cmd[:3] + ['--num=30', f'--out={out}_log', '--condition_frequency=log'],
                cwd=ROOT, timeout=300, env=run_env())
  assert log.returncode == 0, log.stderr[-2000:]
  assert len(pd.read_csv(f'{out}_log.csv')) == 30
  bad = cli.run(cmd[:4] + [f'--out={out}_bad', '--condition_frequency=uniform'],
                cwd=ROOT, timeout=300, env=run_env())
  assert bad.returncode != 0 and bad.stderr.strip().splitlines()[-1] == (
      "error: --condition_frequency='uniform' is not allowed; choose one of: data, log")


def _write(tmp_path, frame):
  path = tmp_path / 'table.csv'
  frame.to_csv(path, index=False)
  return str(path)


def _mixed_frame(n=60):
  rng = np.random.default_rng(0)
  return pd.DataFrame({'age': rng.integers(20, 70, n), 'income': rng.normal(50, 10, n),
                       'city': rng.choice(['a', 'b'], n), 'label': rng.choice(['y', 'n'], n)})


BAD_TABLES = [
    ('missing', lambda f: f.assign(income=f.income.where(f.index != 3)), [],
     ['income', 'missing']),
    ('constant', lambda f: f.assign(city='a'), [], ['city', 'constant']),
    ('unknown_target', lambda f: f, ['--config.tabular.target=salary'], ['salary']),
]


@pytest.mark.parametrize('name,change,flags,expected', BAD_TABLES, ids=[b[0] for b in BAD_TABLES])
def test_bad_csv_tables_are_one_line_errors_naming_the_column(tmp_path, name, change, flags,
                                                              expected):
  del name
  path = _write(tmp_path, change(_mixed_frame()))
  proc = cli.run(
      [sys.executable, '-m', 'gan_jax.main', '--config=configs/ctgan.py:csv,smoke',
       f'--workdir={tmp_path / "run"}', f'--config.dataset=csv:{path}', *flags],
      cwd=ROOT, timeout=300, env=run_env())
  lines = [line for line in proc.stderr.splitlines() if line.startswith('error:')]
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr[-2000:]
  for part in expected:
    assert part in lines[0]
  assert not os.path.exists(tmp_path / 'run' / 'checkpoints')


@pytest.mark.parametrize('overrides,expected', [
    (dict(model='mlp'), ["config.model='mlp'", 'ctgan']),
    (dict(tabular_missing='impute'), ["config.tabular.missing='impute'", 'error, drop']),
    (dict(tabular_g_widths=(256, 0)), ['config.tabular.g_widths', 'positive']),
    (dict(tabular_dropout=1.0), ['config.tabular.dropout=1.0']),
    (dict(tabular_critic_conditions='ctgan'), ["config.tabular.critic_conditions='ctgan'",
                                               'permuted, shared']),
    (dict(tabular_weight_init='xavier'), ["config.tabular.weight_init='xavier'",
                                          'lecun, pytorch']),
])
def test_tabular_config_errors_name_the_field(overrides, expected):
  config = _tiny()
  for key, value in overrides.items():
    if key.startswith('tabular_'):
      config.tabular[key[len('tabular_'):]] = value
    else:
      config[key] = value
  with pytest.raises(validation.ConfigError) as e:
    validation.validate(config)
  for part in expected:
    assert part in str(e.value)


def test_a_table_dataset_needs_the_ctgan_model_and_ctgan_needs_a_table():
  config = ctgan_config.get_config('german,smoke')
  config.dataset = 'ring8'
  with pytest.raises(validation.ConfigError, match='ctgan trains only on tables'):
    validation.validate(config)


@pytest.mark.parametrize('overrides', [
    dict(loss='hinge', n_critic=2, ema_decay=0.9, feature_matching=1.0,
         d_minibatch='discrimination', minibatch_kernels=4, minibatch_dim=3),
    dict(loss='ns', r1_gamma=1.0, instance_noise=0.1, unrolled_steps=1, dragan_weight=1.0),
], ids=['hinge-ema-fm-minibatch', 'ns-r1-noise-unrolled-dragan'])
def test_the_librarys_objectives_and_remedies_compose_with_ctgan(overrides):
  config = _tiny(batch_size=80, pac=5, **overrides)
  one, m_one = _one_step(config, 1)
  eight, _ = _one_step(config, 8)
  _assert_same_state(config, one, eight)
  assert all(np.isfinite(v) for v in m_one.values())
  if config.ema_decay:  # Standing statistics of the EMA generator, conditions included.
    run = train.Run(config)
    run.state = run.train_step(run.state, run.dataset.batch_at(0))[0]
    assert np.all(np.isfinite(jax.tree.leaves(parallel.fetch(run.seed_state(0)))[0]))
