"""The train step: what one update computes, n_critic, clipping, EMA, retracing, determinism."""
import logging

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import spatial

from gan_jax import models, objectives, optim, steps, train
from gan_jax.train import Run
from tests.helpers import backend_compiles, tiny_config


def _leaves(tree):
  return [np.asarray(x) for x in jax.tree.leaves(tree)]


def _run_steps(config, n):
  run = Run(config)
  for step in range(n):
    run.state, m = run.train_step(run.state, run.dataset.batch_at(step))
  return run, jax.device_get(m)


def _first_step(config):
  """(run, its initial state on the host, step 0's batch, and step 0's critic and generator
  randomness) of a 2-D experiment."""
  run = Run(config)
  s0 = jax.device_get(run.state)
  fns = steps.StepFunctions(config, run.g_model, run.d_model, *optim.build(config))
  critic_inputs, generator_inputs = fns.draw_randomness(s0, config.batch_size, (2,))
  return run, s0, run.dataset.batch_at(0), critic_inputs, generator_inputs


@pytest.mark.parametrize('loss', ['ns', 'hinge'])
def test_one_step_equals_hand_written_critic_then_generator_update(loss):
  config = tiny_config(loss=loss)
  run, s0, batch, critic_inputs, generator_inputs = _first_step(config)
  g_tx, d_tx = optim.build(config)
  obj = objectives.get(loss)
  g = lambda p, z: run.g_model.apply({'params': p}, z)
  d = lambda p, x: run.d_model.apply({'params': p}, x)

  @jax.jit  # One program, not one per operation (tests/helpers.py: jit_model_fn).
  def hand_written(s0, x, z_d, z_g):
    fake = g(s0.g_params, z_d)
    d_grads = jax.grad(lambda p: obj.d_loss(d(p, x), d(p, fake)))(s0.d_params)
    updates, _ = d_tx.update(d_grads, s0.d_opt_state, s0.d_params)
    d_params = optax.apply_updates(s0.d_params, updates)
    g_grads = jax.grad(lambda p: obj.g_loss(d(d_params, g(p, z_g))))(s0.g_params)
    updates, _ = g_tx.update(g_grads, s0.g_opt_state, s0.g_params)
    return d_params, optax.apply_updates(s0.g_params, updates), d_grads, g_grads

  d_params, g_params, d_grads, g_grads = hand_written(
      s0, batch['x'][0], critic_inputs['z'][0], generator_inputs['z'])

  state, m = run.train_step(run.state, batch)
  for got, want in zip(_leaves(state.d_params), _leaves(d_params)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  for got, want in zip(_leaves(state.g_params), _leaves(g_params)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(m['g_grad_norm'], optax.tree.norm(g_grads), rtol=1e-5)
  np.testing.assert_allclose(m['d_grad_norm'], optax.tree.norm(d_grads), rtol=1e-5)
  assert int(state.step) == 1


def test_simultaneous_updates_step_both_networks_from_the_same_point_on_the_same_fakes():
  # The ALI algorithm of PacGAN's reference: both gradients at the step's starting
  # parameters; the generator's loss on the critic's own fakes (the generator's latents of
  # an alternating step go unused).
  # A large critic step: Adam's first update is nearly lr * sign(gradient), so a critic
  # moved by the default lr would leave the generator's update the same either way.
  config = tiny_config(loss='ns', update_order='simultaneous', d_lr=0.1)
  run, s0, batch, critic_inputs, _ = _first_step(config)
  g_tx, d_tx = optim.build(config)
  obj = objectives.get('ns')
  g = lambda p, z: run.g_model.apply({'params': p}, z)
  d = lambda p, x: run.d_model.apply({'params': p}, x)

  @jax.jit
  def hand_written(s0, x, z):
    d_grads = jax.grad(lambda p: obj.d_loss(d(p, x), d(p, g(s0.g_params, z))))(s0.d_params)
    g_grads = jax.grad(lambda p: obj.g_loss(d(s0.d_params, g(p, z))))(s0.g_params)
    d_updates, _ = d_tx.update(d_grads, s0.d_opt_state, s0.d_params)
    g_updates, _ = g_tx.update(g_grads, s0.g_opt_state, s0.g_params)
    return (optax.apply_updates(s0.d_params, d_updates),
            optax.apply_updates(s0.g_params, g_updates), g_grads)

  d_params, g_params, g_grads = hand_written(s0, batch['x'][0], critic_inputs['z'][0])

  state, m = run.train_step(run.state, batch)
  for got, want in zip(_leaves(state.d_params) + _leaves(state.g_params),
                       _leaves(d_params) + _leaves(g_params)):
    np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(m['g_grad_norm'], optax.tree.norm(g_grads), rtol=1e-5)
  assert int(state.step) == 1


def test_train_step_compiles_once_across_steps():
  run, _ = _run_steps(tiny_config(), 5)
  assert run.train_step._cache_size() == 1  # pylint: disable=protected-access


def test_a_run_fresh_or_resumed_compiles_its_train_step_once_ahead_of_its_first_step(
    tmp_path, caplog):
  # The loop compiles the step on a thread while a fresh run creates its state: the steps
  # must run that program, whether they measure or not, and a resumed run (its state
  # restored into the abstract shape the thread compiled for) must not compile another.
  config = tiny_config(num_seeds=2, num_steps=4, checkpoint_every=2)
  with backend_compiles() as compiles, caplog.at_level(logging.INFO):
    train.train_and_evaluate(config, str(tmp_path))
    assert compiles.count('jit(train_step)') == 1
    config.num_steps = 6
    train.train_and_evaluate(config, str(tmp_path))
  assert compiles.count('jit(train_step)') == 2
  assert caplog.text.count('the train step compiled in') == 2


DIAGNOSTICS = ('d_accuracy', 'feature_diversity', 'd_grad_norm', 'd_update_norm',
               'd_param_norm', 'g_grad_norm', 'g_update_norm', 'g_param_norm')


def test_steps_between_log_steps_train_the_same_and_leave_the_diagnostics_nan():
  # The loop passes measure=False between log steps: one program serves both kinds of step,
  # and skipping the diagnostics must not touch the training (n_critic 2 and lazy R1 too).
  config = tiny_config(n_critic=2, r1_gamma=1.0, r1_every=2, ema_decay=0.9)
  measured, unmeasured = Run(config), Run(config)
  for step in range(3):
    batch = measured.dataset.batch_at(step)
    measured.state, m = measured.train_step(measured.state, batch, True)
    unmeasured.state, u = unmeasured.train_step(unmeasured.state, batch, False)
  for x, y in zip(_leaves(measured.state), _leaves(unmeasured.state)):
    np.testing.assert_array_equal(x, y)
  m, u = jax.device_get((m, u))
  assert set(DIAGNOSTICS) <= set(m) and set(m) == set(u)
  for name in m:
    if name in DIAGNOSTICS:
      assert np.isfinite(m[name]) and np.isnan(u[name]), name
    else:  # Losses and penalties are always measured.
      assert m[name] == u[name], name
  assert measured.train_step._cache_size() == 1  # pylint: disable=protected-access
  # The always-measuring default program agrees with the loop's measured steps.
  _, default = _run_steps(config, 3)
  for name in m:
    np.testing.assert_allclose(default[name], m[name], rtol=1e-5, err_msg=name)


def test_where_a_conditional_would_stall_the_device_every_step_measures(monkeypatch):
  # Accelerators (steps.skips_diagnostics false) ignore measure=False: no conditional.
  monkeypatch.setattr(steps, 'skips_diagnostics', lambda mesh: False)
  run = Run(tiny_config())
  batch = run.dataset.batch_at(0)
  assert 'stablehlo.case' not in run.train_step.lower(run.state, batch, False).as_text()
  _, m = run.train_step(run.state, batch, False)
  assert all(np.isfinite(m[name]) for name in DIAGNOSTICS)
  monkeypatch.undo()  # On CPU the same step branches on the flag.
  run = Run(tiny_config())
  assert 'stablehlo.case' in run.train_step.lower(run.state, batch, False).as_text()


def test_the_step_has_no_host_callbacks_and_reuses_the_donated_state():
  run = Run(tiny_config())
  batch = run.dataset.batch_at(0)
  hlo = run.train_step.lower(run.state, batch).as_text()
  assert 'callback' not in hlo and 'outfeed' not in hlo
  old = run.state
  run.state, _ = run.train_step(run.state, batch)
  assert all(leaf.is_deleted() for leaf in jax.tree.leaves(old))


def test_feature_diversity_is_the_ratio_of_mean_pairwise_critic_feature_distances():
  run, s0, batch, critic_inputs, _ = _first_step(tiny_config())
  fake = run.g_model.apply({'params': s0.g_params}, critic_inputs['z'][0])

  def spread(x):
    f = models.apply_with_features(run.d_model, s0.d_params, {}, x, train=True)[2]
    return np.mean(spatial.distance.pdist(np.asarray(f, np.float64)))

  _, m = run.train_step(run.state, batch)
  np.testing.assert_allclose(m['feature_diversity'], spread(fake) / spread(batch['x'][0]),
                             rtol=1e-4)


def test_same_seed_gives_bitwise_identical_runs_and_another_seed_does_not():
  a, ma = _run_steps(tiny_config(seed=3), 3)
  b, mb = _run_steps(tiny_config(seed=3), 3)
  c, _ = _run_steps(tiny_config(seed=4), 3)
  for x, y in zip(_leaves(a.state), _leaves(b.state)):
    np.testing.assert_array_equal(x, y)
  assert ma == mb
  assert not np.array_equal(_leaves(a.state.g_params)[0], _leaves(c.state.g_params)[0])


def test_n_critic_runs_that_many_critic_updates_per_generator_update():
  run, _ = _run_steps(tiny_config(n_critic=3), 2)
  count = lambda opt_state: [int(v) for _, v in optax.tree_utils.tree_get_all_with_path(
      opt_state, 'count')]
  d_counts, g_counts = count(run.state.d_opt_state), count(run.state.g_opt_state)
  assert d_counts and set(d_counts) == {6} and g_counts and set(g_counts) == {2}


def test_wgan_clips_every_critic_weight():
  run, _ = _run_steps(tiny_config(loss='wgan', wgan_clip=0.01, d_lr=0.1), 2)
  assert max(np.abs(x).max() for x in _leaves(run.state.d_params)) <= 0.01 + 1e-7


def test_wgan_gp_reports_its_penalty_and_other_losses_do_not():
  _, m = _run_steps(tiny_config(loss='wgan_gp'), 1)
  assert 'gp' in m and m['gp'] >= 0
  _, m = _run_steps(tiny_config(loss='hinge'), 1)
  assert 'gp' not in m


def test_probabilistic_losses_report_probabilities_and_others_raw_scores():
  _, m = _run_steps(tiny_config(loss='ns'), 1)
  assert 0 < m['d_real'] < 1 and 0 < m['d_fake'] < 1
  assert {'d_loss', 'g_loss', 'd_grad_norm', 'g_grad_norm', 'd_param_norm', 'g_param_norm',
          'd_update_norm', 'g_update_norm'} <= set(m)


def test_ema_follows_its_closed_form():
  ema = {'w': jnp.array([1.0, 2.0])}
  new = {'w': jnp.array([3.0, 6.0])}
  before = optim.ema_update(ema, new, decay=0.9, step=4, start=5)
  np.testing.assert_allclose(before['w'], [3.0, 6.0])
  after = optim.ema_update(ema, new, decay=0.9, step=5, start=5)
  np.testing.assert_allclose(after['w'], [0.9 * 1 + 0.1 * 3, 0.9 * 2 + 0.1 * 6], rtol=1e-6)


def test_ema_params_trail_the_generator_when_enabled():
  run, _ = _run_steps(tiny_config(ema_decay=0.5), 3)
  ema, params = _leaves(run.state.ema_params), _leaves(run.state.g_params)
  assert any(not np.array_equal(e, p) for e, p in zip(ema, params))
  run, _ = _run_steps(tiny_config(), 1)
  assert run.state.ema_params is None


@pytest.mark.parametrize('schedule', ['linear', 'cosine'])
def test_schedules_decay_to_zero(schedule):
  rate = optim.learning_rate_schedule(schedule, 1e-3, 100)
  np.testing.assert_allclose(rate(0), 1e-3, rtol=1e-6)
  np.testing.assert_allclose(rate(100), 0.0, atol=1e-12)
