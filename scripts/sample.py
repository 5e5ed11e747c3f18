"""Draws samples from the latest checkpoint of a run, with the weights evaluation uses (EMA).

  python scripts/sample.py --workdir=runs/quickstart --num=2500 --out=runs/quickstart/draw
  python scripts/sample.py --workdir=runs/cgan --num=80 --label=3 --out=runs/cgan/threes

  python scripts/sample.py --workdir=runs/cgan --interpolate=8 --out=runs/cgan/walk
  python scripts/sample.py --workdir=runs/sg2_digits --psi=0.7 --style_grids --out=runs/sg2/look
  python scripts/sample.py --workdir=runs/ctgan_german --num=1000 --out=runs/german/rows
  python scripts/sample.py --workdir=runs/ctgan_german --num=100 --condition=housing=own \
    --out=runs/german/owners

Writes OUT.npz (`images`: uint8 NHWC for image models, `samples`: float for 2-D data, plus
`labels` for conditional models) and OUT.png (a grid, one class per row for conditional
models, or a scatter over the true modes). With --interpolate, image models also get
OUT_interp.png and, when conditional, OUT_classes.png (see the flag's help). A table run
(model=ctgan) writes OUT.csv instead: the table's columns, dtypes and category names.
StyleGAN2 runs take --psi (the truncation trick) and --style_grids (truncation, style-mixing
and w-interpolation pictures).
"""
import functools
import os
import sys

from absl import app, flags
from absl import logging as absl_logging
import jax
import numpy as np

from gan_jax import checkpoint, data, evaluate, progress, seeds, state as state_lib, train
from gan_jax import writers
from gan_jax.models import stylegan2
from gan_jax.tabular import synthesis

_WORKDIR = flags.DEFINE_string('workdir', None, 'A run directory with config.json and '
                               'checkpoints/.')
_NUM = flags.DEFINE_integer('num', 64, 'How many samples.')
_LABEL = flags.DEFINE_integer('label', None, 'Conditional models: the class to sample '
                              '(default: classes in turn).')
_SEED = flags.DEFINE_integer('seed', 0, 'Seed of the latents.')
_RUN_SEED = flags.DEFINE_integer('run_seed', None, 'A run of several seeds (num_seeds > 1): '
                                 'the seed to sample (default: its first).')
_OUT = flags.DEFINE_string('out', None, 'Output path without extension.')
_INTERPOLATE = flags.DEFINE_integer(
    'interpolate', None, 'Image models: also write OUT_interp.png, this many steps (>= 2) of '
    'spherical interpolation (slerp) between 8 random latent pairs, a pair per row; '
    'conditional rows keep one class (row r: class r, or --label). Conditional models also '
    'get OUT_classes.png: 8 fixed latents, a row each, drawn as each of the first 10 classes '
    'in turn (columns). The models take integer labels, so nothing lies between two '
    'classes: the class picture holds z fixed and switches the class.')
_CONDITION = flags.DEFINE_string(
    'condition', None, 'Table runs: COLUMN=VALUE, every row generated for this category of '
    'a categorical column (CTGAN\'s conditional sampling; default: conditions drawn as the '
    'data has them).')
_FREQUENCY = flags.DEFINE_string(
    'condition_frequency', 'data', "Table runs: how each row's condition is drawn. data: a "
    'categorical column uniformly, then its category by frequency, so the rows follow the '
    "data's distribution; log: by log-frequency, training-by-sampling's distribution, which "
    "ctgan's sample() also uses: rare categories come out more often than in the data.")
_PSI = flags.DEFINE_float(
    'psi', None, 'StyleGAN2 runs: the truncation psi of every picture, w_avg + psi (w - w_avg) '
    "(0 <= psi < 2; default: the run's config.stylegan.truncation_psi).")
_STYLE_GRIDS = flags.DEFINE_bool(
    'style_grids', False, 'StyleGAN2 runs: also write OUT_truncation.png (8 latents, a column '
    'each, at psi 1, 0.75, 0.5, 0.25 and 0, a row each), OUT_mixing.png (the top row\'s and '
    'left column\'s sources; each cell the coarse styles, the 4x4 and 8x8 layers, of its row '
    'with the fine styles and noise of its column) and OUT_interp_w.png (linear interpolation '
    'in w between 8 latent pairs, --interpolate steps or 8, a pair per row).')
_PAIRS = 8  # Rows of the interpolation and class pictures.
_PSIS = (1.0, 0.75, 0.5, 0.25, 0.0)
_MIX_ROWS, _MIX_COLS = 4, 6
_COARSE = 4  # Styles of the 4x4 and 8x8 layers: StyleGAN's "coarse" ones.
_CLASS_COLUMNS = 10
_CHUNK = 32  # Images per call of the style pictures' generator.
flags.mark_flags_as_required(['workdir', 'out'])


def main(argv):
  del argv
  absl_logging.set_verbosity(absl_logging.WARNING)  # Keeps Orbax's restore chatter quiet.
  progress.log_to_console(sys.stderr)  # Progress lines; stdout keeps the result.
  try:
    config = checkpoint.read_run_config(_WORKDIR.value)
  except checkpoint.CheckpointError as e:
    sys.exit(f'error: {e}')
  if _NUM.value <= 0:
    sys.exit(f'error: --num={_NUM.value} must be positive')
  if _LABEL.value is not None and not 0 <= _LABEL.value < max(config.num_classes, 1):
    sys.exit(f'error: --label={_LABEL.value} must be in [0, {config.num_classes}) for this '
             'run' if config.num_classes else 'error: --label needs a conditional model')
  if _INTERPOLATE.value is not None and _INTERPOLATE.value < 2:
    sys.exit(f'error: --interpolate={_INTERPOLATE.value} must be at least 2 (the endpoints)')
  stylish = _PSI.value is not None or _STYLE_GRIDS.value
  if stylish and config.model != 'stylegan2':
    sys.exit(f'error: --psi and --style_grids are for StyleGAN2 runs; this run has '
             f'model={config.model!r}')
  if _FREQUENCY.value not in synthesis.CONDITION_FREQUENCIES:
    sys.exit(f'error: --condition_frequency={_FREQUENCY.value!r} is not allowed; choose one '
             f'of: {", ".join(synthesis.CONDITION_FREQUENCIES)}')
  if _PSI.value is not None and not 0.0 <= _PSI.value < 2.0:
    sys.exit(f'error: --psi={_PSI.value} must be in [0, 2)')
  existing = [p for p in _outputs(config) if os.path.exists(p)]
  if existing:  # Before the run is built: a refusal costs no compile.
    sys.exit(f'error: {existing[0]} exists; pass another --out (nothing was overwritten)')
  try:
    run = train.Run(config)
  except (AttributeError, KeyError) as e:
    sys.exit(f'error: {checkpoint.missing_field_message(_WORKDIR.value, e)}')
  run_seed = run.seeds[0] if _RUN_SEED.value is None else _RUN_SEED.value
  if run_seed not in run.seeds:
    sys.exit(f'error: --run_seed={run_seed} is not a seed of this run; its seeds: '
             f'{", ".join(map(str, run.seeds))}')
  if _INTERPOLATE.value is not None and len(run.dataset.sample_shape) != 3:
    sys.exit(f'error: --interpolate needs an image model; dataset {config.dataset!r} has '
             f'samples of shape {tuple(run.dataset.sample_shape)}')
  try:
    with checkpoint.Checkpointer(_WORKDIR.value, config, read_only=True) as ckpt:
      if ckpt.latest_step() is None:
        sys.exit(f'error: no checkpoint in {ckpt.directory}')
      run.restore(ckpt)
    state = run.seed_state(run.seeds.index(run_seed))
  except checkpoint.CheckpointError as e:
    sys.exit(f'error: {e}')
  if hasattr(run.dataset, 'transformer'):
    _write_table(run, state)
    return
  if _CONDITION.value is not None or _FREQUENCY.value != 'data':
    sys.exit('error: --condition and --condition_frequency are for table runs (model=ctgan); '
             'use --label for classes')
  z = jax.random.normal(jax.random.PRNGKey(_SEED.value), (_NUM.value, config.z_dim))
  labels = None
  if config.num_classes:
    labels = (np.full(_NUM.value, _LABEL.value) if _LABEL.value is not None
              else np.arange(_NUM.value) % config.num_classes)
  if _PSI.value is not None:
    run.g_model = run.g_model.clone(truncation_psi=_PSI.value)
  out = evaluate.make_sampler(run.g_model, run.mesh, z, labels)(state)
  os.makedirs(os.path.dirname(os.path.abspath(_OUT.value)), exist_ok=True)
  step = seeds.current_step(state)
  arrays = {} if labels is None else {'labels': labels}
  written = [_OUT.value + '.npz', _OUT.value + '.png']
  if out.ndim == 4:
    arrays['images'] = np.clip(np.round((out + 1.0) * 127.5), 0, 255).astype(np.uint8)
    _draw_samples(written[1], out, config.num_classes, step)
    if _INTERPOLATE.value:
      written += _draw_latent_walks(run, state, config, step)
    if _STYLE_GRIDS.value:
      written += _draw_style_grids(run, state, config, step)
  else:
    arrays['samples'] = out
    writers.plot_samples(written[1], out, run.dataset.mixture.centers,
                         f'{_NUM.value} samples, step {step}')
  np.savez(written[0], **arrays)
  print(f'wrote {", ".join(written)} from step {step}')


def _outputs(config):
  """The files this invocation writes for the run of `config`."""
  if data.is_table(config.dataset):
    return [_OUT.value + '.csv']
  paths = [_OUT.value + '.npz', _OUT.value + '.png']
  if _INTERPOLATE.value:
    paths.append(_OUT.value + '_interp.png')
    if config.num_classes:
      paths.append(_OUT.value + '_classes.png')
  if _STYLE_GRIDS.value:
    paths += [_OUT.value + f'_{name}.png' for name in ('truncation', 'mixing', 'interp_w')]
  return paths


def _write_table(run, state):
  """Writes OUT.csv: --num synthetic rows decoded to the table's columns."""
  path = _OUT.value + '.csv'
  if _LABEL.value is not None:
    sys.exit('error: --label is for class-conditional image models; a table run takes '
             '--condition=COLUMN=VALUE')
  condition = None
  if _CONDITION.value is not None:
    column, sep, value = _CONDITION.value.partition('=')
    if not sep:
      sys.exit(f'error: --condition={_CONDITION.value!r} must be COLUMN=VALUE')
    try:
      condition = run.dataset.condition_of(column, value)
    except ValueError as e:
      sys.exit(f'error: --condition: {e}')
  z, labels = synthesis.draw_inputs(jax.random.PRNGKey(_SEED.value), _NUM.value,
                                    run.config.z_dim,
                                    synthesis.condition_logits(run.dataset, _FREQUENCY.value),
                                    condition)
  frame = synthesis.make_table_sampler(run.dataset, run.g_model, run.mesh, z, labels)(state)
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  frame.to_csv(path, index=False)
  print(f'wrote {path} ({len(frame)} rows) from step {seeds.current_step(state)}')


def _draw_samples(path, images, num_classes, step):
  """The grid of OUT.png: 8 wide, or one class per column when classes cycle."""
  if not num_classes or _LABEL.value is not None:
    of_class = '' if _LABEL.value is None else f' of class {_LABEL.value}'
    writers.save_grid(path, images, 8, title=f'{len(images)} samples{of_class}, step {step}')
    return
  cols = min(num_classes, len(images))  # Sample i has class i % num_classes: its column.
  writers.save_grid(path, images, cols, title=f'{len(images)} samples, step {step}',
                    col_labels=[f'class {k}' for k in range(cols)])


def _draw_latent_walks(run, state, config, step):
  """Writes OUT_interp.png and, for conditional models, OUT_classes.png; returns the paths."""
  key = jax.random.fold_in(jax.random.PRNGKey(_SEED.value), 0x1A7E)  # Not OUT.png's latents.
  z0, z1, z_fixed = np.asarray(jax.random.normal(key, (3, _PAIRS, config.z_dim)))
  t = np.linspace(0.0, 1.0, _INTERPOLATE.value)
  z = evaluate.slerp(z0, z1, t).reshape(-1, config.z_dim).astype(np.float32)
  row_classes = (None if not config.num_classes else
                 np.full(_PAIRS, _LABEL.value) if _LABEL.value is not None
                 else np.arange(_PAIRS) % config.num_classes)
  labels = None if row_classes is None else np.repeat(row_classes, len(t))
  path = _OUT.value + '_interp.png'
  writers.save_grid(path, evaluate.make_sampler(run.g_model, run.mesh, z, labels)(state),
                    len(t), title=f'slerp between latent pairs (rows), step {step}',
                    row_labels=None if row_classes is None
                    else [f'class {k}' for k in row_classes],
                    col_labels=[f't={v:.2f}' for v in t])
  if not config.num_classes:
    return [path]
  classes = min(config.num_classes, _CLASS_COLUMNS)
  z = np.repeat(z_fixed, classes, axis=0)
  labels = np.tile(np.arange(classes), _PAIRS)
  class_path = _OUT.value + '_classes.png'
  writers.save_grid(class_path, evaluate.make_sampler(run.g_model, run.mesh, z, labels)(state),
                    classes, title=f'one latent per row, the class switched, step {step}',
                    col_labels=[f'class {k}' for k in range(classes)])
  return [path, class_path]


def _draw_style_grids(run, state, config, step):
  """Writes OUT_truncation.png, OUT_mixing.png and OUT_interp_w.png; returns the paths."""
  g = run.g_model
  params, model_state = state_lib.sampling_params(state), state.g_model_state
  w_avg = np.asarray(model_state['w_avg']['w_avg'])
  truncate = lambda ws, psi: stylegan2.truncate(ws, w_avg, psi)  # noqa: E731
  key = jax.random.fold_in(jax.random.PRNGKey(_SEED.value), 0x5717)  # Not OUT.png's latents.
  z = np.asarray(jax.random.normal(key, (4 * _PAIRS, config.z_dim)))
  # Every latent's untruncated styles in one call; each picture truncates them itself.
  raw = np.asarray(jax.jit(functools.partial(stylegan2.styles_of, g.clone(
      truncation_psi=1.0)))(params, model_state, z))
  styles = truncate(raw, g.truncation_psi)
  paths = [_OUT.value + f'_{name}.png' for name in ('truncation', 'mixing', 'interp_w')]
  rows, cols = slice(_PAIRS, _PAIRS + _MIX_ROWS), slice(2 * _PAIRS, 2 * _PAIRS + _MIX_COLS)
  t = np.linspace(0.0, 1.0, _INTERPOLATE.value or 8, dtype=np.float32)
  w0, w1 = styles[3 * _PAIRS:], styles[:_PAIRS]
  walk = (w0[:, None] + t[None, :, None, None] * (w1 - w0)[:, None]).reshape(
      (-1,) + w0.shape[1:])
  truncated, mixed, top, left, walked = _draw(g, params, model_state, [
      (np.tile(z[:_PAIRS], (len(_PSIS), 1)),
       np.concatenate([truncate(raw[:_PAIRS], p) for p in _PSIS])),
      (np.tile(z[cols], (_MIX_ROWS, 1)),
       np.asarray(stylegan2.mixing_styles(styles[rows], styles[cols], _COARSE))),
      (z[cols], styles[cols]),
      (z[rows], styles[rows]),
      (np.repeat(z[3 * _PAIRS:], len(t), axis=0), walk)])
  writers.save_grid(paths[0], truncated, _PAIRS, title=f'truncation trick, step {step}',
                    row_labels=[f'psi={p}' for p in _PSIS])
  mixed = mixed.reshape((_MIX_ROWS, _MIX_COLS) + truncated.shape[1:])
  corner = -np.ones((1,) + truncated.shape[1:], np.float32)
  body = np.concatenate([np.concatenate([left[r:r + 1], mixed[r]]) for r in range(_MIX_ROWS)])
  writers.save_grid(paths[1], np.concatenate([corner, top, body]), _MIX_COLS + 1,
                    title=f'coarse styles: left, fine: top, step {step}')
  writers.save_grid(paths[2], walked, len(t),
                    title=f'linear interpolation in w (rows), noise fixed, step {step}',
                    col_labels=[f't={v:.2f}' for v in t])
  return paths


def _draw(g_model, params, model_state, requests):
  """The images of each (z, styles) request, drawn in chunks of one size: one compile of the
  generator for every picture (a real StyleGAN2 takes many seconds to compile on CPU)."""
  draw = jax.jit(functools.partial(stylegan2.draw_styles, g_model))
  z, styles = (np.concatenate(parts) for parts in zip(*requests))
  pad = -len(z) % _CHUNK  # Repeats of the last request fill the last chunk.
  z, styles = (np.concatenate([a, np.repeat(a[-1:], pad, axis=0)]) for a in (z, styles))
  images = np.concatenate([np.asarray(draw(params, model_state, z[i:i + _CHUNK],
                                           styles[i:i + _CHUNK]))
                           for i in range(0, len(z), _CHUNK)])
  return np.split(images[:len(z) - pad], np.cumsum([len(r[0]) for r in requests])[:-1])


if __name__ == '__main__':
  app.run(main)
