"""Named training-failure warnings, from the measurements each log step already fetches.

Each rule looks at one log (or eval) record; a warning fires when its condition has held at
`patience` consecutive log steps, once, and re-arms when the condition clears:
- vanishing_generator_gradient: g_grad_norm below `vanishing_ratio` x its largest value so far;
- discriminator_overpowering: d_accuracy >= `overpowering_accuracy` and d_loss <=
  `overpowering_loss` (the critic separates everything and its loss has collapsed);
- oscillation: the standard deviation of d_loss or g_loss over the last `oscillation_window`
  log steps above `oscillation_std`;
- mode_collapse: the fakes' critic features spread less than `collapse_diversity` x the real
  ones' (feature_diversity), or, on the 2-D mixtures, an evaluation captures fewer modes than
  an earlier one did (this one fires at once).
The state is a function of the records, so a resumed run replays metrics.jsonl and warns
exactly as an uninterrupted run would.
"""
import collections

import numpy as np


class Diagnostics:
  """Turns train/eval records into warnings.

  Args:
    settings: config.diagnostics.
  """

  def __init__(self, settings):
    self.s = settings
    self._streak = collections.Counter()
    self._active = set()
    self._max_g_grad = 0.0
    self._losses = collections.deque(maxlen=settings.oscillation_window)
    self._best_modes = None

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

  def _persisting(self, name, holds, detail):
    if not holds:
      self._streak[name] = 0
      self._active.discard(name)
      return []
    self._streak[name] += 1
    if self._streak[name] >= self.s.patience and name not in self._active:
      self._active.add(name)
      return [(name, detail)]
    return []

  def _train(self, m):
    s, out = self.s, []
    if 'g_grad_norm' in m:
      g = float(m['g_grad_norm'])
      self._max_g_grad = max(self._max_g_grad, g)
      out += self._persisting(
          'vanishing_generator_gradient', g < s.vanishing_ratio * self._max_g_grad,
          f'g_grad_norm {g:.3g} is below {s.vanishing_ratio:g} x its peak '
          f'{self._max_g_grad:.3g}: the generator gets no signal (saturated loss?)')
    if 'd_accuracy' in m and 'd_loss' in m:
      acc, loss = float(m['d_accuracy']), float(m['d_loss'])
      out += self._persisting(
          'discriminator_overpowering',
          acc >= s.overpowering_accuracy and loss <= s.overpowering_loss,
          f'd_accuracy {acc:.3f} with d_loss {loss:.3g}: the critic wins outright; lower '
          'its learning rate or add a penalty/noise')
    if 'd_loss' in m and 'g_loss' in m:
      self._losses.append((float(m['d_loss']), float(m['g_loss'])))
      full = len(self._losses) == self._losses.maxlen
      std = np.std(np.asarray(self._losses), axis=0).max() if full else 0.0
      out += self._persisting(
          'oscillation', full and std > s.oscillation_std,
          f'loss std {std:.3g} over the last {len(self._losses)} log steps exceeds '
          f'{s.oscillation_std:g}')
    if 'feature_diversity' in m:
      ratio = float(m['feature_diversity'])
      out += self._persisting(
          'mode_collapse', ratio < s.collapse_diversity,
          f'fake critic features spread {ratio:.3g} x as much as real ones (< '
          f'{s.collapse_diversity:g}): the generator is collapsing')
    return out

  def _eval(self, m):
    if 'modes' not in m:
      return []
    modes = int(m['modes'])
    best, self._best_modes = self._best_modes, max(self._best_modes or 0, modes)
    if best is not None and modes < best:
      return [('mode_collapse', f'{modes} modes captured, {best} at an earlier evaluation')]
    return []
