"""BigGAN's pieces (models/biggan.py) against their definitions in numpy float64: the
self-attention block, batch norm with gains and biases linear in the class embedding and
latent chunk, the orthogonal regulariser, and the StudioGAN settings of the configs."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from configs import biggan as biggan_config
from gan_jax import models, objectives, validation
from gan_jax.models import biggan
from tests.helpers import init, jit_model_fn


def _pool(x):
  b, h, w, c = x.shape
  return x.reshape(b, h // 2, 2, w // 2, 2, c).max(axis=(2, 4))


def test_self_attention_is_sagans_block():
  rng = np.random.default_rng(0)
  x = rng.normal(size=(2, 4, 4, 16))
  block = biggan.SelfAttention(spectral=False)
  params = block.init(jax.random.key(0), jnp.asarray(x, jnp.float32), False)['params']
  params = {**params, 'sigma': jnp.asarray(0.7)}
  got = block.apply({'params': params}, jnp.asarray(x, jnp.float32), False)
  k = {name: np.asarray(params[name]['kernel'][0, 0], np.float64)
       for name in ('theta', 'phi', 'g', 'out')}
  theta = (x @ k['theta']).reshape(2, 16, 2)
  phi = _pool(x @ k['phi']).reshape(2, 4, 2)
  logits = np.einsum('bqc,bkc->bqk', theta, phi)
  attention = np.exp(logits - logits.max(-1, keepdims=True))
  attention /= attention.sum(-1, keepdims=True)
  g = _pool(x @ k['g']).reshape(2, 4, 8)
  want = x + 0.7 * (np.einsum('bqk,bkc->bqc', attention, g).reshape(2, 4, 4, 8) @ k['out'])
  np.testing.assert_allclose(got, want, rtol=1e-4, atol=1e-4)


def _bn_maps(bn, variables, x, a, train):
  """(output, gain map, bias map) of an AffineBatchNorm call: the spectrally normalised
  dense layers' outputs W_g a and W_b a, read from the call."""
  out, used = bn.apply(variables, jnp.asarray(x, jnp.float32), jnp.asarray(a, jnp.float32),
                       train, mutable=['batch_stats', 'spectral', 'intermediates'],
                       capture_intermediates=True)
  inter = used['intermediates']
  return (np.asarray(out, np.float64),
          *(np.asarray(inter[f'SpectralNorm_{i}']['__call__'][0], np.float64) for i in (0, 1)))


def test_batch_norm_gains_and_biases_are_linear_in_the_affine_input():
  rng = np.random.default_rng(1)
  x, a = rng.normal(size=(6, 3, 3, 4)) * 2 + 1, rng.normal(size=(6, 5))
  bn = biggan.AffineBatchNorm(sync=False)
  variables = bn.init(jax.random.key(1), jnp.asarray(x, jnp.float32),
                      jnp.asarray(a, jnp.float32), False)
  out, gain, bias = _bn_maps(bn, variables, x, a, True)
  normed = (x - x.mean((0, 1, 2))) / np.sqrt(x.var((0, 1, 2)) + 1e-5)
  np.testing.assert_allclose(out, normed * (1 + gain[:, None, None]) + bias[:, None, None],
                             rtol=1e-4, atol=1e-4)
  # Linear (no bias) in the embedding-and-chunk vector: doubling it doubles both maps.
  _, g1, b1 = _bn_maps(bn, variables, x, a, False)
  _, g2, b2 = _bn_maps(bn, variables, x, 2 * a, False)
  np.testing.assert_allclose(g2, 2 * g1, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(b2, 2 * b1, rtol=1e-5, atol=1e-6)


def test_orthogonal_penalty_is_the_papers_formula_over_kernels_only():
  rng = np.random.default_rng(2)
  dense, conv = rng.normal(size=(3, 4)), rng.normal(size=(2, 2, 3, 5))
  params = {'Dense_0': {'kernel': dense, 'bias': rng.normal(size=(4,))},
            'block': {'SpectralNorm_0': {'Conv_0': {'kernel': conv}}},
            'shared': {'embedding': rng.normal(size=(10, 8))}}
  params = jax.tree.map(lambda v: jnp.asarray(v, jnp.float32), params)

  def term(w):
    m = w.reshape(-1, w.shape[-1])
    gram = m.T @ m
    return np.sum((gram * (1 - np.eye(len(gram)))) ** 2)
  np.testing.assert_allclose(objectives.orthogonal_penalty(params), term(dense) + term(conv),
                             rtol=1e-5)
  q, _ = np.linalg.qr(rng.normal(size=(6, 4)))  # Orthonormal columns: no penalty.
  assert float(objectives.orthogonal_penalty({'kernel': jnp.asarray(q, jnp.float32)})) < 1e-10


def test_generator_routes_each_latent_chunk_to_its_own_block():
  c = biggan_config.get_config('mnist32,smoke')
  c.sync_batch_stats = False
  g, _ = models.build(c, (32, 32, 1))
  z = jax.random.normal(jax.random.key(3), (4, c.z_dim))
  y = jnp.arange(4)
  params, state = init(g, jax.random.key(4), z, num_classes=10)
  captured = jit_model_fn(lambda g, v, z, y: g.apply(  # noqa: E731
      v, z, y, train=False, capture_intermediates=True, mutable=['intermediates'])[1])
  inter = captured(g, {'params': params, **state}, z, y)['intermediates']
  shared = np.asarray(inter['shared']['__call__'][0])
  chunk = c.z_dim // biggan.CHUNKS
  for i in range(3):  # Block i's batch norms read [shared embedding, chunk i + 1].
    affine = np.concatenate([shared, np.asarray(z[:, (i + 1) * chunk:(i + 2) * chunk])], -1)
    bn = inter[f'GeneratorBlock_{i}']['AffineBatchNorm_0']
    kernel = params[f'GeneratorBlock_{i}']['AffineBatchNorm_0']['gain']['kernel']
    sigma = state['spectral'][f'GeneratorBlock_{i}']['AffineBatchNorm_0']['SpectralNorm_0'][
        'gain/kernel/sigma']  # Evaluation divides by the stored spectral norm.
    np.testing.assert_allclose(bn['SpectralNorm_0']['__call__'][0],
                               affine @ (np.asarray(kernel, np.float64) / float(sigma)),
                               rtol=1e-4, atol=1e-5)


@pytest.mark.parametrize('variant', biggan_config.VARIANTS)
def test_biggan_variants_carry_studiogans_settings(variant):
  c = biggan_config.get_config(variant)
  validation.validate(c)
  assert (c.model, c.loss, c.n_critic, c.num_classes, c.z_dim) == ('biggan', 'hinge', 5, 10, 80)
  assert (c.biggan.shared_dim, c.biggan.attention_g, c.biggan.attention_d) == (128, 2, 1)
  assert c.g_betas == c.d_betas == (0.5, 0.999) and c.g_lr == c.d_lr == 2e-4
  if variant == 'cifar10':
    assert (c.g_width, c.batch_size, c.ema_decay, c.ema_start) == (96, 64, 0.9999, 1_000)


def test_biggan_refuses_other_sizes_and_unsplittable_latents():
  with pytest.raises(ValueError, match='32x32'):
    models.check_data_shape('biggan', (28, 28, 1))
  c = biggan_config.get_config('mnist32')
  c.z_dim = 81
  with pytest.raises(validation.ConfigError, match='multiple of 4'):
    validation.validate(c)
