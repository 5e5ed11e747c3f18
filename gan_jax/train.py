"""The host-side training loop: build everything, run steps, log, evaluate, plot."""
import concurrent.futures
import json
import logging
import os
import signal
import threading
import time

import jax
import numpy as np

from gan_jax import checkpoint, data, diagnostics, evaluate, models, optim, parallel, progress
from gan_jax import progressive, provenance, seeds, steps, validation
from gan_jax import state as state_lib
from gan_jax import writers
from gan_jax.models import progan

log = logging.getLogger(__name__)


class NonFiniteError(FloatingPointError):
  """A measurement became NaN or infinite; the message names it and the step range."""


class WorkdirError(OSError):
  """The workdir cannot be created or written; the message is one line for the user."""


def _prepare_workdir(workdir):
  try:
    os.makedirs(workdir, exist_ok=True)
  except OSError as e:
    raise WorkdirError(f'cannot create --workdir={workdir}: {e.strerror}') from e
  if not os.access(workdir, os.W_OK | os.X_OK):
    raise WorkdirError(f'--workdir={workdir} is not writable')


class StopRequest:
  """Turns SIGTERM and SIGINT into a flag the loop reads at step boundaries.

  The loop then checkpoints and exits cleanly; a second signal interrupts at once. Orbax's
  own preemption sync only fires under jax.distributed, so single-process runs need this.
  """

  def __init__(self):
    self.signal = None
    self._previous = {}
    if threading.current_thread() is threading.main_thread():
      for sig in (signal.SIGTERM, signal.SIGINT):
        self._previous[sig] = signal.signal(sig, self._handle)

  def _handle(self, signum, frame):
    del frame
    if self.signal is not None:
      raise KeyboardInterrupt
    self.signal = signal.Signals(signum).name

  def restore(self):
    for sig, handler in self._previous.items():
      signal.signal(sig, handler)


def _check_finite(measurements, step, last_checked, where=''):
  bad = sorted(k for k, v in measurements.items() if not np.all(np.isfinite(v)))
  if bad:
    raise NonFiniteError(f'non-finite {", ".join(bad)}{where} between steps '
                         f'{last_checked + 1} and {step}; lower the learning rates or set '
                         'gradient clipping')


_CONSOLE = ('steps_per_sec', 'd_loss', 'g_loss', 'd_real', 'd_fake', 'd_accuracy', 'gp', 'r1')


def _format(measurements, names=None):
  """'name=value' pairs for the console: `names` in that order, or all of them sorted."""
  names = [n for n in names if n in measurements] if names else sorted(measurements)
  return '  '.join(f'{n}={measurements[n]:.4g}' for n in names)


def _per_seed(config, measurements):
  """One {name: float} dict per seed from the fetched measurements (seed axis first)."""
  fetched = parallel.fetch(measurements)
  if not seeds.stacked(config):
    return [{k: float(v) for k, v in fetched.items()}]
  return [{k: float(v[i]) for k, v in fetched.items()} for i in range(config.num_seeds)]


class Run:
  """Everything one experiment builds before its loop: data, models, state, step, evals.

  A progressive run (model=progan) holds the models, step and evaluators of one stage at a
  time: `begin_step` and `restore` follow the schedule (`self.stage`, `self.schedule`).

  Args:
    config: the experiment config (validated here).
    mesh: the device mesh; all devices of all processes by default.
  """

  def __init__(self, config, mesh=None):
    validation.validate(config)
    self.mesh = parallel.make_mesh() if mesh is None else mesh
    validation.check_devices(config, self.mesh.size)
    self.config = config
    self.dataset = data.build(config, self.mesh)
    layout = getattr(self.dataset, 'layout', None)
    if layout is not None:  # A table sets its number of conditions (and epochs' steps).
      data.table_data.resolve(config, self.dataset)
    validation.check_data(config, self.dataset)
    # A progressive run's models hold every stage's parameters; each stage trains a clone.
    self._models = models.build(config, self.dataset.sample_shape, layout)
    self._tx = optim.build(config)
    self._state_args = (config, *self._models, *self._tx, self.dataset.sample_shape, self.mesh)
    self._state = None  # Created on first use: a run that restores a checkpoint never needs it.
    self._abstract_state = None
    self.schedule = (progressive.Schedule(config, self.dataset.sample_shape[0])
                     if config.model == 'progan' else None)
    if self.schedule is not None:
      self._reset_optimizers = jax.jit(seeds.vmap(config, _reset_optimizers(*self._tx)),
                                       donate_argnums=0)
    self.seeds = seeds.values(config)
    self.stage = None
    self.follow_schedule(0)

  @property
  def state(self):
    """The training state (GANState); a fresh run's initial state is created on first use."""
    if self._state is None:
      self._state = state_lib.create(*self._state_args)
    return self._state

  @state.setter
  def state(self, value):
    self._state = value

  @property
  def abstract_state(self):
    """Each leaf's shape, dtype and sharding (jax.ShapeDtypeStruct), known without creating
    or restoring the state."""
    if self._abstract_state is None:
      self._abstract_state = state_lib.create(*self._state_args, abstract=True)
    return self._abstract_state

  def _held_or_abstract_state(self):
    """The state held, or its abstract shape before one is created or restored: what a
    restore or a compile needs, without creating a state for it."""
    return self.abstract_state if self._state is None else self._state

  @property
  def step(self):
    """The number of completed steps: the state's, or 0 before a fresh state is created."""
    return 0 if self._state is None else seeds.current_step(self._state)

  def compile_train_step(self, batch):
    """Compiles the current stage's train step for `batch` and the state held (its abstract
    shape before a fresh state exists) on a thread, so that its first call runs at once. A
    fresh run creates its initial state meanwhile: the two compiles overlap.

    Returns:
      The seconds the step's compile took.
    """
    template = self._held_or_abstract_state()

    def compile_step():
      start = time.time()
      self.train_step.lower(template, batch, True).compile()
      return time.time() - start

    with concurrent.futures.ThreadPoolExecutor(1) as pool:
      compiling = pool.submit(compile_step)
      _ = self.state  # A fresh run's initial state, created beside the step's compile.
      return compiling.result()

  def follow_schedule(self, step):
    """Builds the models, train step and evaluators of the stage that step `step` (0-based)
    trains, if they are not built yet. Returns whether it built them."""
    stage = 0 if self.schedule is None else self.schedule.stage(step)
    if stage == self.stage:
      return False
    self.stage = stage
    self.g_model, self.d_model = (self._models if self.schedule is None else
                                  [m.clone(stage=stage) for m in self._models])
    self.train_step = steps.make_train_step(
        self.config, self.g_model, self.d_model, *self._tx, self.mesh,
        label_logits=getattr(self.dataset, 'train_logits', None), schedule=self.schedule,
        stage=stage)
    self._evaluators = None
    self.evaluation_view = evaluate.make_evaluation_view(self.config, self.g_model, self.mesh)
    return True

  def begin_step(self, step):
    """Prepares step `step` (0-based): its stage's models and step function, and a progressive
    run's fresh optimizer states at the start of each phase (progan.reset_optimizer).
    Returns whether the stage changed."""
    changed = self.follow_schedule(step)
    if (self.schedule is not None and self.config.progan.reset_optimizer
        and step in self.schedule.phase_starts):
      self.state = self._reset_optimizers(self.state)
    return changed

  def restore(self, ckpt, step=None):
    """Restores the state from `ckpt` (its latest step, or `step`) and follows its stage;
    without a checkpoint (and no step asked) the state stays the fresh one. A run whose
    state was not created yet restores into its abstract shape: no compile of the
    initialisation, and no device memory for a state that would be overwritten."""
    if step is None and ckpt.latest_step() is None:
      return
    self.state = ckpt.restore(self._held_or_abstract_state(), step)
    self.follow_schedule(self.step)

  @property
  def evaluators(self):
    """The evaluators of config.evals for the current stage's generator, built on first use
    (a progressive run rebuilds them for each stage it evaluates)."""
    if self._evaluators is None:
      self._evaluators = evaluate.build(self.config, self.dataset, self.g_model, self.mesh)
    return self._evaluators

  def seed_state(self, index):
    """The evaluation view (evaluate.make_evaluation_view) of seed number `index`."""
    return self.evaluation_view(seeds.take(self.config, self.state, index))


def _reset_optimizers(g_tx, d_tx):
  """state -> the state with both optimizers' states freshly initialised."""
  return lambda state: state.replace(g_opt_state=g_tx.init(state.g_params),
                                     d_opt_state=d_tx.init(state.d_params))


def _evaluate(run, step, writer):
  """Runs every evaluator on every seed, writes the metrics and pictures, and returns one
  metrics dict per seed."""
  per_seed = []
  for index, seed in enumerate(run.seeds):
    metrics = _evaluate_seed(run, run.seed_state(index), step, writer, seed)
    per_seed.append(metrics)
    log.info('eval step %d%s: %s', step, f' seed {seed}' if len(run.seeds) > 1 else '',
             _format(metrics))
  return per_seed


def _evaluate_seed(run, state, step, writer, seed):
  """Runs every evaluator on one seed's state; writes and returns its metrics."""
  metrics = {}
  for name, evaluator in run.evaluators.items():
    values, artifacts = evaluator.run(state)
    metrics.update(values)
    if not writer:
      continue
    for figure, draw in artifacts.get('figures', {}).items():
      path = os.path.join(writer.seed_dir(seed), f'{name}_{figure}_{step:07d}.png')
      draw(path)
      writer.write_image(step, f'{name}_{figure}', path, seed)
    path = os.path.join(writer.seed_dir(seed), f'{name}_{step:07d}.png')
    if 'scatter' in artifacts:
      title = f'step {step}: ' + ', '.join(f'{k} {v:.3g}' for k, v in values.items())
      writers.plot_samples(path, artifacts['scatter'], artifacts['centers'], title)
    elif 'grid' in artifacts:
      writers.save_grid(path, artifacts['grid'], artifacts['grid_cols'],
                        title=f'samples, step {step}',
                        row_labels=artifacts.get('grid_row_labels'))
    else:
      continue
    writer.write_image(step, name, path, seed)
  if writer:
    writer.write(step, metrics, 'eval', seed)
  return metrics


def train_and_evaluate(config, workdir):
  """Trains and evaluates one experiment in `workdir`, resuming from its latest checkpoint.

  Writes config.json, metrics.jsonl (a line per log and eval event, each naming its seed),
  segments.jsonl (a line per start or resume: its first step and the code's commit),
  checkpoint_seconds.json (each checkpoint's wall time, all segments counted), TensorBoard
  events, a sample plot per evaluation, checkpoints, and curves.png and summary.json at
  the end (files other than checkpoints from process 0 only); a run of several seeds writes
  each seed's events, plots and curves under workdir/seed_S. SIGTERM or SIGINT checkpoint
  the current step and end the run early; rerunning the same command resumes it exactly.

  Args:
    config: the experiment ConfigDict (validated here before any work).
    workdir: output directory.
  Returns:
    A summary dict: steps, seconds (the wall time of every segment, less work a kill lost
    after the last checkpoint), why the run stopped early if it did, and the last
    evaluation's metrics; for several seeds, those of each seed under 'per_seed' and their
    'mean' and 'std'.
  """
  start = time.time()
  run = Run(config)
  _prepare_workdir(workdir)
  ckpt = _open_and_restore(run, workdir, config)
  first_step = run.step
  previous = provenance.read_summary(workdir)
  if first_step >= config.num_steps and previous.get('steps') == first_step:
    ckpt.close()
    log.info('the run in %s is finished (step %d of num_steps=%d): nothing to do; a larger '
             '--config.num_steps extends it, a new --workdir starts another', workdir,
             first_step, config.num_steps)
    return previous
  earlier_seconds = _earlier_seconds(workdir, previous, first_step)
  writer = diags = None
  if jax.process_index() == 0:
    writer = writers.MetricWriter(workdir, resume_step=first_step, seeds=run.seeds)
    records = writers.read_metrics(workdir)
    diags = {}
    for seed in run.seeds:
      diags[seed] = diagnostics.Diagnostics(config)
      diags[seed].replay(writers.of_seed(records, seed))  # Resumed: warn as if unbroken.
    with open(os.path.join(workdir, 'config.json'), 'w', encoding='utf-8') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + '\n')
    provenance.record_segment(workdir, first_step)
  log.info('%d devices, %d seeds; generator %d params, critic %d params; starting at step %d',
           jax.device_count(), len(run.seeds),
           models.count_params(run.abstract_state.g_params) // len(run.seeds),
           models.count_params(run.abstract_state.d_params) // len(run.seeds), first_step)

  def elapsed():  # Every segment's wall time, this one's so far included.
    return earlier_seconds + time.time() - start

  def saved(step):  # A killed segment writes no summary; its checkpoints keep its time.
    if writer:
      provenance.record_checkpoint_seconds(workdir, step, elapsed())

  stop = StopRequest()
  try:
    summary = _loop(run, config, ckpt, writer, diags, stop, first_step, saved)
    if config.best_metric and ckpt.best_step() is not None:
      summary['best_step'] = ckpt.best_step()
  finally:
    stop.restore()
    ckpt.close()
  summary = {'steps': seeds.current_step(run.state),
             'seconds': round(elapsed(), 2), **summary}
  if writer:
    summary.update(_write_results(config, workdir, run.seeds, summary.get('best_step')))
    with open(os.path.join(workdir, 'summary.json'), 'w', encoding='utf-8') as f:
      json.dump(summary, f, indent=2)
    writer.close()
  return summary


def _open_and_restore(run, workdir, config):
  """Opens the run's checkpoints and restores the latest into `run`; returns the Checkpointer.
  A refused or failed restore closes it before raising: Orbax's threads must be awaited, or
  the interpreter's shutdown prints a traceback after the one-line error."""
  ckpt = checkpoint.Checkpointer(workdir, config)
  try:
    run.restore(ckpt)
  except BaseException:
    ckpt.close()
    raise
  return ckpt


def _write_results(config, workdir, run_seeds, best_step):
  """Draws each seed's curves and returns the summary's results: the last evaluation's
  metrics, the warnings and the best metric (per seed, with mean and std, for several)."""
  records = writers.read_metrics(workdir)
  per_seed = []
  for seed in run_seeds:
    mine = writers.of_seed(records, seed)
    name = 'curves.png' if len(run_seeds) == 1 else os.path.join(f'seed_{seed}', 'curves.png')
    writers.plot_curves(os.path.join(workdir, name), mine,
                        title='training curves' if len(run_seeds) == 1 else f'seed {seed}')
    last_eval = next((r for r in reversed(mine) if r['event'] == 'eval'), {})
    result = {k: v for k, v in last_eval.items() if k not in ('step', 'event', 'seed')}
    result['warnings'] = sorted({r['warning'] for r in mine if r['event'] == 'warning'})
    best = [r[config.best_metric] for r in mine if r['event'] == 'eval'
            and r['step'] == best_step and config.best_metric in r]
    if best:
      result[f'best_{config.best_metric}'] = best[-1]
    per_seed.append(result)
  if len(run_seeds) == 1:
    return per_seed[0]
  return {'per_seed': {str(seed): r for seed, r in zip(run_seeds, per_seed)},
          **seeds.mean_std(per_seed)}


def _earlier_seconds(workdir, previous, first_step):
  """The wall time of a resumed run's earlier segments, up to the state it resumed from:
  the summary of a segment that ended there, else the time recorded with that checkpoint
  (else, for a run older than that record, the last summary's)."""
  if previous.get('steps') == first_step:
    return previous.get('seconds', 0.0)
  recorded = provenance.checkpoint_seconds(workdir, first_step)
  if recorded is not None:
    return recorded
  return previous.get('seconds', 0.0) if previous.get('steps', 0) <= first_step else 0.0


def _warn(diags, writer, step, records):
  """Logs and records the diagnostics' warnings about one train or eval record per seed."""
  for seed, record in zip(diags or (), records):
    for name, detail in diags[seed].observe(record):
      where = f' seed {seed}' if len(diags) > 1 else ''
      log.warning('warning at step %d%s: %s: %s', step, where, name, detail)
      writer.write(step, {'warning': name, 'detail': detail}, 'warning', seed)


def _log_train(run, config, writer, diags, step, per_seed):
  """Writes one train record per seed, logs the progress line and runs the diagnostics."""
  for seed, measurements in zip(run.seeds, per_seed):
    if writer:
      writer.write(step, measurements, 'train', seed)
  shown = per_seed[0] if len(per_seed) == 1 else seeds.mean_std(per_seed)['mean']
  log.info('step %d/%d (%.0f%%, ETA %s)  %s%s', step, config.num_steps,
           100.0 * step / config.num_steps,
           progress.format_seconds((config.num_steps - step) / shown['steps_per_sec']),
           f'mean of {len(per_seed)} seeds: ' if len(per_seed) > 1 else '',
           _format(shown, _CONSOLE))
  _warn(diags, writer, step, [{'event': 'train', **m} for m in per_seed])


def _compile_step(run, writer, step, batch):
  """Compiles the train step before step `step`, the run's first or a progressive stage's
  first (Run.compile_train_step), and logs how long that took; a progressive run also
  records its stage's compile."""
  seconds = round(run.compile_train_step(batch), 2)
  if run.schedule is None:
    log.info('the train step compiled in %.1f s', seconds)
    return
  resolution = progan.stage_resolution(run.stage)
  record = {'stage': run.stage, 'resolution': resolution, 'compile_seconds': seconds}
  log.info('stage %d (%dx%d) from step %d: its train step compiled in %.1f s', run.stage,
           resolution, resolution, step, seconds)
  for seed in run.seeds if writer else ():
    writer.write(step, record, 'stage', seed)


def _loop(run, config, ckpt, writer, diags, stop, first_step, saved):
  """Runs steps first_step+1 .. num_steps, calling saved(step) after each checkpoint;
  returns {'stopped_by': SIGNAL} if interrupted."""
  last_log_step, last_log_time = first_step, time.time()
  last_saved = first_step  # The newest state known to be finite.
  for step in range(first_step + 1, config.num_steps + 1):
    batch = run.dataset.batch_at(step - 1)
    if run.begin_step(step - 1) or step == first_step + 1:
      pause = time.time()
      _compile_step(run, writer, step, batch)
      last_log_time += time.time() - pause  # steps_per_sec counts training time only.
    final = step == config.num_steps
    log_now = step % config.log_every == 0 or final
    # Steps between log steps skip the diagnostics nobody fetches.
    run.state, measurements = run.train_step(run.state, batch, log_now)
    if log_now:
      per_seed = _per_seed(config, measurements)  # The loop's only host sync.
      for seed, measured in zip(run.seeds, per_seed):
        _check_finite(measured, step, last_log_step,
                      f' (seed {seed})' if len(per_seed) > 1 else '')
      now = time.time()
      for measured in per_seed:
        measured['steps_per_sec'] = (step - last_log_step) / (now - last_log_time)
      last_log_step, last_log_time = step, now
      _log_train(run, config, writer, diags, step, per_seed)
    pause = time.time()
    if step % config.eval_every == 0 or final:
      per_seed = _evaluate(run, step, writer)
      _warn(diags, writer, step, [{'event': 'eval', **m} for m in per_seed])
      # Several seeds share one checkpoint, ranked by their mean.
      ckpt.save_best(step, run.state, per_seed[0] if len(per_seed) == 1
                     else seeds.mean_std(per_seed)['mean'])
    if step % config.checkpoint_every == 0 or final or stop.signal:
      if not ckpt.save(step, run.state):
        raise NonFiniteError(f'the training state became non-finite between steps '
                             f'{last_saved + 1} and {step}; no checkpoint was written')
      last_saved = step
      saved(step)
    last_log_time += time.time() - pause  # steps_per_sec counts training time only.
    if stop.signal and not final:  # A signal during the last step stops nothing.
      log.warning('%s: checkpointed step %d and stopping; rerun the same command to '
                  'resume', stop.signal, step)
      return {'stopped_by': stop.signal}
  return {}
