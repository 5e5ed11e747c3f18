"""Where measurements go: metrics.jsonl, TensorBoard event files and PNG plots."""
import collections
import json
import math
import os

import matplotlib

matplotlib.use('Agg')  # Headless: runs write files, never open windows.
import matplotlib.pyplot as plt  # pylint: disable=g-import-not-at-top,wrong-import-position
from matplotlib import ticker  # pylint: disable=g-import-not-at-top,wrong-import-position
import numpy as np
import tensorboardX

METRICS_FILE = 'metrics.jsonl'
# TensorBoard groups scalars by the tag's first path component.
_TB_GROUPS = {'train': 'train', 'eval': 'eval', 'warning': 'diagnostics'}


def _json_value(value):
  """A JSON-safe scalar: non-finite floats become the strings 'nan', 'inf', '-inf'."""
  value = value.item() if hasattr(value, 'item') else value
  if isinstance(value, float) and not math.isfinite(value):
    return str(value)
  return value


class MetricWriter:
  """Appends one JSON object per event to metrics.jsonl and mirrors scalars to TensorBoard.

  A run of several seeds keeps one metrics.jsonl (each record names its seed) and gives
  every seed a directory workdir/seed_S for its TensorBoard events and pictures, so
  TensorBoard overlays the seeds as runs.

  Args:
    workdir: the run's directory (must exist).
    resume_step: the step the run resumes from. Records of later steps, written before an
      interruption, are dropped: the resumed run writes them again, identically.
    seeds: the seeds the run trains.
  """

  def __init__(self, workdir, resume_step=0, seeds=(0,)):
    self.workdir = workdir
    self._seeds = list(seeds)
    _drop_records_after(os.path.join(workdir, METRICS_FILE), resume_step)
    self._jsonl = open(os.path.join(workdir, METRICS_FILE), 'a', encoding='utf-8')
    self._tb = {}
    for seed in self._seeds:
      os.makedirs(self.seed_dir(seed), exist_ok=True)
      self._tb[seed] = tensorboardX.SummaryWriter(logdir=self.seed_dir(seed), flush_secs=30)

  def seed_dir(self, seed):
    """Where seed `seed`'s events and pictures go: the workdir itself for one seed."""
    return (self.workdir if len(self._seeds) == 1
            else os.path.join(self.workdir, f'seed_{seed}'))

  def write(self, step, metrics, event, seed=None):
    """Records `metrics` (a flat dict) at `step` for `event` ('train', 'eval' or 'warning').

    metrics.jsonl keeps the flat names and the seed; TensorBoard gets finite scalars as
    `train/NAME` or `eval/NAME`, and a warning ({'warning': name, 'detail': text}) as the
    text `diagnostics/NAME`.

    Args:
      step, metrics, event: as above.
      seed: the seed they belong to (None: the run's first).
    """
    seed = self._seeds[0] if seed is None else seed
    record = {'step': int(step), 'event': event, 'seed': seed,
              **{k: _json_value(v) for k, v in metrics.items()}}
    self._jsonl.write(json.dumps(record) + '\n')
    self._jsonl.flush()
    tb = self._tb[seed]
    if event == 'warning':
      tb.add_text(tensorboard_tag(event, metrics['warning']), str(metrics.get('detail', '')),
                  int(step))
      return
    for name, value in metrics.items():
      if (isinstance(value, (int, float, np.number)) and not isinstance(value, bool)
          and math.isfinite(value)):
        tb.add_scalar(tensorboard_tag(event, name), float(value), int(step))

  def write_image(self, step, name, path, seed=None):
    """Adds a PNG file to seed `seed`'s TensorBoard (None: the first's) as `samples/NAME`."""
    image = plt.imread(path)[..., :3]
    self._tb[self._seeds[0] if seed is None else seed].add_image(
        f'samples/{name}', image, int(step), dataformats='HWC')

  def close(self):
    self._jsonl.close()
    for tb in self._tb.values():
      tb.close()


def of_seed(records, seed):
  """The metrics.jsonl records of seed `seed` (records without a seed belong to every seed:
  runs before the seed field had one)."""
  return [r for r in records if r.get('seed', seed) == seed]


def tensorboard_tag(event, name):
  """The TensorBoard tag of measurement `name` of an `event` record, e.g. 'eval/fid'.

  Args:
    event: 'train', 'eval' or 'warning' (others are their own group).
    name: the flat metrics.jsonl name, or a warning's name.
  Returns:
    '<group>/<name>', the group being train, eval or diagnostics.
  """
  return f'{_TB_GROUPS.get(event, event)}/{name}'


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


MIN_CELL_PX = 64  # Small images (28x28 digits) are upscaled to at least this many pixels.
_DPI = 100


def grid_array(images, cols, scale=None):
  """Lays images out in a uint8 grid, row by row, nearest-neighbour upscaled, 1px white gaps.

  Args:
    images: (N, H, W, C) in [-1, 1], C being 1 or 3.
    cols: images per row; the last row may be short.
    scale: the integer upscaling factor; default the smallest that makes cells at least
      MIN_CELL_PX wide and high.
  Returns:
    (rows * (scale * H + 1) + 1, cols * (scale * W + 1) + 1, 3) uint8.
  """
  # Rounded, as OUT.npz's uint8 images are: truncation would turn 254.99998 into 254.
  images = np.clip(np.round((np.asarray(images, np.float32) + 1.0) * 127.5), 0, 255)
  images = images.astype(np.uint8)
  if images.shape[-1] == 1:
    images = np.repeat(images, 3, axis=-1)
  n, h, w, _ = images.shape
  scale = scale or max(1, math.ceil(MIN_CELL_PX / min(h, w)))
  images = images.repeat(scale, axis=1).repeat(scale, axis=2)
  h, w = h * scale, w * scale
  rows = -(-n // cols)
  grid = np.full((rows * (h + 1) + 1, cols * (w + 1) + 1, 3), 255, np.uint8)
  for i, image in enumerate(images):
    top, left = 1 + (i // cols) * (h + 1), 1 + (i % cols) * (w + 1)
    grid[top:top + h, left:left + w] = image
  return grid


def grid_figure(images, cols, title=None, row_labels=None, col_labels=None):
  """A figure of grid_array(images, cols) at one figure pixel per grid pixel, with margins
  only for the decorations asked for.

  Args:
    images, cols: as grid_array.
    title: drawn above the grid (e.g. the step).
    row_labels: one string per row, drawn left of its row (e.g. the class).
    col_labels: one string per column, drawn above it (e.g. the interpolation weight).
  Returns:
    A matplotlib figure with one axes; the caller closes it.
  """
  grid = grid_array(images, cols)
  rows = -(-len(images) // cols)
  for labels, count, what in ((row_labels, rows, 'rows'), (col_labels, cols, 'columns')):
    if labels is not None and len(labels) != count:
      raise ValueError(f'{len(labels)} labels for {count} {what}')
  cell_h, cell_w = (grid.shape[0] - 1) // rows, (grid.shape[1] - 1) // cols
  # Margins in pixels, sized for 10px text: the grid itself is never rescaled.
  left = 12 + 7 * max(map(len, row_labels)) if row_labels else 0
  top = (26 if title else 0) + (18 if col_labels else 0)
  width, height = grid.shape[1] + left + (8 if left else 0), grid.shape[0] + top
  fig = plt.figure(figsize=(width / _DPI, height / _DPI), dpi=_DPI)
  ax = fig.add_axes((left / width, 0, grid.shape[1] / width, grid.shape[0] / height))
  ax.imshow(grid, interpolation='nearest')
  ax.set_frame_on(False)
  ax.set_yticks([0.5 + cell_h * (r + 0.5) for r in range(rows)] if row_labels else [],
                row_labels or [])
  ax.xaxis.tick_top()
  ax.set_xticks([0.5 + cell_w * (c + 0.5) for c in range(cols)] if col_labels else [],
                col_labels or [])
  ax.tick_params(length=0, labelsize=10, pad=3)
  if title:
    fig.suptitle(title, y=1 - 3 / height, va='top', fontsize=12)
  return fig


def save_grid(path, images, cols, title=None, row_labels=None, col_labels=None):
  """Writes images in [-1, 1], shape (N, H, W, C), as a PNG grid `cols` wide.

  Without title or labels the PNG is grid_array's pixels exactly; see grid_figure for the
  decorations.
  """
  if title is None and row_labels is None and col_labels is None:
    plt.imsave(path, grid_array(images, cols))
    return
  fig = grid_figure(images, cols, title, row_labels, col_labels)
  fig.savefig(path, dpi=_DPI)
  plt.close(fig)


Panel = collections.namedtuple('Panel', 'title ylabel names scale')
# The known measurements, in reading order: training dynamics, then evaluation metrics.
# scale: 'linear', 'log' (norms spanning decades), 'fraction' (in [0, 1]) or 'count'.
PANELS = (
    Panel('losses', 'loss', ('d_loss', 'g_loss', 'g_adv_loss'), 'linear'),
    Panel('penalties', 'penalty', ('gp', 'r1', 'dragan', 'drift', 'feature_matching'),
          'linear'),
    Panel('critic outputs', 'mean D(x)', ('d_real', 'd_fake'), 'linear'),
    Panel('critic accuracy', 'accuracy', ('d_accuracy',), 'fraction'),
    Panel('gradient norms', 'global L2 norm', ('g_grad_norm', 'd_grad_norm'), 'log'),
    Panel('update norms', 'global L2 norm', ('g_update_norm', 'd_update_norm'), 'log'),
    Panel('parameter norms', 'global L2 norm', ('g_param_norm', 'd_param_norm'), 'linear'),
    Panel('feature diversity', 'fake / real feature spread', ('feature_diversity',),
          'linear'),
    Panel('modes covered', 'modes', ('modes',), 'count'),
    Panel('high-quality samples', 'fraction', ('hq_fraction',), 'fraction'),
    Panel('mode KL', 'KL(histogram || uniform), nats', ('mode_kl',), 'linear'),
    Panel('FID', 'FID', ('fid',), 'linear'),
    Panel('KID', 'KID', ('kid',), 'linear'),
    Panel('precision and recall', 'fraction', ('precision', 'recall'), 'fraction'),
    Panel('Inception Score', 'IS (band: ± std)', ('is', 'is_std'), 'linear'),
    Panel('progressive growing', 'resolution of the new stage', ('resolution',), 'count'),
)
# Logged but not training quantities: the machine's speed, a progressive run's stage (its
# resolution is plotted) and compile time, and the seed a many-seed run's records name.
NOT_PLOTTED = ('steps_per_sec', 'stage', 'compile_seconds', 'seed')


def curve_panels(names):
  """Groups measurement names into the panels of the curves figure.

  Args:
    names: the measurement names present in the records.
  Returns:
    The PANELS that have any of `names`, each with only those names, then one 'linear'
    panel per unknown name (its scale is unknown), alphabetically; NOT_PLOTTED is left out.
  """
  names = set(names) - set(NOT_PLOTTED)
  panels = [p._replace(names=tuple(n for n in p.names if n in names)) for p in PANELS]
  known = {n for p in PANELS for n in p.names}
  return ([p for p in panels if p.names] +
          [Panel(n, n, (n,), 'linear') for n in sorted(names - known)])


def _is_number(value):
  return isinstance(value, (int, float)) and not isinstance(value, bool)


def _series(records, name):
  """(steps, values) of `name` over the train and eval records that have it as a number."""
  points = [(r['step'], r[name]) for r in records
            if r['event'] != 'warning' and _is_number(r.get(name))]
  return tuple(np.array(v, np.float64) for v in zip(*points)) if points else ((), ())


def _draw_panel(ax, panel, records, warning_steps):
  """Draws one Panel's curves, axis labels, legend and the warning markers on `ax`."""
  for i, name in enumerate(panel.names):
    steps, values = _series(records, name)
    if name.endswith('_std') and name[:-4] in panel.names:
      mean_steps, mean = _series(records, name[:-4])
      if np.array_equal(steps, mean_steps):
        ax.fill_between(steps, mean - values, mean + values, alpha=0.25, label=name)
      continue
    # Line styles tell apart curves that coincide (g_loss is g_adv_loss without extras).
    ax.plot(steps, values, label=name, marker='.' if len(steps) < 30 else None, lw=1.2,
            ls=('-', '--', '-.', ':')[i % 4])
  for step in warning_steps:
    ax.axvline(step, color='tab:red', ls=':', lw=1)
  if panel.scale == 'log' and all(np.all(_series(records, n)[1] > 0) for n in panel.names):
    ax.set_yscale('log')
  elif panel.scale == 'fraction':
    ax.set_ylim(-0.03, 1.03)
  elif panel.scale == 'count':
    ax.yaxis.set_major_locator(ticker.MaxNLocator(integer=True))
    ax.set_ylim(bottom=0)
  ax.set_title(panel.title, fontsize=10)
  ax.set_xlabel('training step', fontsize=9)
  ax.set_ylabel(panel.ylabel, fontsize=9)
  ax.tick_params(labelsize=8)
  ax.grid(alpha=0.3)
  if panel.names != (panel.title,):  # The legend maps curves to metrics.jsonl names.
    ax.legend(fontsize=8)


def plot_curves(path, records, title='training curves'):
  """Writes the measurements of metrics.jsonl records as a figure of grouped panels
  (curve_panels) against the step, with diagnostics warnings as dotted red lines.

  Args:
    path: the PNG to write; nothing is written when no record has a plottable number.
    records: metrics.jsonl dicts ('step', 'event' and the measurements).
    title: the figure's title; the warnings' names are appended.
  """
  panels = curve_panels({k for r in records if r['event'] != 'warning'
                         for k, v in r.items() if k != 'step' and _is_number(v)})
  if not panels:
    return
  warnings = [r for r in records if r['event'] == 'warning']
  cols = min(3, len(panels))
  rows = math.ceil(len(panels) / cols)
  fig, axes = plt.subplots(rows, cols, figsize=(4.6 * cols, 3.2 * rows), squeeze=False)
  for ax, panel in zip(axes.flat, panels):
    _draw_panel(ax, panel, records, sorted({r['step'] for r in warnings}))
  for ax in list(axes.flat)[len(panels):]:
    ax.axis('off')
  if warnings:
    title += ('; dotted red lines: warnings ('
              + ', '.join(sorted({str(r.get('warning')) for r in warnings})) + ')')
  fig.suptitle(title, fontsize=12)
  fig.tight_layout()
  fig.savefig(path, dpi=110)
  plt.close(fig)
