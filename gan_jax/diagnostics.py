"""Named training-failure warnings, from the measurements each log step already fetches.

The rules and their thresholds (config.diagnostics) were chosen on a labelled corpus of short
runs, healthy and failing ones of each kind: benchmarks/DIAGNOSTICS.md has the figures and the
confusion table, scripts/diagnostics_corpus.py regenerates them. A train-record rule fires when
its condition has held at `patience` consecutive log steps (feature diversity:
`collapse_patience`), the eval rule at `collapse_evals` consecutive judged evaluations; each
fires once and re-arms when its condition clears.
- vanishing_generator_gradient: g_grad_norm below `vanishing_norm`, or below `vanishing_ratio`
  x its largest value so far.
- discriminator_overpowering: d_accuracy >= `overpowering_accuracy` and d_loss <=
  `overpowering_loss` x the critic's loss at chance (both outputs at its decision threshold:
  2 log 2 for minimax/ns, 2 for hinge, 0.25 for lsgan). Not judged for the Wasserstein
  objectives (wgan, wgan_gp): their critic ranks every real above every fake (accuracy 1
  against the midpoint) when it works, and it is meant to be trained to optimality.
- oscillation: the standard deviation of d_loss or g_loss over the last `oscillation_window`
  log steps above `oscillation_std` x the loss at chance. Not judged for the Wasserstein
  objectives, whose losses have no fixed scale.
- mode_collapse: the fakes' critic features spread less than `collapse_diversity` x the real
  ones' (feature_diversity); or, on the 2-D mixtures, an evaluation with at least
  `collapse_min_samples` high-quality samples per mode (fewer say nothing: an unconverged
  generator scatters samples off every mode) captures at most `collapse_modes` x the
  dataset's modes.
The state is a function of the records, so a resumed run replays metrics.jsonl and warns
exactly as an uninterrupted run would.
"""
import collections

import numpy as np

from gan_jax import objectives
from gan_jax.data import mixtures

WARNINGS = ('vanishing_generator_gradient', 'discriminator_overpowering', 'oscillation',
            'mode_collapse')


def chance_loss(loss):
  """The critic's loss when both its outputs sit at its decision threshold.

  Args:
    loss: objective name (one of objectives.OBJECTIVES).
  Returns:
    The loss as a float, or None for the Wasserstein objectives (their scores have no origin).
  """
  objective = objectives.get(loss)
  if objective.threshold is None:
    return None
  at = np.full((1,), objective.threshold, np.float32)
  return float(objective.d_loss(at, at))


class Diagnostics:
  """Turns train/eval records into warnings.

  Args:
    config: the run's config: its diagnostics thresholds, loss, dataset and
      num_eval_samples.
  """

  def __init__(self, config):
    self.s = config.diagnostics
    self._chance = chance_loss(config.loss)
    mixture = mixtures.MIXTURES.get(config.dataset)
    self._num_modes = len(mixture().centers) if mixture else None
    self._eval_samples = config.num_eval_samples
    self._streak = collections.Counter()
    self._active = set()
    self._max_g_grad = 0.0
    self._losses = collections.deque(maxlen=self.s.oscillation_window)

  def observe(self, record):
    """Feeds one metrics.jsonl record; returns [(name, detail)] of warnings firing now."""
    if record['event'] == 'train':
      return self._train(record)
    if record['event'] == 'eval':
      return self._eval(record)
    return []

  def replay(self, records):
    """Feeds earlier records (of a resumed run) without reporting their warnings."""
    for record in records:
      self.observe(record)

  def _persisting(self, name, holds, detail, patience):
    if not holds:
      self._streak[name] = 0
      self._active.discard(name)
      return []
    self._streak[name] += 1
    if self._streak[name] >= patience and name not in self._active:
      self._active.add(name)
      return [(name, detail)]
    return []

  def _train(self, m):
    s, out = self.s, []
    if 'g_grad_norm' in m:
      g = float(m['g_grad_norm'])
      self._max_g_grad = max(self._max_g_grad, g)
      out += self._persisting(
          'vanishing_generator_gradient',
          g < s.vanishing_norm or g < s.vanishing_ratio * self._max_g_grad,
          f'g_grad_norm {g:.3g} (peak {self._max_g_grad:.3g}) is below {s.vanishing_norm:g} '
          f'or {s.vanishing_ratio:g} x its peak: the generator gets no signal (a saturated '
          'loss, or a critic whose outputs barely differ)', s.patience)
    if self._chance is not None and 'd_accuracy' in m and 'd_loss' in m:
      acc, loss = float(m['d_accuracy']), float(m['d_loss'])
      out += self._persisting(
          'discriminator_overpowering',
          acc >= s.overpowering_accuracy and loss <= s.overpowering_loss * self._chance,
          f'd_accuracy {acc:.3f} with d_loss {loss:.3g} (at chance {self._chance:.3g}): the '
          'critic wins outright; lower its learning rate or add a penalty/noise', s.patience)
    if self._chance is not None and 'd_loss' in m and 'g_loss' in m:
      self._losses.append((float(m['d_loss']), float(m['g_loss'])))
      full = len(self._losses) == self._losses.maxlen
      std = np.std(np.asarray(self._losses), axis=0).max() if full else 0.0
      limit = s.oscillation_std * self._chance
      out += self._persisting(
          'oscillation', full and std > limit,
          f'loss std {std:.3g} over the last {len(self._losses)} log steps exceeds {limit:.3g}',
          s.patience)
    if 'feature_diversity' in m:
      ratio = float(m['feature_diversity'])
      # Its own, longer patience: a generator at initialisation maps every z to nearly one
      # point, which reads as collapse for the first few log steps of a healthy run.
      out += self._persisting(
          'mode_collapse', ratio < s.collapse_diversity,
          f'fake critic features spread {ratio:.3g} x as much as real ones (< '
          f'{s.collapse_diversity:g}): the generator is collapsing', s.collapse_patience)
    return out

  def _eval(self, m):
    if self._num_modes is None or 'modes' not in m:
      return []
    per_mode = float(m['hq_fraction']) * self._eval_samples / self._num_modes
    if per_mode < self.s.collapse_min_samples:
      return []  # Too few samples on the modes to tell a missing mode from an unconverged one.
    modes = int(m['modes'])
    # Its own streak name: the feature-diversity rule's log steps must not count evaluations.
    return [('mode_collapse', detail) for _, detail in self._persisting(
        'mode_collapse_eval', modes <= self.s.collapse_modes * self._num_modes,
        f'{modes} of {self._num_modes} modes captured (mode_kl {float(m["mode_kl"]):.3g}) '
        f'with {per_mode:.3g} high-quality samples per mode', self.s.collapse_evals)]
