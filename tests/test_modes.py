"""Mode-coverage metrics on hand-placed samples with known answers, and against PacGAN's
reference metric."""
import jax
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
  grid = mixtures.grid25()
  x = np.asarray(mixtures.sample(jax.random.PRNGKey(0), grid, (2500,)))
  stats = mode_statistics(x, grid.centers, grid.std)
  assert int(stats['modes']) == 25
  # P(chi_2 <= 9) = 1 - exp(-4.5) for a 2-D isotropic Gaussian.
  np.testing.assert_allclose(stats['hq_fraction'], 1 - np.exp(-4.5), atol=0.01)
  assert float(stats['mode_kl']) < 0.02


def test_hand_made_histogram_gives_exact_modes_quality_and_reverse_kl():
  # std 0.25 on the grid: every offset below and the 3-std radius 0.75 are exact in binary.
  grid = mixtures.grid25(std=0.25)
  c = {tuple(m): m for m in grid.centers}
  on = lambda mode, *offsets: [c[mode] + np.array(o) for o in offsets]
  samples = np.stack(
      on((0, 0), (0, 0), (0.5, 0), (0, -0.5), (0.25, 0.5), (-0.5, -0.5))  # 5 on (0, 0)
      + on((2, 2), (0, 0), (0.25, 0.25), (-0.5, 0.25))  # 3 on (2, 2)
      + on((-4, 4), (0, 0), (0, 0.5))  # 2 on (-4, 4)
      # Exactly 3 std away is not high quality (the reference's strict `< 3`), nor is a
      # sample between modes.
      + on((0, 0), (0.75, 0), (1.0, 1.0)))
  stats = mode_statistics(samples.astype(np.float32), grid.centers, grid.std)
  counts = np.array([5, 3, 2], np.float64)
  p = counts / counts.sum()
  assert int(stats['modes']) == 3
  np.testing.assert_allclose(stats['hq_fraction'], 10 / 12, rtol=1e-6)
  # Reverse KL, the generated histogram first: KL(p || U_25) = log 25 - H(p).
  np.testing.assert_allclose(stats['mode_kl'], np.log(25) + np.sum(p * np.log(p)), rtol=1e-6)
  np.testing.assert_allclose(stats['mode_kl'], np.sum(p * np.log(p / (1 / 25))), rtol=1e-6)


def test_all_high_quality_samples_on_one_mode_is_log_k():
  ring = mixtures.ring8(radius=1.0, std=0.01)
  stats = mode_statistics(np.repeat(ring.centers[3:4], 5, axis=0), ring.centers, ring.std)
  assert int(stats['modes']) == 1
  np.testing.assert_allclose(stats['mode_kl'], np.log(8), rtol=1e-6)


def _reference_metrics(samples, centers, std):
  """PacGAN's MetricLogger (pacgan/extensions.py) in float64: each sample's nearest mode by
  the standardised distance, high quality below 3; the histogram's entropy as log k - KL."""
  coverage = np.zeros(len(centers))
  for x in np.asarray(samples, np.float64):
    dis = np.sqrt(np.sum((x - centers) ** 2 / std ** 2, axis=1))
    if dis.min() < 3:
      coverage[np.argmin(dis)] += 1
  p = coverage[coverage > 0] / coverage.sum()
  return (np.count_nonzero(coverage), coverage.sum() / len(samples),
          np.log(len(centers)) + np.sum(p * np.log(p)))


def test_matches_the_reference_metric_on_a_partly_collapsed_generator():
  ring = mixtures.ring8(radius=1.0, std=0.01)
  # Five of the eight modes, twice as wide as the data: some samples fall beyond 3 std.
  wide = mixtures.Mixture(ring.centers[:5], 2 * ring.std)
  x = np.asarray(mixtures.sample(jax.random.PRNGKey(1), wide, (2500,)))
  stats = mode_statistics(x, ring.centers, ring.std)
  modes, hq, kl = _reference_metrics(x, ring.centers, ring.std)
  assert int(stats['modes']) == modes == 5
  np.testing.assert_allclose(stats['hq_fraction'], hq, rtol=1e-6)
  np.testing.assert_allclose(stats['mode_kl'], kl, rtol=1e-5)
