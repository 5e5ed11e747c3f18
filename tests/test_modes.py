"""Mode-coverage metrics on hand-placed samples with known answers."""
import numpy as np

from gan_jax.data import mixtures
from gan_jax.metrics.modes import mode_statistics


def test_ring8_and_grid25_geometry():
  ring = mixtures.ring8()
  np.testing.assert_allclose(np.linalg.norm(ring.centers, axis=1), 2.0)
  assert ring.centers.shape == (8, 2) and ring.std == 0.02
  grid = mixtures.grid25()
  assert grid.centers.shape == (25, 2) and grid.std == 0.05
  assert sorted(set(grid.centers[:, 0])) == [-4, -2, 0, 2, 4]


def test_counts_modes_quality_and_kl_exactly():
  ring = mixtures.ring8()
  c = ring.centers
  # Three samples on mode 0, one on mode 1 (all high quality), one far off (low quality).
  samples = np.stack([c[0], c[0] + [0.05, 0], c[0] - [0, 0.05], c[1], [0.0, 0.0]])
  stats = mode_statistics(samples, c, ring.std)
  assert int(stats['modes']) == 2
  np.testing.assert_allclose(stats['hq_fraction'], 4 / 5)
  p = np.array([3 / 4, 1 / 4])
  np.testing.assert_allclose(stats['mode_kl'], np.sum(p * np.log(p * 8)), rtol=1e-5)


def test_uniform_coverage_has_zero_kl():
  ring = mixtures.ring8()
  stats = mode_statistics(np.repeat(ring.centers, 3, axis=0), ring.centers, ring.std)
  assert int(stats['modes']) == 8
  np.testing.assert_allclose(stats['hq_fraction'], 1.0)
  np.testing.assert_allclose(stats['mode_kl'], 0.0, atol=1e-6)


def test_sample_beyond_three_std_is_low_quality_and_captures_nothing():
  ring = mixtures.ring8()
  samples = ring.centers[:1] + [[3.01 * ring.std, 0.0]]
  stats = mode_statistics(samples, ring.centers, ring.std)
  assert int(stats['modes']) == 0 and float(stats['hq_fraction']) == 0.0
  assert np.isnan(stats['mode_kl'])


def test_true_distribution_samples_capture_everything():
  import jax
  grid = mixtures.grid25()
  x = np.asarray(mixtures.sample(jax.random.PRNGKey(0), grid, (2500,)))
  stats = mode_statistics(x, grid.centers, grid.std)
  assert int(stats['modes']) == 25
  # P(chi_2 <= 9) = 1 - exp(-4.5) for a 2-D isotropic Gaussian.
  np.testing.assert_allclose(stats['hq_fraction'], 1 - np.exp(-4.5), atol=0.01)
  assert float(stats['mode_kl']) < 0.02
