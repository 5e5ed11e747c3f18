"""The objectives against float64 numpy references and the textbook claims about them."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest

from gan_jax import objectives

REAL = np.array([2.0, -1.0, 0.5, 3.0, -0.25])
FAKE = np.array([-1.5, 0.7, -3.0, 0.0, 1.2])


def _sigmoid(x):
  return 1.0 / (1.0 + np.exp(-x))


# Each loss written from its paper's formula, in float64 numpy, on probabilities/scores.
REFERENCES = {
    'minimax': (lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
                lambda f: np.mean(np.log(1 - _sigmoid(f)))),
    'ns': (lambda r, f: -np.mean(np.log(_sigmoid(r))) - np.mean(np.log(1 - _sigmoid(f))),
           lambda f: -np.mean(np.log(_sigmoid(f)))),
    'wgan': (lambda r, f: np.mean(f) - np.mean(r), lambda f: -np.mean(f)),
    'wgan_gp': (lambda r, f: np.mean(f) - np.mean(r), lambda f: -np.mean(f)),
    'hinge': (lambda r, f: np.mean(np.maximum(0, 1 - r)) + np.mean(np.maximum(0, 1 + f)),
              lambda f: -np.mean(f)),
    'lsgan': (lambda r, f: 0.5 * np.mean((r - 1) ** 2) + 0.5 * np.mean(f ** 2),
              lambda f: 0.5 * np.mean((f - 1) ** 2)),
}


def test_registry_names_exactly_the_six_objectives():
  assert set(objectives.OBJECTIVES) == set(REFERENCES)


@pytest.mark.parametrize('name', sorted(REFERENCES))
def test_losses_match_float64_reference(name):
  obj = objectives.get(name)
  d_ref, g_ref = REFERENCES[name]
  np.testing.assert_allclose(obj.d_loss(jnp.asarray(REAL), jnp.asarray(FAKE)),
                             d_ref(REAL, FAKE), rtol=1e-6)
  np.testing.assert_allclose(obj.g_loss(jnp.asarray(FAKE)), g_ref(FAKE), rtol=1e-6)


def test_hand_computed_values():
  # D(x) = D(G(z)) = 1/2 at zero logits: the minimax D loss is 2 log 2.
  zeros = jnp.zeros(4)
  np.testing.assert_allclose(objectives.minimax_d_loss(zeros, zeros), 2 * np.log(2), rtol=1e-6)
  np.testing.assert_allclose(objectives.ns_g_loss(zeros), np.log(2), rtol=1e-6)
  np.testing.assert_allclose(objectives.minimax_g_loss(zeros), -np.log(2), rtol=1e-6)
  # Hinge: real logit 0.5 costs 0.5, fake logit -2 costs 0.
  np.testing.assert_allclose(objectives.hinge_d_loss(jnp.array([0.5]), jnp.array([-2.0])), 0.5)


@pytest.mark.parametrize('name', ['minimax', 'ns'])
def test_probabilistic_losses_are_finite_and_exact_on_huge_logits(name):
  obj = objectives.get(name)
  big = jnp.array([100.0, -100.0], jnp.float32)
  # -log sigmoid(-100) = 100 + log1p(e^-100) ~ 100; log(sigmoid(x)) would give inf in float32.
  d = obj.d_loss(big, big)
  np.testing.assert_allclose(d, (0.0 + 100.0) / 2 + (100.0 + 0.0) / 2, rtol=1e-6)
  grads = jax.grad(lambda f: obj.g_loss(f))(big)
  assert np.all(np.isfinite(grads))


def test_minimax_generator_gradient_vanishes_where_non_saturating_does_not():
  # When the discriminator confidently rejects fakes (D(G(z)) -> 0, logit -> -inf), the
  # saturating loss log(1 - D) has slope -sigmoid(l) -> 0 while -log D keeps slope ~ -1.
  for logit in (-5.0, -10.0, -20.0):
    fake = jnp.full((8,), logit)
    mm = jax.grad(objectives.minimax_g_loss)(fake)
    ns = jax.grad(objectives.ns_g_loss)(fake)
    d_of_g = _sigmoid(logit)
    np.testing.assert_allclose(np.abs(mm).sum(), d_of_g, rtol=1e-4)
    np.testing.assert_allclose(np.abs(ns).sum(), 1 - d_of_g, rtol=1e-4)
  assert np.abs(jax.grad(objectives.minimax_g_loss)(jnp.full((8,), -20.0))).sum() < 1e-8
  assert np.abs(jax.grad(objectives.ns_g_loss)(jnp.full((8,), -20.0))).sum() > 0.999


def test_gradient_penalty_equals_closed_form_for_linear_critic():
  # For D(x) = w.x + b the input gradient is w everywhere: the penalty is (||w|| - 1)^2.
  rng = np.random.default_rng(0)
  w = rng.normal(size=(3,))
  real, fake = rng.normal(size=(16, 3)), rng.normal(size=(16, 3))
  eps = rng.uniform(size=(16,))
  critic = lambda x: x @ jnp.asarray(w) + 0.3
  gp = objectives.gradient_penalty(critic, jnp.asarray(real), jnp.asarray(fake),
                                   jnp.asarray(eps))
  np.testing.assert_allclose(gp, (np.linalg.norm(w) - 1) ** 2, rtol=1e-5)


def test_gradient_penalty_uses_interpolates():
  # For D(x) = ||x||^2 / 2 the gradient is x itself, so the penalty depends on where the
  # interpolate lies: x_hat = eps * real + (1 - eps) * fake.
  real = jnp.array([[2.0, 0.0], [0.0, 4.0]])
  fake = jnp.zeros((2, 2))
  eps = jnp.array([0.5, 0.25])
  gp = objectives.gradient_penalty(lambda x: 0.5 * jnp.sum(x ** 2, axis=1), real, fake, eps)
  # ||x_hat|| = 1 and 1: the penalty is 0.
  np.testing.assert_allclose(gp, 0.0, atol=1e-6)
  gp = objectives.gradient_penalty(lambda x: 0.5 * jnp.sum(x ** 2, axis=1), real, fake,
                                   jnp.array([1.0, 1.0]))
  np.testing.assert_allclose(gp, ((2 - 1) ** 2 + (4 - 1) ** 2) / 2, rtol=1e-6)


def test_gradient_penalty_of_an_examples_parts_is_the_closed_form_over_all_parts():
  # D(x, c) = (||x||^2 + ||c||^2) / 2 has gradient (x_hat, c_hat): the penalty takes the
  # norm over both parts, each interpolated with the example's one weight.
  real = (jnp.array([[2.0, 0.0], [0.0, 3.0]]), jnp.array([[0.0, 2.0, 0.0], [0.0, 0.0, 4.0]]))
  fake = (jnp.zeros((2, 2)), jnp.array([[2.0, 0.0, 0.0], [0.0, 0.0, 0.0]]))
  eps = jnp.array([0.5, 0.5])
  critic = lambda xc: 0.5 * (jnp.sum(xc[0] ** 2, 1) + jnp.sum(xc[1] ** 2, 1))  # noqa: E731
  gp = objectives.gradient_penalty(critic, real, fake, eps)
  # x_hat, c_hat: ([1, 0], [1, 1, 0]) and ([0, 1.5], [0, 0, 2]): norms sqrt(3) and 2.5.
  np.testing.assert_allclose(gp, ((np.sqrt(3) - 1) ** 2 + 1.5 ** 2) / 2, rtol=1e-6)


def test_r1_penalty_equals_closed_form():
  # D(x) = w.x gives ||w||^2; D(x) = ||x||^2 / 2 gives the mean of ||x||^2.
  w = jnp.array([0.5, -2.0, 1.0])
  real = jnp.arange(12.0).reshape(4, 3) / 10
  np.testing.assert_allclose(objectives.r1_penalty(lambda x: x @ w, real), 5.25, rtol=1e-6)
  np.testing.assert_allclose(
      objectives.r1_penalty(lambda x: 0.5 * jnp.sum(x ** 2, axis=1), real),
      np.mean(np.sum(np.asarray(real, np.float64) ** 2, axis=1)), rtol=1e-6)
