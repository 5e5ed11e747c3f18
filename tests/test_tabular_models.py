"""CTGAN's networks: Gumbel-softmax sampling, the conditional cross-entropy, the residual
generator's size, the packed critic with dropout, and PyTorch-style Adam weight decay."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import optim
from gan_jax.models import ctgan, layers

SPANS = ((0, 1, 'scalar'), (1, 3, 'softmax'), (4, 4, 'softmax'), (8, 1, 'scalar'),
         (9, 2, 'softmax'))
CONDITIONS = ((4, 4), (9, 2))  # Two categorical columns: 4 + 2 conditions.


def test_gumbel_softmax_argmax_samples_the_softmax_of_the_logits():
  p = np.array([0.2, 0.3, 0.5])
  n = 200_000
  z = jax.random.normal(jax.random.PRNGKey(3), (n, 4))
  soft = ctgan.gumbel_softmax(jnp.log(jnp.tile(p, (n, 1))),
                              ctgan.gumbel_noise(layers.row_keys(z), 3), 0.2)
  np.testing.assert_allclose(np.sum(soft, axis=1), 1.0, rtol=1e-5)
  freq = np.bincount(np.argmax(soft, axis=1), minlength=3) / n
  assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n))  # 5 binomial std.
  # At tau 0.2 the soft samples are nearly one-hot, as CTGAN's are.
  assert np.median(np.max(soft, axis=1)) > 0.95


def test_generator_row_keys_are_a_function_of_the_latent_alone():
  x = jax.random.normal(jax.random.PRNGKey(0), (6, 5))
  data = lambda k: np.asarray(jax.random.key_data(k))  # noqa: E731
  whole = data(layers.row_keys(x))
  np.testing.assert_array_equal(whole[2:4], data(layers.row_keys(x[2:4])))  # Any sharding.
  assert len({tuple(k) for k in whole}) == 6
  assert not np.array_equal(whole[0], data(layers.row_keys(x.at[0, 4].add(1e-3)))[0])


def test_condition_cross_entropy_is_the_conditioned_columns_cross_entropy():
  rng = np.random.default_rng(0)
  logits = rng.normal(size=(5, 11)).astype(np.float32)
  labels = np.array([0, 3, 4, 5, 2])  # Columns 0, 0, 1, 1, 0.
  want = []
  for row, y in zip(logits, labels):
    (start, size), local = (CONDITIONS[0], y) if y < 4 else (CONDITIONS[1], y - 4)
    span = row[start:start + size].astype(np.float64)
    want.append(np.log(np.sum(np.exp(span))) - span[local])
  got = ctgan.condition_cross_entropy(jnp.asarray(logits), jnp.asarray(labels), CONDITIONS)
  np.testing.assert_allclose(got, np.mean(want), rtol=1e-5)


def test_condition_cross_entropys_gradient_is_softmax_minus_one_hot_on_the_conditioned_span():
  rng = np.random.default_rng(1)
  logits = rng.normal(size=(4, 11))
  labels = np.array([5, 1, 4, 3])  # Columns 1, 0, 1, 0.
  got = jax.grad(ctgan.condition_cross_entropy)(jnp.asarray(logits, jnp.float32),
                                                jnp.asarray(labels), CONDITIONS)
  want = np.zeros_like(logits)
  for i, y in enumerate(labels):
    (start, size), local = (CONDITIONS[0], y) if y < 4 else (CONDITIONS[1], y - 4)
    span = np.exp(logits[i, start:start + size])
    want[i, start:start + size] = span / span.sum()
    want[i, start + local] -= 1.0
  np.testing.assert_allclose(got, want / len(labels), rtol=1e-5, atol=1e-7)


def test_activated_row_is_tanh_of_scalars_and_gumbel_softmax_within_each_one_hot():
  rng = np.random.default_rng(2)
  logits = rng.normal(size=(3, 11)) * 2
  noise = np.asarray(ctgan.gumbel_noise(layers.row_keys(jnp.asarray(logits, jnp.float32)), 11))
  tau = 0.5
  want = np.zeros_like(logits)
  jacobian = np.zeros((3, 11, 11))  # d out[i, a] / d logits[i, b], zero across spans.
  for start, size, kind in SPANS:
    cut = slice(start, start + size)
    if kind == 'scalar':
      want[:, cut] = np.tanh(logits[:, cut])
      jacobian[:, cut, cut] = (1 - want[:, cut] ** 2)[:, :, None]
    else:
      e = np.exp((logits[:, cut] + noise[:, cut]) / tau)
      p = e / e.sum(axis=1, keepdims=True)
      want[:, cut] = p
      jacobian[:, cut, cut] = (np.einsum('ij,jk->ijk', p, np.eye(size))
                               - np.einsum('ij,ik->ijk', p, p)) / tau
  activate = lambda x, n: ctgan.activate(x, n, SPANS, tau)  # noqa: E731
  x, noise = jnp.asarray(logits, jnp.float32), jnp.asarray(noise)
  np.testing.assert_allclose(activate(x, noise), want, rtol=1e-5, atol=1e-6)
  got = jax.vmap(jax.jacobian(lambda row, n: activate(row[None], n[None])[0]))(x, noise)
  np.testing.assert_allclose(got, jacobian, rtol=1e-4, atol=1e-6)


def _torch_ctgan_generator_params(z_dim, conditions, widths, data_dim):
  """CTGAN's Generator(embedding_dim + cond_dim, generator_dim, data_dim): Residual blocks
  of Linear(i, o) + BatchNorm1d(o), the input growing by o each block, then Linear; less
  the blocks' Linear biases, which batch norm cancels (gan_jax leaves them out)."""
  total, dim = 0, z_dim + conditions
  for o in widths:
    total += dim * o + 2 * o
    dim += o
  return total + dim * data_dim + data_dim


def test_generator_has_ctgans_residual_shape_and_sows_the_condition_loss():
  g = ctgan.CTGANGenerator(SPANS, CONDITIONS, (16, 8), sync_batch_stats=False)
  z = jax.random.normal(jax.random.PRNGKey(0), (12, 7))
  y = jnp.arange(12) % 6
  variables = g.init(jax.random.PRNGKey(1), z, y)
  count = sum(v.size for v in jax.tree.leaves(variables['params']))
  assert count == _torch_ctgan_generator_params(7, 6, (16, 8), 11)
  out, state = g.apply(variables, z, y, train=True, mutable=['batch_stats', 'intermediates'])
  assert out.shape == (12, 11)
  for start, size, kind in SPANS:
    span = np.asarray(out[:, start:start + size])
    if kind == 'scalar':
      assert np.all(np.abs(span) < 1)
    else:
      np.testing.assert_allclose(span.sum(axis=1), 1.0, rtol=1e-5)
  assert np.isfinite(state['intermediates']['condition_loss'][0])
  # Evaluation draws the same rows for the same latents (the noise is the latents' own).
  again = g.apply(variables, z, y)
  np.testing.assert_array_equal(again, g.apply(variables, z, y))


def test_critic_scores_packs_and_drops_units_only_when_training():
  d = ctgan.CTGANCritic(num_conditions=6, widths=(32, 32), dropout=0.5)
  x = jax.random.normal(jax.random.PRNGKey(0), (4, 3 * 11))  # 12 rows in packs of 3.
  y = jnp.arange(12) % 6
  variables = d.init(jax.random.PRNGKey(1), x, y)
  first = variables['params']['Dense_0']['kernel']
  assert first.shape == (3 * 11 + 3 * 6, 32)  # Each row's condition joins its pack.
  eval_out = d.apply(variables, x, y)
  assert eval_out.shape == (4,)
  noise = lambda n, seed: jax.random.bits(jax.random.PRNGKey(seed), (n, 2), jnp.uint32)  # noqa
  train_out, _ = d.apply(variables, x, y, train=True, mutable=['intermediates'],
                         noise=noise(4, 0))
  assert not np.allclose(train_out, eval_out)
  again, _ = d.apply(variables, x, y, train=True, mutable=['intermediates'], noise=noise(4, 0))
  np.testing.assert_array_equal(train_out, again)  # The masks are the keys' alone.
  with pytest.raises(ValueError, match='noise'):
    d.apply(variables, x, y, train=True, mutable=['intermediates'])
  # Half the last hidden layer's units are zeroed per pack (LeakyReLU itself is never 0).
  xs = jax.random.normal(jax.random.PRNGKey(2), (2000, 3 * 11))
  ys = jnp.arange(6000) % 6
  features = lambda train: d.apply(  # noqa: E731
      variables, xs, ys, train=train, mutable=['intermediates'],
      noise=noise(2000, 1))[1]['intermediates']['features'][0]
  zeros = np.mean(np.asarray(features(True)) == 0)
  assert abs(zeros - 0.5) < 5 * np.sqrt(0.25 / (2000 * 32))
  assert np.all(np.asarray(features(False)) != 0)


def test_pytorch_weight_init_is_nn_linears_uniform_in_one_over_root_fan_in():
  g = ctgan.CTGANGenerator(SPANS, CONDITIONS, (64, 32), sync_batch_stats=False,
                           weight_init='pytorch')
  d = ctgan.CTGANCritic(num_conditions=6, widths=(64, 32), weight_init='pytorch')
  z, y = jnp.zeros((12, 7)), jnp.arange(12) % 6
  layers_of = lambda model, x: model.init(jax.random.PRNGKey(0), x, y)['params']  # noqa: E731
  for params in (layers_of(g, z), layers_of(d, jnp.zeros((4, 33)))):
    for layer in params.values():
      if 'kernel' not in layer:
        continue  # Batch norm.
      w = np.asarray(layer['kernel'], np.float64)
      bound = 1 / np.sqrt(w.shape[0])
      assert np.all(np.abs(w) <= bound)
      # Var U(-b, b) = b^2 / 3, to 5 standard errors (Var of s^2 ~ 4 b^4 / 45 / n).
      assert abs(np.var(w) - bound ** 2 / 3) < 5 * np.sqrt(4 / 45 / w.size) * bound ** 2
      if 'bias' in layer:
        b = np.asarray(layer['bias'])
        assert np.all(np.abs(b) <= bound) and np.any(b != 0)
  lecun = ctgan.CTGANCritic(num_conditions=6, widths=(64, 32)).init(
      jax.random.PRNGKey(0), jnp.zeros((4, 33)), y)['params']
  assert all(np.all(layer['bias'] == 0) for layer in lecun.values())


@pytest.mark.parametrize('wd', [0.0, 1e-2])
def test_weight_decay_is_pytorchs_adam_coupled_l2(wd):
  # PyTorch's Adam(weight_decay=wd): g <- g + wd * p, then the Adam moments of g.
  p0, g = np.array([1.0, -2.0, 0.5]), np.array([0.1, 0.3, -0.2])
  tx = optim.make_optimizer(name='adam', lr=0.1, betas=(0.5, 0.9), schedule='constant',
                            num_updates=10, grad_clip=0.0, weight_decay=wd)
  params = jnp.asarray(p0, jnp.float32)
  state = tx.init(params)
  p, m, v = p0.copy(), np.zeros(3), np.zeros(3)
  for t in range(1, 4):
    updates, state = tx.update(jnp.asarray(g, jnp.float32), state, params)
    params = params + updates
    gt = g + wd * p
    m = 0.5 * m + 0.5 * gt
    v = 0.9 * v + 0.1 * gt ** 2
    p = p - 0.1 * (m / (1 - 0.5 ** t)) / (np.sqrt(v / (1 - 0.9 ** t)) + 1e-8)
  np.testing.assert_allclose(params, p, rtol=1e-5)
