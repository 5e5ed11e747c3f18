"""An EMA generator is evaluated and sampled with batch-norm statistics of its own weights
(standing statistics), not with the running averages collected for the live weights."""
import flax.linen as nn
import jax
import jax.numpy as jnp
import numpy as np
from jax.sharding import PartitionSpec as P

from gan_jax import evaluate, models, parallel, train
from gan_jax.parallel import DATA_AXIS
from tests.helpers import tiny_config


def _dcgan_config(**overrides):
  return tiny_config(dataset='mnist5k', model='dcgan', image_shape=(28, 28, 1), evals=(),
                     g_width=4, d_width=4, d_norm='batch', ema_decay=0.9,
                     ema_standing_batches=3, **overrides)


def _perturbed_ema_run(config, devices=1):
  """A run whose EMA weights differ from the live ones as a long average would: every
  kernel scaled, so each layer's activations have other statistics."""
  run = train.Run(config, mesh=parallel.make_mesh(jax.devices()[:devices]))
  ema = jax.tree.map(lambda w: 1.7 * w if w.ndim > 1 else w, run.state.g_params)
  run.state = run.state.replace(ema_params=ema)
  return run


def test_standing_statistics_of_the_first_layer_are_its_moments_over_all_latents():
  config = _dcgan_config()
  run = _perturbed_ema_run(config)
  z = jax.random.normal(jax.random.PRNGKey(4), (3, 16, config.z_dim))
  collect = jax.jit(jax.shard_map(
      lambda p, s, z: evaluate.standing_statistics(run.g_model, p, s, z), mesh=run.mesh,
      in_specs=(P(), P(), P(None, DATA_AXIS)), out_specs=P(), check_vma=False))
  stats = parallel.fetch(collect(run.state.ema_params, run.state.g_model_state, z))
  # The first batch norm normalises the base ConvTranspose of z: its moments over all 48.
  kernel = run.state.ema_params['ConvTranspose_0']['kernel']
  conv = nn.ConvTranspose(kernel.shape[-1], kernel.shape[:2], padding='VALID', use_bias=False)
  h = np.asarray(conv.apply({'params': {'kernel': kernel}}, z.reshape(48, 1, 1, -1)),
                 np.float64).reshape(-1, kernel.shape[-1])
  first = stats['batch_stats']['BatchNorm_0']
  np.testing.assert_allclose(first['mean'], h.mean(0), rtol=1e-4, atol=1e-6)
  np.testing.assert_allclose(first['var'], h.var(0), rtol=1e-4, atol=1e-6)


def _eval_vs_batch_mode_gap(run, model_state, params, z):
  """How far eval-mode samples are from the samples normalised by their own batch."""
  eval_out = models.apply(run.g_model, params, model_state, z, train=False)[0]
  batch_out = jax.jit(jax.shard_map(
      lambda p, s, z: models.apply(run.g_model, p, s, z, train=True)[0], mesh=run.mesh,
      in_specs=P(), out_specs=P(), check_vma=False))(params, model_state, z)
  return float(jnp.mean(jnp.abs(eval_out - batch_out)))


def test_evaluation_view_gives_the_ema_generator_its_own_statistics():
  config = _dcgan_config(batch_size=64)
  run = _perturbed_ema_run(config)
  view = run.evaluation_view(run.state)
  z = jax.random.normal(jax.random.PRNGKey(9), (256, config.z_dim))
  ema = run.state.ema_params
  stale = _eval_vs_batch_mode_gap(run, run.state.g_model_state, ema, z)
  standing = _eval_vs_batch_mode_gap(run, view.g_model_state, ema, z)
  assert standing < 0.25 * stale, (standing, stale)
  # Only the generator's statistics change; the state evaluation reads is otherwise the same.
  for a, b in zip(jax.tree.leaves(view.replace(g_model_state={})),
                  jax.tree.leaves(run.state.replace(g_model_state={}))):
    np.testing.assert_array_equal(a, b)


def test_standing_statistics_do_not_depend_on_the_device_count():
  config = _dcgan_config(batch_size=16)
  one = parallel.fetch(_perturbed_ema_run(config, 1).evaluation_view(
      _perturbed_ema_run(config, 1).state).g_model_state)
  run8 = _perturbed_ema_run(config, 8)
  eight = parallel.fetch(run8.evaluation_view(run8.state).g_model_state)
  for a, b in zip(jax.tree.leaves(one), jax.tree.leaves(eight)):
    np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-6)


def test_without_ema_or_batch_norm_the_view_is_the_state():
  run = train.Run(tiny_config(ema_decay=0.0), mesh=parallel.make_mesh(jax.devices()[:1]))
  assert run.evaluation_view(run.state) is run.state
  mlp = train.Run(tiny_config(ema_decay=0.9), mesh=parallel.make_mesh(jax.devices()[:1]))
  assert mlp.evaluation_view(mlp.state) is mlp.state  # No batch norm in the MLP.
