"""The stabilisation toolkit changes the computation the way its paper says: closed forms and
numpy references on small fixed inputs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from gan_jax import models, objectives, parallel, steps, train
from gan_jax.models import layers
from tests.helpers import tiny_config


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


@pytest.mark.parametrize('real_target,fake_target', [(1.0, 0.0), (0.9, 0.0), (0.9, 0.1)])
def test_label_smoothing_is_cross_entropy_against_the_smoothed_targets(real_target,
                                                                       fake_target):
  real = np.array([2.0, -1.0, 0.5])
  fake = np.array([-3.0, 0.2])
  bce = lambda p, t: -(t * np.log(p) + (1 - t) * np.log(1 - p))  # noqa: E731
  expected = (np.mean(bce(_sigmoid(real), real_target))
              + np.mean(bce(_sigmoid(fake), fake_target)))
  ours = objectives.minimax_d_loss(jnp.asarray(real), jnp.asarray(fake),
                                   real_target=real_target, fake_target=fake_target)
  np.testing.assert_allclose(ours, expected, rtol=1e-6)
  ls = objectives.lsgan_d_loss(jnp.asarray(real), jnp.asarray(fake), real_target, fake_target)
  np.testing.assert_allclose(ls, 0.5 * np.mean((real - real_target) ** 2)
                             + 0.5 * np.mean((fake - fake_target) ** 2), rtol=1e-6)


def test_instance_noise_std_anneals_linearly_to_zero():
  c = tiny_config(instance_noise=0.2, instance_noise_steps=100)
  stds = [float(steps.noise_std(c, s)) for s in (0, 25, 100, 150)]
  np.testing.assert_allclose(stds, [0.2, 0.15, 0.0, 0.0], atol=1e-7)
  assert float(steps.noise_std(tiny_config(instance_noise=0.3), 10_000)) == pytest.approx(0.3)


def _two_steps(config):
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  state, out = run.state, []
  for step in range(2):
    state, _ = run.train_step(state, run.dataset.batch_at(step))
    out.append(parallel.fetch(state.d_params))
  return out


def test_instance_noise_changes_the_critic_update():
  plain = _two_steps(tiny_config())
  noisy = _two_steps(tiny_config(instance_noise=0.5, instance_noise_steps=1))
  assert any(not np.allclose(a, b) for a, b in
             zip(jax.tree.leaves(plain[0]), jax.tree.leaves(noisy[0])))


def _step_functions(config):
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  fns = steps.StepFunctions(config, run.g_model, run.d_model, *_txs(config))
  return run, fns


def _txs(config):
  from gan_jax import optim  # pylint: disable=import-outside-toplevel
  return optim.build(config)


def _on_one_device(fn, mesh):
  """Runs per-device code (it uses the 'data' axis) on a 1-device mesh."""
  return jax.jit(jax.shard_map(fn, mesh=mesh, in_specs=P(), out_specs=P(), check_vma=False))


def _generator_inputs(run, config, key=0):
  batch = run.dataset.batch_at(0)
  z = jax.random.normal(jax.random.PRNGKey(key), (config.batch_size, config.z_dim))
  return {'z': z, 'x': batch['x'][0]}


def test_feature_matching_value_is_the_squared_distance_of_mean_critic_features():
  config = tiny_config(feature_matching=1.0, g_adversarial=False)
  run, fns = _step_functions(config)
  inputs = _generator_inputs(run, config)
  loss, (_, _, m) = _on_one_device(
      lambda s, i: fns.g_loss(s.g_params, s, i), run.mesh)(run.state, inputs)
  st = run.state
  fake, _ = models.apply(run.g_model, st.g_params, st.g_model_state, inputs['z'], train=True)
  feats = lambda x: np.asarray(models.apply_with_features(  # noqa: E731
      run.d_model, st.d_params, st.d_model_state, x, train=True)[2], np.float64)
  expected = np.sum((feats(inputs['x']).mean(0) - feats(fake).mean(0)) ** 2)
  np.testing.assert_allclose(m['feature_matching'], expected, rtol=1e-5)
  np.testing.assert_allclose(loss, expected, rtol=1e-5)  # Alone: no adversarial term.


def test_minibatch_discrimination_equals_the_papers_formula():
  f = np.random.default_rng(0).normal(size=(5, 6)).astype(np.float32)
  layer = layers.MinibatchDiscrimination(kernels=3, dim=4, sync=False)
  params = layer.init(jax.random.PRNGKey(0), f)
  t = np.asarray(params['params']['T'], np.float64).reshape(6, 3, 4)
  m = np.einsum('na,abc->nbc', f.astype(np.float64), t)
  c = np.exp(-np.abs(m[:, None] - m[None]).sum(-1))  # (5, 5, kernels)
  expected = (c.sum(1) - 1.0) / 4.0
  np.testing.assert_allclose(layer.apply(params, f), expected, rtol=1e-5, atol=1e-7)


@pytest.mark.parametrize('fixed', [False, True], ids=['free', 'fixed_statistics'])
def test_minibatch_discriminations_gradient_equals_the_closed_form(fixed):
  # d/dM_i of mean_{j != i} exp(-||M_i - M_j||_1) is -c_ij sign(M_i - M_j) / (n - 1); a free
  # layer also differentiates each example where it is another's M_j (+c_ij sign).
  rng = np.random.default_rng(2)
  f = rng.normal(size=(5, 6)).astype(np.float32)
  g = rng.normal(size=(5, 3))
  layer = layers.MinibatchDiscrimination(kernels=3, dim=4, sync=False, fixed_statistics=fixed)
  params = layer.init(jax.random.PRNGKey(0), f)
  t = np.asarray(params['params']['T'], np.float64)
  m = (f.astype(np.float64) @ t).reshape(5, 3, 4)
  sign = np.sign(m[:, None] - m[None])  # (i, j, kernel, dim)
  c = np.exp(-np.abs(m[:, None] - m[None]).sum(-1)) * (1.0 - np.eye(5))[:, :, None]
  w = g[:, None, :, None] * c[..., None] * sign / 4.0
  dm = -w.sum(1) + (0.0 if fixed else w.sum(0))
  loss = lambda p, x: jnp.sum(layer.apply(p, x) * g)  # noqa: E731
  d_params, d_f = jax.grad(loss, argnums=(0, 1))(params, f)
  np.testing.assert_allclose(d_params['params']['T'], f.T.astype(np.float64) @ dm.reshape(5, 12),
                             rtol=1e-5, atol=1e-7)
  np.testing.assert_allclose(d_f, dm.reshape(5, 12) @ t.T, rtol=1e-5, atol=1e-7)


def _progan_stddev(x, group):
  """ProGAN's minibatch_stddev_layer (NHWC, one new feature map) in float64 numpy, on
  consecutive groups."""
  n = x.shape[0]
  y = x.astype(np.float64).reshape((n // group, group) + x.shape[1:])
  std = np.sqrt(np.mean((y - y.mean(1, keepdims=True)) ** 2, axis=1) + 1e-8)
  per_group = std.reshape(n // group, -1).mean(-1)
  column = np.broadcast_to(np.repeat(per_group, group).reshape((n,) + (1,) * (x.ndim - 1)),
                           x.shape[:-1] + (1,))
  return np.concatenate([x, column], axis=-1)


def test_minibatch_stddev_appends_progans_group_statistic_as_a_feature_map():
  h = np.random.default_rng(1).normal(size=(8, 3, 3, 5)).astype(np.float32)
  out = np.asarray(layers.minibatch_stddev(jnp.asarray(h), group_size=4, sync=False))
  assert out.shape == (8, 3, 3, 6)
  np.testing.assert_allclose(out, _progan_stddev(h, 4), rtol=1e-5)
  assert not np.allclose(out[0, ..., -1], out[4, ..., -1])  # One value per group.
  small = np.asarray(layers.minibatch_stddev(jnp.asarray(h[:2]), group_size=4, sync=False))
  np.testing.assert_allclose(small, _progan_stddev(h[:2], 2), rtol=1e-5)  # min(4, batch).


def test_the_minibatch_stddev_reaches_the_output_through_the_critics_last_layers():
  # Not a per-batch offset: two batches that differ only in their spread give a real
  # example different scores relative to another real example (ProGAN's placement).
  for config in (tiny_config(d_minibatch='stddev'),
                 tiny_config(dataset='digits8x8', model='dcgan', image_shape=(8, 8, 1),
                             evals=(), g_width=4, d_width=4, d_minibatch='stddev')):
    run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
    x = np.asarray(run.dataset.batch_at(0)['x'][0][:4])
    score = lambda b: np.asarray(models.apply(  # noqa: E731
        run.d_model, run.state.d_params, run.state.d_model_state, jnp.asarray(b),
        train=False)[0])
    narrow, wide = score(x), score(np.concatenate([x[:2], 10.0 * x[2:]]))
    assert abs((narrow[0] - narrow[1]) - (wide[0] - wide[1])) > 1e-4


def test_fixed_statistics_keep_the_minibatch_values_and_stop_their_gradient():
  h = jnp.asarray(np.random.default_rng(2).normal(size=(8, 5)), jnp.float32)
  stat = lambda x, fixed: jnp.sum(layers.minibatch_stddev(  # noqa: E731
      x, group_size=4, sync=False, fixed_statistics=fixed)[:, -1])
  np.testing.assert_allclose(stat(h, True), stat(h, False), rtol=1e-6)
  np.testing.assert_array_equal(jax.grad(stat)(h, True), np.zeros((8, 5)))
  assert np.abs(jax.grad(stat)(h, False)).max() > 1e-3


def test_pacgan_packs_consecutive_samples_on_the_last_axis():
  x = np.arange(4 * 3 * 3 * 2).reshape(4, 3, 3, 2)
  packed = np.asarray(models.pack(jnp.asarray(x), 2))
  assert packed.shape == (2, 3, 3, 4)
  np.testing.assert_array_equal(packed[1], np.concatenate([x[2], x[3]], axis=-1))
  v = np.arange(6 * 2).reshape(6, 2)
  np.testing.assert_array_equal(models.pack(jnp.asarray(v), 3),
                                v.reshape(2, 6))


def test_dragan_penalty_of_a_linear_critic_is_its_closed_form():
  w = jnp.asarray([0.6, -1.7, 0.3])
  critic = lambda x: x @ w  # noqa: E731  grad = w everywhere
  real = jax.random.normal(jax.random.PRNGKey(0), (8, 3))
  u = jax.random.uniform(jax.random.PRNGKey(1), (8, 3))
  alpha = jax.random.uniform(jax.random.PRNGKey(2), (8,))
  penalty = objectives.dragan_penalty(critic, real, u, alpha, jnp.std(real))
  np.testing.assert_allclose(penalty, (np.linalg.norm(w) - 1.0) ** 2, rtol=1e-5)


def test_lazy_r1_is_applied_every_nth_step_only():
  config = tiny_config(r1_gamma=1.0, r1_every=2)
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  state, r1 = run.state, []
  for step in range(3):
    state, m = run.train_step(state, run.dataset.batch_at(step))
    r1.append(float(parallel.fetch(m)['r1']))
  assert r1[0] > 0 and r1[1] == 0 and r1[2] > 0


def test_critic_accuracy_counts_both_sides():
  real, fake = jnp.asarray([1.0, -0.5, 2.0, 0.1]), jnp.asarray([-1.0, 0.3])
  assert float(steps._accuracy(real, fake, 0.0)) == pytest.approx(0.5 * (3 / 4 + 1 / 2))


def test_unrolled_generator_gradient_differs_from_plain_and_matches_finite_differences():
  with jax.enable_x64(True):
    config = tiny_config(unrolled_steps=3, d_lr=0.05, batch_size=8)
    config.mlp.width = 4
    run, fns = _step_functions(config)
    to64 = lambda tree: jax.tree.map(  # noqa: E731
        lambda a: a.astype(jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, tree)
    state = to64(parallel.fetch(run.state))
    critic, generator = fns.draw_randomness(state, 8, (2,))
    x = run.dataset.batch_at(0)['x'][0]
    unroll = {'z': critic['z'][0], 'eps': critic['eps'][0], 'x': x}
    inputs = to64({'z': generator['z'], 'x': x, 'unroll': unroll})
    plain_inputs = {'z': inputs['z'], 'x': inputs['x']}
    loss = lambda p, i: fns.g_loss(p, state, i)[0]  # noqa: E731
    run_one = lambda f: _on_one_device(f, run.mesh)  # noqa: E731
    grad_unrolled = run_one(lambda s, i: jax.grad(loss)(s.g_params, i))(state, inputs)
    grad_plain = run_one(lambda s, i: jax.grad(loss)(s.g_params, i))(state, plain_inputs)
    flat_u = np.concatenate([np.ravel(a) for a in jax.tree.leaves(grad_unrolled)])
    flat_p = np.concatenate([np.ravel(a) for a in jax.tree.leaves(grad_plain)])
    assert np.linalg.norm(flat_u - flat_p) > 1e-3 * np.linalg.norm(flat_p)

    direction = jax.tree.map(lambda a: jnp.asarray(
        np.random.default_rng(3).normal(size=a.shape)), state.g_params)
    h = 1e-5
    shifted = lambda sign: jax.tree.map(  # noqa: E731
        lambda p, d: p + sign * h * d, state.g_params, direction)
    value = run_one(lambda s, i, p: loss(p, i))
    numeric = (value(state, inputs, shifted(1)) - value(state, inputs, shifted(-1))) / (2 * h)
    analytic = sum(np.vdot(g, d) for g, d in zip(jax.tree.leaves(grad_unrolled),
                                                  jax.tree.leaves(direction)))
    np.testing.assert_allclose(numeric, analytic, rtol=1e-5)


def test_the_unrolled_critic_repeats_the_critics_own_update_on_the_steps_last_batch():
  # Metz et al.'s look-ahead, as the authors' code unrolls: k more updates of the critic's
  # own optimizer on the batch and latents of the step's last critic update.
  config = tiny_config(unrolled_steps=2, n_critic=2, batch_size=8)
  run, fns = _step_functions(config)
  state = parallel.fetch(run.state)
  critic, _ = fns.draw_randomness(state, 8, (2,))
  critic['x'] = run.dataset.batch_at(0)['x']
  last = jax.tree.map(lambda v: v[1], critic)

  def look_ahead(s, inputs):
    return fns._unrolled_critic(s.g_params, s, inputs)[0]  # pylint: disable=protected-access

  def two_updates(s, inputs):
    for _ in range(2):
      s, _ = fns.d_update(s, inputs)
    return s.d_params

  run_one = lambda f: _on_one_device(f, run.mesh)  # noqa: E731
  unrolled = run_one(look_ahead)(state, last)
  repeated = run_one(two_updates)(state, last)
  for a, b in zip(jax.tree.leaves(unrolled), jax.tree.leaves(repeated)):
    np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-7)
  once = run_one(lambda s, i: fns.d_update(s, i)[0].d_params)(state, last)
  assert not all(np.allclose(a, b) for a, b in
                 zip(jax.tree.leaves(unrolled), jax.tree.leaves(once)))
