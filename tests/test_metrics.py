"""FID, KID, precision/recall and Inception Score against float64 numpy/scipy references."""
import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import linalg

from gan_jax.metrics import fid, inception_score, kid, precision_recall


def reference_fid(mu1, sigma1, mu2, sigma2, eps=1e-6):
  """pytorch-fid's calculate_frechet_distance (v0.3.0), float64."""
  diff = mu1 - mu2
  covmean = linalg.sqrtm(sigma1.dot(sigma2))
  if not np.isfinite(covmean).all():
    offset = np.eye(sigma1.shape[0]) * eps
    covmean = linalg.sqrtm((sigma1 + offset).dot(sigma2 + offset))
  covmean = covmean.real
  return diff.dot(diff) + np.trace(sigma1) + np.trace(sigma2) - 2 * np.trace(covmean)


def features(seed, n, d, shift=0.0, scale=1.0):
  rng = np.random.default_rng(seed)
  mix = rng.normal(size=(d, d)) / np.sqrt(d)
  return (np.abs(rng.normal(size=(n, d)) @ mix) * scale + shift).astype(np.float32)


def moments_of(x, batch):
  m = fid.init_moments(x.shape[1])
  update = jax.jit(fid.update_moments)
  for i in range(0, x.shape[0], batch):
    m = update(m, jnp.asarray(x[i:i + batch]))
  return [np.asarray(a, np.float64) for a in fid.mean_cov(m)]


def test_moments_equal_float64_mean_and_cov_over_50k_samples():
  # Inception-like features: non-negative, mean well away from zero.
  x = features(0, 50_000, 64, shift=3.0)
  mu, sigma = moments_of(x, 500)
  x64 = x.astype(np.float64)
  np.testing.assert_allclose(mu, x64.mean(0), rtol=1e-6)
  np.testing.assert_allclose(sigma, np.cov(x64, rowvar=False), rtol=1e-5, atol=1e-7)


def test_moments_do_not_depend_on_the_batch_size():
  x = features(1, 3_000, 32, shift=1.0)
  a, b = moments_of(x, 100), moments_of(x, 750)
  np.testing.assert_allclose(a[0], b[0], rtol=1e-6)
  np.testing.assert_allclose(a[1], b[1], rtol=1e-5, atol=1e-7)


def test_masked_rows_are_ignored():
  x = features(2, 40, 8)
  m = fid.update_moments(fid.init_moments(8), jnp.asarray(x),
                         valid=jnp.arange(40) < 25)
  mu, sigma = fid.mean_cov(m)
  np.testing.assert_allclose(mu, x[:25].mean(0), rtol=1e-5)
  np.testing.assert_allclose(sigma, np.cov(x[:25], rowvar=False), rtol=1e-4, atol=1e-6)


@pytest.mark.parametrize('n1,n2,d', [(2_000, 2_000, 64),  # full rank
                                     (100, 150, 256)])   # rank-deficient: n < d
def test_frechet_distance_equals_pytorch_fid_formula(n1, n2, d):
  a = features(3, n1, d).astype(np.float64)
  b = features(4, n2, d, shift=0.3, scale=1.2).astype(np.float64)
  stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
  np.testing.assert_allclose(fid.frechet_distance(*stats), reference_fid(*stats), rtol=1e-4)


def test_frechet_distance_near_zero_for_nearly_identical_distributions():
  a = features(5, 20_000, 32).astype(np.float64)
  b = a + np.random.default_rng(6).normal(scale=1e-3, size=a.shape)
  stats = (a.mean(0), np.cov(a, rowvar=False), b.mean(0), np.cov(b, rowvar=False))
  expected = reference_fid(*stats)
  assert expected < 1e-4
  np.testing.assert_allclose(fid.frechet_distance(*stats), expected, rtol=1e-4)
  assert fid.frechet_distance(stats[0], stats[1], stats[0], stats[1]) == pytest.approx(
      0.0, abs=1e-9)


def test_frechet_distance_of_a_sample_with_itself_is_zero_not_a_rounding_negative():
  # Rank-deficient float32 covariances (300 samples, 512 dims): the formula gives -2.5e-4.
  f = np.random.default_rng(0).normal(size=(300, 512)).astype(np.float32) * 5
  mu, sigma = f.mean(0), np.cov(f, rowvar=False).astype(np.float32)
  assert fid.frechet_distance(mu, sigma, mu, sigma) == 0.0


def reference_kid(real, fake, real_idx, fake_idx):
  """StyleGAN2-ADA's compute_kid loop, float64, with the given subsets."""
  n = real.shape[1]
  m = real_idx.shape[1]
  t = 0.0
  for ri, fi in zip(real_idx, fake_idx):
    x, y = fake[fi].astype(np.float64), real[ri].astype(np.float64)
    a = (x @ x.T / n + 1) ** 3 + (y @ y.T / n + 1) ** 3
    b = (x @ y.T / n + 1) ** 3
    t += (a.sum() - np.diag(a).sum()) / (m - 1) - b.sum() * 2 / m
  return t / len(real_idx) / m


def test_kid_equals_stylegan2_ada_reference_on_the_same_subsets():
  real, fake = features(7, 600, 128), features(8, 500, 128, shift=0.05)
  rng = np.random.default_rng(9)
  real_idx = np.stack([rng.choice(600, 200, replace=False) for _ in range(5)])
  fake_idx = np.stack([rng.choice(500, 200, replace=False) for _ in range(5)])
  ours = kid.kernel_inception_distance(real, fake, None, subsets=(real_idx, fake_idx))
  expected = reference_kid(real, fake, real_idx, fake_idx)
  assert expected > 1e-4
  np.testing.assert_allclose(ours, expected, rtol=1e-4)


def test_kid_is_near_zero_for_one_distribution_and_grows_with_a_shift():
  real, same = np.split(features(10, 2000, 64), 2)
  key = jax.random.PRNGKey(0)
  near = kid.kernel_inception_distance(real, same, key, num_subsets=10, subset_size=500)
  far = kid.kernel_inception_distance(real, same + 0.5, key, num_subsets=10, subset_size=500)
  assert abs(near) < 0.01 < far


def reference_precision_recall(real, fake, k=3):
  def radii(x):
    d = np.linalg.norm(x[:, None] - x[None], axis=-1)
    return np.sort(d, axis=1)[:, k]
  def coverage(manifold, r, queries):
    d = np.linalg.norm(queries[:, None] - manifold[None], axis=-1)
    return np.mean(np.any(d <= r[None, :], axis=1))
  real, fake = real.astype(np.float64), fake.astype(np.float64)
  return coverage(real, radii(real), fake), coverage(fake, radii(fake), real)


def test_precision_recall_equal_brute_force_knn_reference():
  rng = np.random.default_rng(12)
  real = rng.normal(size=(1500, 16)).astype(np.float32)
  fake = (rng.normal(size=(1200, 16)) * 0.6 + 0.4).astype(np.float32)  # narrower, shifted
  p, r = precision_recall.precision_recall(real, fake)
  ep, er = reference_precision_recall(real, fake)
  assert 0.0 < er < ep < 1.0  # A narrow generator: precise, poor recall.
  assert p == pytest.approx(ep, abs=1.0 / 1200)
  assert r == pytest.approx(er, abs=1.0 / 1500)


def reference_inception_score(logits, splits):
  p = np.exp(logits - logits.max(1, keepdims=True))
  p /= p.sum(1, keepdims=True)
  n = len(p) // splits
  scores = []
  for k in range(splits):
    part = p[k * n:(k + 1) * n]
    py = part.mean(0, keepdims=True)
    scores.append(np.exp(np.mean(np.sum(part * (np.log(part) - np.log(py)), 1))))
  return np.mean(scores), np.std(scores)


def test_inception_score_equals_reference_with_ten_splits():
  logits = np.random.default_rng(13).normal(scale=3.0, size=(1005, 10)).astype(np.float32)
  mean, std = inception_score.inception_score(logits, splits=10)
  ref_mean, ref_std = reference_inception_score(logits.astype(np.float64), 10)
  np.testing.assert_allclose([mean, std], [ref_mean, ref_std], rtol=1e-6)


def test_inception_score_bounds_one_and_num_classes():
  confident = np.eye(10)[np.arange(1000) % 10] * 50.0
  assert inception_score.inception_score(confident)[0] == pytest.approx(10.0, rel=1e-6)
  assert inception_score.inception_score(np.zeros((1000, 10)))[0] == pytest.approx(1.0)
