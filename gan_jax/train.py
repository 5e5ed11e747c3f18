"""The host-side training loop: build everything, run steps, log, evaluate, plot."""
import json
import os
import time

from absl import logging
import jax
import numpy as np

from gan_jax import data, evaluate, models, optim, parallel, steps, validation, writers
from gan_jax import state as state_lib


class NonFiniteError(FloatingPointError):
  """A measurement became NaN or infinite; the message names it and the step range."""


def _check_finite(measurements, step, last_checked):
  bad = sorted(k for k, v in measurements.items() if not np.all(np.isfinite(v)))
  if bad:
    raise NonFiniteError(f'non-finite {", ".join(bad)} between steps {last_checked + 1} '
                         f'and {step}; lower the learning rates or set gradient clipping')


def _format(measurements):
  return '  '.join(f'{k}={v:.4g}' for k, v in sorted(measurements.items()))


def _scalars(measurements):
  return {k: float(v) for k, v in jax.device_get(measurements).items()}


class Run:
  """Everything one experiment builds before its loop: data, models, state, step, evals."""

  def __init__(self, config):
    validation.validate(config)
    validation.check_devices(config)
    self.config = config
    self.mesh = parallel.make_mesh()
    self.dataset = data.build(config, self.mesh)
    self.g_model, self.d_model = models.build(config, self.dataset.sample_shape)
    g_tx, d_tx = optim.build(config)
    self.state = parallel.replicate(
        state_lib.create(config, self.g_model, self.d_model, g_tx, d_tx,
                         self.dataset.sample_shape), self.mesh)
    self.train_step = steps.make_train_step(config, self.g_model, self.d_model, g_tx, d_tx,
                                            self.mesh)
    self.evaluators = evaluate.build(config, self.dataset, self.g_model)


def _evaluate(run, step, writer):
  """Runs every evaluator, writes its metrics and plots; returns the merged metrics."""
  metrics = {}
  for name, evaluator in run.evaluators.items():
    values, artifacts = evaluator.run(run.state)
    metrics.update(values)
    if writer and 'samples' in artifacts and artifacts['samples'].shape[-1] == 2:
      path = os.path.join(writer.workdir, f'samples_{step:07d}.png')
      title = f'step {step}: ' + ', '.join(f'{k} {v:.3g}' for k, v in values.items())
      writers.plot_samples(path, artifacts['samples'], evaluator.centers, title)
      writer.write_image(step, f'{name}/samples', path)
  if writer:
    writer.write(step, metrics)
  logging.info('eval step %d: %s', step, _format(metrics))
  return metrics


def train_and_evaluate(config, workdir):
  """Trains and evaluates one experiment, writing its outputs into `workdir`.

  Writes config.json, metrics.jsonl (a line per log and eval event), TensorBoard events,
  a sample plot per evaluation and curves.png at the end (process 0 only).

  Args:
    config: the experiment ConfigDict (validated here before any work).
    workdir: output directory.
  Returns:
    A summary dict: steps, seconds, steps_per_sec and the last evaluation's metrics.
  """
  start = time.time()
  run = Run(config)
  writer = None
  if jax.process_index() == 0:
    writer = writers.MetricWriter(workdir)
    with open(os.path.join(workdir, 'config.json'), 'w', encoding='utf-8') as f:
      f.write(config.to_json_best_effort(indent=2, sort_keys=True) + '\n')
  logging.info('%d devices; generator %d params, critic %d params', jax.device_count(),
               models.count_params(run.state.g_params),
               models.count_params(run.state.d_params))

  first_step = int(run.state.step)
  last_log_step, last_log_time = first_step, time.time()
  eval_metrics = {}
  for step in range(first_step + 1, config.num_steps + 1):
    run.state, measurements = run.train_step(run.state, run.dataset.batch_at(step - 1))
    if step % config.log_every == 0 or step == config.num_steps:
      measurements = _scalars(measurements)  # The loop's only host sync.
      _check_finite(measurements, step, last_log_step)
      now = time.time()
      measurements['steps_per_sec'] = (step - last_log_step) / (now - last_log_time)
      last_log_step, last_log_time = step, now
      if writer:
        writer.write(step, measurements)
      logging.info('step %d/%d  %s', step, config.num_steps, _format(measurements))
    if step % config.eval_every == 0 or step == config.num_steps:
      eval_metrics = _evaluate(run, step, writer)

  summary = {'steps': config.num_steps, 'seconds': round(time.time() - start, 2),
             **eval_metrics}
  if writer:
    writers.plot_curves(os.path.join(workdir, 'curves.png'), writers.read_metrics(workdir))
    with open(os.path.join(workdir, 'summary.json'), 'w', encoding='utf-8') as f:
      json.dump(summary, f, indent=2)
    writer.close()
  return summary
