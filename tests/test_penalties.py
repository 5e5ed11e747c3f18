"""Gradient penalties penalise each example's own input gradient, with batch-level statistics
held fixed, whatever the critic mixes across the batch (minibatch layers, batch norm); lazy
R1 counts critic updates; conditional WGAN-GP interpolates within one label."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jax.sharding import PartitionSpec as P

from gan_jax import optim, parallel, steps, train
from gan_jax.models import layers
from tests.helpers import apply, tiny_config


def _one_device_run(config):
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  return run, steps.StepFunctions(config, run.g_model, run.d_model, *optim.build(config))


def _critic_measurements(run, fns, real, fake, inputs, update=0):
  """The measurements of the step's critic loss, computed as the train step does."""
  fn = jax.shard_map(
      lambda s, r, f, i: fns._d_loss(s.d_params, s.d_model_state, r, f, i, update)[1][1],
      mesh=run.mesh, in_specs=P(), out_specs=P(), check_vma=False)
  return parallel.fetch(jax.jit(fn)(run.state, real, fake, inputs))


def _own_gradients(critic, x):
  """Row i: the gradient of example i's score with respect to x_i, the other rows fixed."""
  def score_i(v, i):
    return critic(x.at[i].set(v))[i]
  return np.stack([np.asarray(jax.grad(score_i)(x[i], i)) for i in range(x.shape[0])])


def _sq_norms(g):
  return np.sum(np.asarray(g, np.float64).reshape(g.shape[0], -1) ** 2, axis=1)


def _real_and_fake(run, config, key=1):
  real = run.dataset.batch_at(0)['x'][0]
  fake = real + 0.5 * jax.random.normal(jax.random.PRNGKey(key), real.shape)
  return real, fake


def test_wgan_gp_with_minibatch_discrimination_penalises_each_examples_own_gradient():
  config = tiny_config(loss='wgan_gp', d_minibatch='discrimination', minibatch_kernels=4,
                       minibatch_dim=3)
  run, fns = _one_device_run(config)
  real, fake = _real_and_fake(run, config)
  eps = jax.random.uniform(jax.random.PRNGKey(2), (config.batch_size,))
  m = _critic_measurements(run, fns, real, fake, {'eps': eps})
  x_hat = eps[:, None] * real + (1.0 - eps[:, None]) * fake
  def critic(x):
    return apply(run.d_model, run.state.d_params, {}, x, train=True)[0]
  norms = np.sqrt(_sq_norms(_own_gradients(critic, x_hat)))
  np.testing.assert_allclose(m['gp'], np.mean((norms - 1.0) ** 2), rtol=1e-5)
  # The summed-output gradient the penalty once took is not that (cross-example terms).
  batched = np.sqrt(_sq_norms(jax.grad(lambda x: jnp.sum(critic(x)))(x_hat)))
  assert abs(np.mean((batched - 1.0) ** 2) - m['gp']) > 1e-3 * m['gp']


def _batch_statistics(model, params, model_state, x):
  """Each batch-norm layer's batch mean and variance on `x`, as its batch_stats tree: one
  training-mode pass from zero running averages leaves (1 - momentum) x the statistics."""
  zeros = jax.tree.map(jnp.zeros_like, model_state)
  _, new = apply(model, params, zeros, x, train=True)
  return jax.tree.map(lambda v: v / (1.0 - layers.BN_MOMENTUM), new)


def test_r1_of_a_batch_norm_critic_is_the_per_example_gradient_at_the_batch_statistics():
  # 28x28: two strided convolutions, the second one batch-normalised.
  config = tiny_config(dataset='mnist5k', model='dcgan', image_shape=(28, 28, 1), evals=(),
                       g_width=4, d_width=4, d_norm='batch', r1_gamma=1.0, loss='ns',
                       sync_batch_stats=False)  # The reference runs outside shard_map.
  run, fns = _one_device_run(config)
  real, fake = _real_and_fake(run, config)
  eps = jnp.zeros((config.batch_size,))
  m = _critic_measurements(run, fns, real, fake, {'eps': eps})
  # Reference: the critic in eval mode with its running statistics set to the real batch's,
  # where examples are independent, so its summed-output gradient is per example.
  params, state = run.state.d_params, run.state.d_model_state
  stats = _batch_statistics(run.d_model, params, state, real)
  eval_critic = lambda x: apply(run.d_model, params, stats, x, train=False)[0]  # noqa: E731
  train_critic = lambda x: apply(run.d_model, params, state, x, train=True)[0]  # noqa: E731
  np.testing.assert_allclose(eval_critic(real), train_critic(real), rtol=1e-4, atol=1e-6)
  expected = np.mean(_sq_norms(jax.grad(lambda x: jnp.sum(eval_critic(x)))(real)))
  np.testing.assert_allclose(m['r1'], expected, rtol=1e-4)
  batched = np.mean(_sq_norms(jax.grad(lambda x: jnp.sum(train_critic(x)))(real)))
  assert abs(batched - expected) > 1e-3 * expected


def test_our_batch_norm_equals_flax_batch_norm_in_both_modes():
  import flax.linen as nn  # pylint: disable=import-outside-toplevel
  x = jax.random.normal(jax.random.PRNGKey(0), (6, 3, 3, 5)) * 2.0 + 1.0
  ours = layers.BatchNorm(use_running_average=False)
  theirs = nn.BatchNorm(use_running_average=False, momentum=layers.BN_MOMENTUM, epsilon=1e-5)
  v = theirs.init(jax.random.PRNGKey(1), x)
  v = {'params': jax.tree.map(lambda p: p + 0.3, v['params']), 'batch_stats': v['batch_stats']}
  for train_mode in (True, False):
    kw = {'use_running_average': not train_mode}
    a, sa = ours.clone(**kw).apply(v, x, mutable=['batch_stats'])
    b, sb = theirs.clone(**kw).apply(v, x, mutable=['batch_stats'])
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
    for p, q in zip(jax.tree.leaves(sa), jax.tree.leaves(sb)):
      np.testing.assert_allclose(p, q, rtol=1e-6)


def test_fixed_statistics_leave_batch_norm_outputs_unchanged_and_stop_their_gradient():
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 3))
  bn = layers.BatchNorm(use_running_average=False)
  v = bn.init(jax.random.PRNGKey(1), x)
  out = lambda m, x: m.apply(v, x, mutable=['batch_stats'])[0]  # noqa: E731
  fixed = bn.clone(fixed_statistics=True)
  np.testing.assert_allclose(out(fixed, x), out(bn, x), rtol=1e-6)
  # With the statistics fixed, d out_i / d x_i is 1 / sqrt(var + eps) and nothing else.
  var = np.var(np.asarray(x, np.float64), axis=0)
  g = jax.grad(lambda x: jnp.sum(out(fixed, x)))(x)
  np.testing.assert_allclose(g, np.broadcast_to(1.0 / np.sqrt(var + 1e-5), x.shape), rtol=1e-5)


@pytest.mark.parametrize('r1_every,expected', [(2, [0, 0, 0]), (3, [0, 1, 0])])
def test_lazy_r1_applies_on_every_r1_every_th_critic_update(r1_every, expected):
  # n_critic=2: step t runs critic updates 2t and 2t + 1, and reports the last one's r1.
  config = tiny_config(n_critic=2, r1_gamma=1.0, r1_every=r1_every, num_steps=3)
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:1]))
  state, applied = run.state, []
  for step in range(3):
    state, m = run.train_step(state, run.dataset.batch_at(step))
    applied.append(int(float(parallel.fetch(m)['r1']) > 0))
  assert applied == expected


def test_conditional_wgan_gp_generates_the_critics_fakes_for_the_real_labels():
  config = tiny_config(dataset='digits8x8', model='dcgan', image_shape=(8, 8, 1), evals=(),
                       g_width=4, d_width=4, d_norm='layer', loss='wgan_gp', num_classes=10)
  run, fns = _one_device_run(config)
  assert fns.fakes_for_real_labels
  batch = run.dataset.batch_at(0)
  critic_inputs, _ = fns.draw_randomness(run.state, config.batch_size, (8, 8, 1))
  inputs = jax.tree.map(lambda v: v[0], critic_inputs)
  inputs.update(x=batch['x'][0], y=batch['y'][0])

  def d_params_after(y_fake):
    fn = jax.shard_map(lambda s, i: fns.d_update(s, i)[0].d_params, mesh=run.mesh,
                       in_specs=P(), out_specs=P(), check_vma=False)
    return parallel.fetch(jax.jit(fn)(run.state, {**inputs, 'y_fake': y_fake}))

  same = d_params_after(batch['y'][0])
  other = d_params_after((batch['y'][0] + 1) % 10)
  new_state, _ = run.train_step(run.state, batch)  # Donates run.state: last.
  for a, b, c in zip(jax.tree.leaves(parallel.fetch(new_state.d_params)),
                     jax.tree.leaves(same), jax.tree.leaves(other)):
    np.testing.assert_allclose(a, b, rtol=1e-5, atol=1e-6)
  assert any(not np.allclose(a, c) for a, c in zip(jax.tree.leaves(same),
                                                   jax.tree.leaves(other)))
