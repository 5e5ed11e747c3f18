"""Where measurements go: metrics.jsonl, TensorBoard event files and PNG plots."""
import json
import math
import os

import matplotlib

matplotlib.use('Agg')  # Headless: runs write files, never open windows.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorboardX

METRICS_FILE = 'metrics.jsonl'


def _json_value(value):
  """A JSON-safe scalar: non-finite floats become the strings 'nan', 'inf', '-inf'."""
  value = value.item() if hasattr(value, 'item') else value
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  return value


class MetricWriter:
  """Appends one JSON object per event to metrics.jsonl and mirrors scalars to TensorBoard.

  Args:
    workdir: the run's directory (must exist).
    resume_step: the step the run resumes from. Records of later steps, written before an
      interruption, are dropped: the resumed run writes them again, identically.
  """

  def __init__(self, workdir, resume_step=0):
    self.workdir = workdir
    _drop_records_after(os.path.join(workdir, METRICS_FILE), resume_step)
    self._jsonl = open(os.path.join(workdir, METRICS_FILE), 'a', encoding='utf-8')
    self._tb = tensorboardX.SummaryWriter(logdir=workdir, flush_secs=30)

  def write(self, step, metrics, event):
    """Records `metrics` (a flat dict of scalars) at `step` for `event` ('train' or 'eval')."""
    record = {'step': int(step), 'event': event,
              **{k: _json_value(v) for k, v in metrics.items()}}
    self._jsonl.write(json.dumps(record) + '\n')
    self._jsonl.flush()
    for name, value in metrics.items():
      if (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
          and math.isfinite(value)):
        self._tb.add_scalar(name, float(value), int(step))

  def write_image(self, step, tag, path):
    """Adds a PNG file to TensorBoard under `tag`."""
    image = plt.imread(path)[..., :3]
    self._tb.add_image(tag, image, int(step), dataformats='HWC')

  def close(self):
    self._jsonl.close()
    self._tb.close()


def _drop_records_after(path, step):
  if not os.path.exists(path):
    return
  with open(path, encoding='utf-8') as f:
    lines = [line for line in f if line.strip() and json.loads(line)['step'] <= step]
  tmp = path + '.tmp'
  with open(tmp, 'w', encoding='utf-8') as f:
    f.writelines(lines)
  os.replace(tmp, path)  # Atomic: a kill here leaves either the old or the new file.


def read_metrics(workdir):
  """Returns the records of `workdir`/metrics.jsonl as a list of dicts."""
  with open(os.path.join(workdir, METRICS_FILE), encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


def plot_samples(path, samples, centers, title):
  """Scatter plot of 2-D generated samples over the true mode centres."""
  fig, ax = plt.subplots(figsize=(5, 5))
  ax.scatter(samples[:, 0], samples[:, 1], s=2, alpha=0.4, label='generated')
  ax.scatter(centers[:, 0], centers[:, 1], s=40, marker='x', c='red', label='modes')
  lim = 1.25 * np.abs(centers).max() + 0.5
  ax.set_xlim(-lim, lim)
  ax.set_ylim(-lim, lim)
  ax.set_aspect('equal')
  ax.set_title(title)
  ax.legend(loc='upper right', fontsize=8)
  fig.savefig(path, dpi=100, bbox_inches='tight')
  plt.close(fig)


def save_grid(path, images, cols):
  """Writes images in [-1, 1], shape (N, H, W, C), as a PNG grid `cols` wide (1px gaps)."""
  images = np.clip((np.asarray(images, np.float32) + 1.0) * 127.5, 0, 255).astype(np.uint8)
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  n, h, w, c = images.shape
  rows = -(-n // cols)
  grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, c), 255, np.uint8)
  for i, image in enumerate(images):
    top, left = 1 + (i // cols) * (h + 1), 1 + (i % cols) * (w + 1)
    grid[top:top + h, left:left + w] = image
  plt.imsave(path, grid)


def plot_curves(path, records):
  """One panel per logged quantity, each against the step, from metrics.jsonl records."""
  names = sorted({k for r in records for k, v in r.items()
                  if k != 'step' and isinstance(v, (int, float)) and not isinstance(v, bool)})
  if not names:
    return
  cols = 3
  rows = math.ceil(len(names) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4 * cols, 2.6 * rows), squeeze=False)
  for ax, name in zip(axes.flat, names):
    points = [(r['step'], r[name]) for r in records if isinstance(r.get(name), (int, float))]
    ax.plot(*zip(*points), marker='.' if len(points) < 30 else None)
    ax.set_title(name, fontsize=9)
    ax.set_xlabel('step', fontsize=8)
  for ax in list(axes.flat)[len(names):]:
    ax.axis('off')
  fig.tight_layout()
  fig.savefig(path, dpi=90)
  plt.close(fig)
