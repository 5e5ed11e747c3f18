"""The host-side training loop: build everything, run steps, log, evaluate, plot."""
import json
import logging
import os
import signal
import threading
import time

import jax
import numpy as np

from gan_jax import checkpoint, data, diagnostics, evaluate, models, optim, parallel, progress
from gan_jax import steps, validation
from gan_jax import state as state_lib
from gan_jax import writers

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


def _check_finite(measurements, step, last_checked):
  bad = sorted(k for k, v in measurements.items() if not np.all(np.isfinite(v)))
  if bad:
    raise NonFiniteError(f'non-finite {", ".join(bad)} between steps {last_checked + 1} '
                         f'and {step}; lower the learning rates or set gradient clipping')


_CONSOLE = ('steps_per_sec', 'd_loss', 'g_loss', 'd_real', 'd_fake', 'd_accuracy', 'gp', 'r1')


def _format(measurements, names=None):
  """'name=value' pairs for the console: `names` in that order, or all of them sorted."""
  names = [n for n in names if n in measurements] if names else sorted(measurements)
  return '  '.join(f'{n}={measurements[n]:.4g}' for n in names)


def _scalars(measurements):
  return {k: float(v) for k, v in parallel.fetch(measurements).items()}


class Run:
  """Everything one experiment builds before its loop: data, models, state, step, evals.

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
    validation.check_data(config, self.dataset)
    self.g_model, self.d_model = models.build(config, self.dataset.sample_shape)
    g_tx, d_tx = optim.build(config)
    self.state = state_lib.create(config, self.g_model, self.d_model, g_tx, d_tx,
                                  self.dataset.sample_shape, self.mesh)
    self.train_step = steps.make_train_step(config, self.g_model, self.d_model, g_tx, d_tx,
                                            self.mesh)
    self.evaluators = evaluate.build(config, self.dataset, self.g_model, self.mesh)
    self.evaluation_view = evaluate.make_evaluation_view(config, self.g_model, self.mesh)


def _evaluate(run, step, writer):
  """Runs every evaluator, writes its metrics and pictures, and returns the metrics."""
  metrics, state = {}, run.evaluation_view(run.state)
  for name, evaluator in run.evaluators.items():
    values, artifacts = evaluator.run(state)
    metrics.update(values)
    if not writer:
      continue
    path = os.path.join(writer.workdir, f'{name}_{step:07d}.png')
    if 'scatter' in artifacts:
      title = f'step {step}: ' + ', '.join(f'{k} {v:.3g}' for k, v in values.items())
      writers.plot_samples(path, artifacts['scatter'], artifacts['centers'], title)
    elif 'grid' in artifacts:
      writers.save_grid(path, artifacts['grid'], artifacts['grid_cols'],
                        title=f'samples, step {step}',
                        row_labels=artifacts.get('grid_row_labels'))
    else:
      continue
    writer.write_image(step, name, path)
  if writer:
    writer.write(step, metrics, 'eval')
  log.info('eval step %d: %s', step, _format(metrics))
  return metrics


def train_and_evaluate(config, workdir):
  """Trains and evaluates one experiment in `workdir`, resuming from its latest checkpoint.

  Writes config.json, metrics.jsonl (a line per log and eval event), TensorBoard events,
  a sample plot per evaluation, checkpoints, and curves.png and summary.json at the end
  (files other than checkpoints from process 0 only). SIGTERM or SIGINT checkpoint the
  current step and end the run early; rerunning the same command resumes it exactly.

  Args:
    config: the experiment ConfigDict (validated here before any work).
    workdir: output directory.
  Returns:
    A summary dict: steps, seconds, why the run stopped early if it did, and the last
    evaluation's metrics.
  """
  start = time.time()
  run = Run(config)
  _prepare_workdir(workdir)
  ckpt = checkpoint.Checkpointer(workdir, config)
  run.state = ckpt.restore(run.state)
  first_step = int(parallel.fetch(run.state.step))
  previous = _read_summary(workdir)
  if first_step >= config.num_steps and previous.get('steps') == first_step:
    ckpt.close()
    log.info('the run in %s is finished (step %d of num_steps=%d): nothing to do; a larger '
             '--config.num_steps extends it, a new --workdir starts another', workdir,
             first_step, config.num_steps)
    return previous
  # Wall time of the earlier segments of a resumed run (those that wrote a summary).
  earlier_seconds = (previous.get('seconds', 0.0) if previous.get('steps', 0) <= first_step
                     else 0.0)
  writer = diag = None
  if jax.process_index() == 0:
    writer = writers.MetricWriter(workdir, resume_step=first_step)
    diag = diagnostics.Diagnostics(config)
    diag.replay(writers.read_metrics(workdir))  # Resumed: warn as an unbroken run would.
    with open(os.path.join(workdir, 'config.json'), 'w', encoding='utf-8') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + '\n')
  log.info('%d devices; generator %d params, critic %d params; starting at step %d',
           jax.device_count(), models.count_params(run.state.g_params),
           models.count_params(run.state.d_params), first_step)
  stop = StopRequest()
  try:
    summary = _loop(run, config, ckpt, writer, diag, stop, first_step)
    if config.best_metric and ckpt.best_step() is not None:
      summary['best_step'] = ckpt.best_step()
  finally:
    stop.restore()
    ckpt.close()
  summary = {'steps': int(parallel.fetch(run.state.step)),
             'seconds': round(earlier_seconds + time.time() - start, 2), **summary}
  if writer:
    records = writers.read_metrics(workdir)
    writers.plot_curves(os.path.join(workdir, 'curves.png'), records)
    last_eval = next((r for r in reversed(records) if r['event'] == 'eval'), {})
    summary.update({k: v for k, v in last_eval.items() if k not in ('step', 'event')})
    summary['warnings'] = sorted({r['warning'] for r in records if r['event'] == 'warning'})
    best = [r[config.best_metric] for r in records if r['event'] == 'eval'
            and r['step'] == summary.get('best_step') and config.best_metric in r]
    if best:
      summary[f'best_{config.best_metric}'] = best[-1]
    with open(os.path.join(workdir, 'summary.json'), 'w', encoding='utf-8') as f:
      json.dump(summary, f, indent=2)
    writer.close()
  return summary


def _read_summary(workdir):
  """The summary.json an earlier segment of the run in `workdir` wrote, or {}."""
  try:
    with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}


def _warn(diag, writer, step, record):
  """Logs and records the diagnostics' warnings about one train or eval record."""
  for name, detail in diag.observe(record) if diag else ():
    log.warning('warning at step %d: %s: %s', step, name, detail)
    writer.write(step, {'warning': name, 'detail': detail}, 'warning')


def _loop(run, config, ckpt, writer, diag, stop, first_step):
  """Runs steps first_step+1 .. num_steps; returns {'stopped_by': SIGNAL} if interrupted."""
  last_log_step, last_log_time = first_step, time.time()
  last_saved = first_step  # The newest state known to be finite.
  for step in range(first_step + 1, config.num_steps + 1):
    run.state, measurements = run.train_step(run.state, run.dataset.batch_at(step - 1))
    final = step == config.num_steps
    if step % config.log_every == 0 or final:
      measurements = _scalars(measurements)  # The loop's only host sync.
      _check_finite(measurements, step, last_log_step)
      now = time.time()
      measurements['steps_per_sec'] = (step - last_log_step) / (now - last_log_time)
      last_log_step, last_log_time = step, now
      if writer:
        writer.write(step, measurements, 'train')
      log.info('step %d/%d (%.0f%%, ETA %s)  %s', step, config.num_steps,
               100.0 * step / config.num_steps,
               progress.format_seconds((config.num_steps - step)
                                       / measurements['steps_per_sec']),
               _format(measurements, _CONSOLE))
      _warn(diag, writer, step, {'event': 'train', **measurements})
    pause = time.time()
    if step % config.eval_every == 0 or final:
      metrics = _evaluate(run, step, writer)
      _warn(diag, writer, step, {'event': 'eval', **metrics})
      ckpt.save_best(step, run.state, metrics)
    if step % config.checkpoint_every == 0 or final or stop.signal:
      if not ckpt.save(step, run.state):
        raise NonFiniteError(f'the training state became non-finite between steps '
                             f'{last_saved + 1} and {step}; no checkpoint was written')
      last_saved = step
    last_log_time += time.time() - pause  # steps_per_sec counts training time only.
    if stop.signal:
      log.warning('%s: checkpointed step %d and stopping; rerun the same command to '
                  'resume', stop.signal, step)
      return {'stopped_by': stop.signal}
  return {}
