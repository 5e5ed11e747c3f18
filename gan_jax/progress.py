"""Progress with an ETA for work that takes more than a few seconds.

On a terminal a tqdm bar redraws in place; when the output is a file (a cluster job's log)
a line is written at most every `interval` seconds and at the end, so logs stay short.
"""
import logging
import sys
import time

import tqdm

log = logging.getLogger('gan_jax')


def log_to_console(stream):
  """Sends the library's log lines (progress, evaluations, warnings) to `stream` with the
  time, and keeps absl's handler from printing each a second time.

  Args:
    stream: sys.stdout for training runs, sys.stderr for scripts whose stdout is a result.
  """
  handler = logging.StreamHandler(stream)
  handler.setFormatter(logging.Formatter('%(asctime)s %(message)s', '%H:%M:%S'))
  log.addHandler(handler)
  log.setLevel(logging.INFO)
  log.propagate = False


def format_seconds(seconds):
  """'42s', '3m05s' or '2h07m'."""
  seconds = int(round(max(seconds, 0.0)))
  if seconds < 60:
    return f'{seconds}s'
  if seconds < 3600:
    return f'{seconds // 60}m{seconds % 60:02d}s'
  return f'{seconds // 3600}h{seconds % 3600 // 60:02d}m'


def eta(done, total, elapsed):
  """Seconds left when `done` of `total` units took `elapsed` seconds, at that rate."""
  return elapsed / done * (total - done) if done else float('nan')


class Progress:
  """Counts units of work towards `total` and reports them with an ETA.

  Args:
    total: units of work in all.
    desc: what is being done, e.g. 'FID: embedding 10000 samples'.
    unit: the unit's name for the bar.
    interval: seconds between log lines when the output is not a terminal.
    stream: where a terminal bar goes (stderr by default).
  """

  def __init__(self, total, desc, unit='it', interval=30.0, stream=None):
    self.total, self.desc, self.interval = total, desc, interval
    self.done = 0
    self._start = self._last = time.time()
    stream = stream or sys.stderr
    self._bar = (tqdm.tqdm(total=total, desc=desc, unit=unit, file=stream, leave=False)
                 if stream.isatty() else None)

  def update(self, n=1):
    """Adds `n` finished units."""
    self.done += n
    if self._bar is not None:
      self._bar.update(n)
      return
    now = time.time()
    if now - self._last >= self.interval and self.done < self.total:
      self._last = now
      log.info('%s: %d/%d (%.0f%%), ETA %s', self.desc, self.done, self.total,
               100.0 * self.done / self.total, format_seconds(eta(self.done, self.total,
                                                                  now - self._start)))

  def close(self):
    """Ends the bar and logs the total time."""
    if self._bar is not None:
      self._bar.close()
    log.info('%s: done in %s', self.desc, format_seconds(time.time() - self._start))
