"""Progress reports: an ETA from the rate so far, and log lines spaced in time when the
output is a file."""
import io
import logging

import pytest

from gan_jax import progress


def test_eta_is_the_remaining_units_at_the_rate_so_far():
  assert progress.eta(25, 100, 10.0) == pytest.approx(30.0)
  assert progress.format_seconds(42.4) == '42s'
  assert progress.format_seconds(185) == '3m05s'
  assert progress.format_seconds(7620) == '2h07m'


def test_a_file_gets_a_line_per_interval_with_percentage_and_eta_then_the_total(caplog):
  stream = io.StringIO()  # Not a terminal: no bar.
  with caplog.at_level(logging.INFO, logger='gan_jax'):
    bar = progress.Progress(4, 'embedding 4 images', interval=0.0, stream=stream)
    for _ in range(4):
      bar.update()
    bar.close()
  lines = [r.getMessage() for r in caplog.records]
  assert lines[:3] == [f'embedding 4 images: {i}/4 ({25 * i}%), ETA 0s' for i in (1, 2, 3)]
  assert lines[3].startswith('embedding 4 images: done in') and len(lines) == 4
  assert stream.getvalue() == ''


def test_a_long_interval_keeps_a_log_file_short(caplog):
  with caplog.at_level(logging.INFO, logger='gan_jax'):
    bar = progress.Progress(1000, 'work', interval=3600.0, stream=io.StringIO())
    for _ in range(1000):
      bar.update()
    bar.close()
  assert len(caplog.records) == 1  # Only the closing line.
