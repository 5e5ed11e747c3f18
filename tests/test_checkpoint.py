"""Reliability: exact resume after SIGKILL and SIGTERM, partial and corrupt checkpoints,
refused config changes, the NaN guard, and bad workdirs that lose nothing."""
import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import time

import jax
import numpy as np
import optax
import pytest

from configs import default
from gan_jax import checkpoint, launch, optim, parallel, provenance, train
from gan_jax import state as state_lib
from tests import cli
from tests.conftest import ROOT, run_env
from tests.helpers import backend_compiles, restored_state, tiny_config

SMOKE = ['--config=configs/quickstart.py:smoke', '--config.num_steps=1500',
         '--config.checkpoint_every=100', '--config.log_every=50', '--config.eval_every=500']


def _main(workdir, *args):
  """A `python -m gan_jax.main` process of its own, to be signalled."""
  return subprocess.Popen([sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}', *args],
                          cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                          env=run_env())


def _run(workdir, *args):
  """A whole `python -m gan_jax.main` run, forked (tests/cli.py): (exit code, stdout, stderr)."""
  proc = cli.run([sys.executable, '-m', 'gan_jax.main', f'--workdir={workdir}', *args],
                 cwd=ROOT, env=run_env(), timeout=300)
  return proc.returncode, proc.stdout, proc.stderr


def _records(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl'), encoding='utf-8') as f:
    records = [json.loads(line) for line in f]
  for r in records:
    r.pop('steps_per_sec', None)  # Wall-clock timing: the only field allowed to differ.
  return records


def _steps_saved(workdir):
  directory = os.path.join(workdir, 'checkpoints')
  if not os.path.isdir(directory):
    return []
  return sorted(int(n) for n in os.listdir(directory) if n.isdigit())


def _assert_same_state(a, b):
  leaves_a, leaves_b = jax.tree.leaves(a), jax.tree.leaves(b)
  assert len(leaves_a) == len(leaves_b)
  for x, y in zip(leaves_a, leaves_b):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))


def _smoke_config():
  from configs import quickstart  # pylint: disable=import-outside-toplevel
  c = quickstart.get_config('smoke')
  c.num_steps, c.checkpoint_every, c.log_every, c.eval_every = 1500, 100, 50, 500
  return c


@pytest.fixture(scope='module')
def reference(tmp_path_factory):
  """An uninterrupted run of the SMOKE command: its workdir."""
  workdir = str(tmp_path_factory.mktemp('reference'))
  code, _, err = _run(workdir, *SMOKE)
  assert code == 0, err[-2000:]
  return workdir


def _interrupt_when_saved(workdir, sig, min_step, args=tuple(SMOKE)):
  proc = _main(workdir, *args)
  deadline = time.time() + 240
  while not any(s >= min_step for s in _steps_saved(workdir)):
    if proc.poll() is not None or time.time() > deadline:
      proc.kill()
      raise AssertionError('run ended before the signal: ' + proc.communicate()[1][-3000:])
    time.sleep(0.02)
  proc.send_signal(sig)
  out, err = proc.communicate(timeout=300)
  return proc.returncode, out, err


# Tests of one module-scoped fixture share a pytest-xdist worker (pytest.ini: loadgroup), so
# the fixture's run happens once, not once per worker.
@pytest.mark.xdist_group('checkpoint_reference')
def test_sigkill_at_an_arbitrary_step_then_rerun_matches_uninterrupted_run(reference, tmp_path):
  workdir = str(tmp_path / 'killed')
  code, _, _ = _interrupt_when_saved(workdir, signal.SIGKILL, 300)
  assert code == -signal.SIGKILL
  resumed_at = max(_steps_saved(workdir))
  assert resumed_at < 1500
  code, out, err = _run(workdir, *SMOKE)
  assert code == 0, err[-2000:]
  assert 'summary: steps=1500' in out
  # Each segment names its first step and the checkout's commit (the killed one too).
  with open(os.path.join(workdir, provenance.SEGMENTS), encoding='utf-8') as f:
    segments = [json.loads(line) for line in f]
  assert [s['start_step'] for s in segments] == [0, resumed_at]
  # code_version itself is pinned to git's answer in tests/test_provenance.py.
  assert {s['code'] for s in segments} == {provenance.code_version()}
  assert provenance.code_versions(workdir) == [segments[0]['code']]
  _assert_same_state(restored_state(_smoke_config(), workdir),
                     restored_state(_smoke_config(), reference))
  assert _records(workdir) == _records(reference)


def test_sigkill_of_a_many_seed_run_then_rerun_matches_uninterrupted_run(tmp_path):
  args = [*SMOKE, '--config.num_seeds=3', '--config.num_steps=800']
  config = _smoke_config()
  config.num_seeds, config.num_steps = 3, 800
  reference, workdir = str(tmp_path / 'reference'), str(tmp_path / 'killed')
  code, _, err = _run(reference, *args)
  assert code == 0, err[-2000:]
  code, _, _ = _interrupt_when_saved(workdir, signal.SIGKILL, 300, args)
  assert code == -signal.SIGKILL and max(_steps_saved(workdir)) < 800
  code, _, err = _run(workdir, *args)
  assert code == 0, err[-2000:]
  _assert_same_state(restored_state(config, workdir), restored_state(config, reference))
  assert _records(workdir) == _records(reference)
  assert {r['seed'] for r in _records(workdir)} == {0, 1, 2}


@pytest.mark.xdist_group('checkpoint_reference')
def test_sigterm_checkpoints_the_current_step_and_exits_cleanly(reference, tmp_path,
                                                                monkeypatch):
  workdir = str(tmp_path / 'preempted')
  code, out, _ = _interrupt_when_saved(workdir, signal.SIGTERM, 200)
  assert code == 0
  assert 'stopped_by=SIGTERM' in out
  stopped_at = int(out.split('summary: steps=')[1].split()[0])
  assert stopped_at in _steps_saved(workdir) and stopped_at < 1500
  # The scripts that rerun many runs (sweeps, baselines) resume a preempted run, though it
  # left a summary.json, rather than report it as finished.
  monkeypatch.setenv('XLA_FLAGS', run_env()['XLA_FLAGS'])
  summary = launch.train_once(SMOKE[0].split('=', 1)[1], workdir, 0,
                              [a.split('.', 1)[1] for a in SMOKE[1:]], cwd=ROOT)
  assert summary['steps'] == 1500 and 'stopped_by' not in summary
  _assert_same_state(restored_state(_smoke_config(), workdir),
                     restored_state(_smoke_config(), reference))
  assert _records(workdir) == _records(reference)


def test_a_rerun_asking_for_more_steps_extends_a_finished_run_and_one_for_fewer_reuses_it(
    tmp_path, monkeypatch):
  workdir = str(tmp_path)
  config = _smoke_config()
  config.num_steps, config.checkpoint_every, config.log_every, config.eval_every = 2, 2, 1, 2
  train.train_and_evaluate(config, workdir)
  monkeypatch.setenv('XLA_FLAGS', run_env()['XLA_FLAGS'])
  overrides = ['checkpoint_every=2', 'log_every=1', 'eval_every=2']
  longer = launch.train_once(SMOKE[0].split('=', 1)[1], workdir, 0,
                             ['num_steps=4', *overrides], cwd=ROOT)
  assert longer['steps'] == 4 and _steps_saved(workdir) == [2, 4]
  for steps in (4, 3):  # Finished: reused as it is, nothing trained or written.
    assert launch.train_once(SMOKE[0].split('=', 1)[1], workdir, 0,
                             [f'num_steps={steps}', *overrides], cwd=ROOT) == longer
  with open(os.path.join(workdir, provenance.SEGMENTS), encoding='utf-8') as f:
    assert [json.loads(line)['start_step'] for line in f] == [0, 2]


def test_a_signal_before_the_last_step_stops_the_run_and_one_during_it_does_not(
    tmp_path, monkeypatch):
  class Signalled(train.StopRequest):
    """A SIGTERM that arrived during the first step."""

    def __init__(self):
      super().__init__()
      self.signal = 'SIGTERM'

  monkeypatch.setattr(train, 'StopRequest', Signalled)
  stopped = train.train_and_evaluate(tiny_config(num_steps=2), str(tmp_path / 'two'))
  assert stopped['steps'] == 1 and stopped['stopped_by'] == 'SIGTERM'
  # Its last step done, the run is finished: a summary naming a signal would have the
  # scripts that rerun runs (launch.train_once) start it again.
  finished = train.train_and_evaluate(tiny_config(num_steps=1), str(tmp_path / 'one'))
  assert finished['steps'] == 1 and 'stopped_by' not in finished


def test_rerunning_a_finished_run_changes_nothing(tmp_path):
  config = tiny_config()
  workdir = str(tmp_path)
  first = train.train_and_evaluate(config, workdir)
  before = _records(workdir)
  files = sorted(os.listdir(workdir))
  summary = train.train_and_evaluate(config, workdir)
  assert summary == first and _records(workdir) == before
  assert sorted(os.listdir(workdir)) == files  # No new TensorBoard events file either.
  with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
    assert json.load(f) == first


def test_a_resumed_run_reports_the_wall_time_of_all_its_segments(tmp_path):
  workdir = str(tmp_path)
  first = train.train_and_evaluate(tiny_config(num_steps=4), workdir)
  start = time.time()
  second = train.train_and_evaluate(tiny_config(num_steps=8), workdir)
  assert second['steps'] == 8
  assert first['seconds'] < second['seconds'] <= first['seconds'] + time.time() - start


def test_a_run_resumed_after_a_kill_counts_the_killed_segments_time_to_its_checkpoint(
    tmp_path):
  workdir = str(tmp_path)
  train.train_and_evaluate(tiny_config(num_steps=4, checkpoint_every=2), workdir)
  # What a kill between the saves of steps 2 and 4 leaves: no summary, no checkpoint 4.
  os.remove(os.path.join(workdir, 'summary.json'))
  shutil.rmtree(os.path.join(workdir, 'checkpoints', '4'))
  assert 0 < provenance.checkpoint_seconds(workdir, 2) < provenance.checkpoint_seconds(workdir, 4)
  provenance.record_checkpoint_seconds(workdir, 2, 1000.0)  # A killed segment of 1000 s.
  start = time.time()
  resumed = train.train_and_evaluate(tiny_config(num_steps=4, checkpoint_every=2), workdir)
  assert 1000.0 < resumed['seconds'] <= 1000.0 + time.time() - start
  assert 1000.0 < provenance.checkpoint_seconds(workdir, 4) <= resumed['seconds']


def test_more_steps_is_a_safe_override_that_continues_the_run(tmp_path):
  short, long = tiny_config(num_steps=4), tiny_config(num_steps=8)
  resumed, straight = str(tmp_path / 'resumed'), str(tmp_path / 'straight')
  train.train_and_evaluate(short, resumed)
  train.train_and_evaluate(long, resumed)
  train.train_and_evaluate(long, straight)
  _assert_same_state(restored_state(long, resumed), restored_state(long, straight))
  assert _records(resumed) == _records(straight)


@pytest.mark.parametrize('schedule', ['g_schedule', 'd_schedule'])
def test_a_new_num_steps_is_refused_when_a_learning_rate_schedule_decays(tmp_path, schedule):
  short = tiny_config(num_steps=4, **{schedule: 'linear'})
  train.train_and_evaluate(short, str(tmp_path))
  with pytest.raises(checkpoint.CheckpointError, match='linear.*decay over num_steps=4'):
    train.train_and_evaluate(tiny_config(num_steps=8, **{schedule: 'linear'}), str(tmp_path))
  assert train.train_and_evaluate(short, str(tmp_path))['steps'] == 4  # Same length: fine.


def test_interrupted_save_is_ignored_removed_and_the_previous_checkpoint_used(tmp_path):
  config = tiny_config(num_steps=4, checkpoint_every=2)
  workdir = str(tmp_path)
  train.train_and_evaluate(config, workdir)
  ckpts = os.path.join(workdir, 'checkpoints')
  # What a kill in the middle of saving step 6 leaves: a temporary directory, half written.
  partial = os.path.join(ckpts, '6.orbax-checkpoint-tmp-1234567')
  shutil.copytree(os.path.join(ckpts, '4'), partial)
  shutil.rmtree(os.path.join(partial, 'state'))
  run = train.Run(tiny_config(num_steps=6))
  with checkpoint.Checkpointer(workdir, tiny_config(num_steps=6)) as ckpt:
    assert ckpt.latest_step() == 4
    assert int(ckpt.restore(run.state).step) == 4
  assert not os.path.exists(partial)


def test_closing_a_run_opened_without_saving_waits_for_the_removal_of_an_interrupted_save(
    tmp_path):
  partial = tmp_path / 'checkpoints' / '6.orbax-checkpoint-tmp-1234567'
  partial.mkdir(parents=True)
  (partial / 'half_written').write_text('x')
  checkpoint.Checkpointer(str(tmp_path), tiny_config()).close()
  assert not partial.exists()


def test_a_read_only_opening_creates_no_folder_and_leaves_a_save_in_progress(tmp_path):
  # evaluate.py and sample.py may open a run that is still training and saving.
  config = tiny_config(best_metric='modes', best_mode='max')
  partial = tmp_path / 'checkpoints' / '6.orbax-checkpoint-tmp-1234567'
  partial.mkdir(parents=True)
  (partial / 'half_written').write_text('x')
  with checkpoint.Checkpointer(str(tmp_path), config, read_only=True) as ckpt:
    assert ckpt.latest_step() is None and ckpt.saved_steps() == []
  assert (partial / 'half_written').read_text() == 'x'
  assert sorted(os.listdir(tmp_path)) == ['checkpoints']  # No checkpoints_best either.


def _expect_one_line_error(workdir, args, *parts):
  before = {p: os.path.getmtime(os.path.join(r, p))
            for r, _, files in os.walk(workdir) for p in files}
  code, _, err = _run(workdir, *args)
  lines = [line for line in err.splitlines() if line.strip()]
  assert code != 0 and len(lines) == 1, err
  for part in parts:
    assert part in lines[0]
  after = {p: os.path.getmtime(os.path.join(r, p))
           for r, _, files in os.walk(workdir) for p in files}
  assert after == before  # Nothing in the workdir was touched.


TINY = ['--config=configs/quickstart.py:smoke', '--config.num_steps=10']


def test_each_field_added_after_runs_existed_is_registered_with_its_default():
  # A run older than a field behaves as the field's default (the convention of every added
  # field), so its registered value must be that default: resume compares with it, and
  # the scripts that read a run fill it in.
  defaults = default.get_config()
  for name, value in checkpoint.ADDED_FIELDS.items():
    assert functools.reduce(getattr, name.split('.'), defaults) == value, name


def test_saving_a_replicated_state_on_8_cpu_devices_compiles_no_program(tmp_path):
  # Orbax's replica-parallel saving would compile a slicing program per array shape and
  # device; the devices of a CPU share one memory, so gan_jax saves each array whole.
  config = tiny_config()
  run = train.Run(config)
  assert run.mesh.size == 8
  parallel.fetch(checkpoint._all_finite(run.state))  # The NaN guard's own compile.
  with backend_compiles() as compiles:
    with checkpoint.Checkpointer(str(tmp_path), config) as ckpt:
      assert ckpt.save(3, run.state)
  assert not compiles
  jax.tree.map(np.testing.assert_array_equal, restored_state(config, str(tmp_path)),
               parallel.fetch(run.state))


def test_a_run_that_restores_a_checkpoint_never_creates_its_initial_state(tmp_path,
                                                                          monkeypatch):
  # Resumes, sample.py and evaluate.py restore into the state's abstract shape: they
  # neither compile the initialisation nor hold a state that the restore overwrites.
  config = tiny_config(num_seeds=2, ema_decay=0.5)
  run = train.Run(config)
  with checkpoint.Checkpointer(str(tmp_path / 'run'), config) as ckpt:
    assert ckpt.save(3, run.state)
  create = state_lib.create
  created = []
  monkeypatch.setattr(state_lib, 'create', lambda *args, abstract=False: created.append(
      abstract) or create(*args, abstract=abstract))
  again = train.Run(config)
  with checkpoint.Checkpointer(str(tmp_path / 'run'), config, read_only=True) as ckpt:
    again.restore(ckpt)
  assert created == [True]
  jax.tree.map(np.testing.assert_array_equal, parallel.fetch(again.state),
               parallel.fetch(run.state))
  assert all(jax.tree.leaves(jax.tree.map(lambda a, b: a.sharding == b.sharding,
                                          again.state, run.state)))
  fresh = train.Run(config)  # Nothing to restore: the fresh state, created on first use.
  with checkpoint.Checkpointer(str(tmp_path / 'empty'), config) as ckpt:
    fresh.restore(ckpt)
  assert created == [True]
  assert int(fresh.state.step[0]) == 0 and created == [True, False]


def test_resume_with_a_structure_changing_config_is_refused(tmp_path):
  workdir = str(tmp_path)
  assert _run(workdir, *TINY)[0] == 0
  _expect_one_line_error(workdir, [*TINY, '--config.mlp.width=64', '--config.loss=hinge'],
                         'mlp.width: 128 -> 64', "loss: 'ns' -> 'hinge'", 'new --workdir')


def test_a_refused_resume_closes_the_checkpoints_it_opened(tmp_path, monkeypatch):
  # An open manager's clean-up thread can outlive the interpreter's shutdown, which then
  # prints a traceback under the one-line error (the test above failed so, once, in CI).
  workdir = str(tmp_path)
  train.train_and_evaluate(tiny_config(), workdir)
  closed, close = [], checkpoint.Checkpointer.close
  monkeypatch.setattr(checkpoint.Checkpointer, 'close',
                      lambda self: closed.append(self) or close(self))
  with pytest.raises(checkpoint.CheckpointError, match="loss: 'ns' -> 'hinge'"):
    train.train_and_evaluate(tiny_config(loss='hinge'), workdir)
  assert len(closed) == 1


def test_corrupt_checkpoint_is_a_one_line_error_that_destroys_nothing(tmp_path):
  workdir = str(tmp_path)
  assert _run(workdir, *TINY)[0] == 0
  state_dir = os.path.join(workdir, 'checkpoints', '10', 'state')
  for root, _, files in os.walk(state_dir):
    for name in files:
      with open(os.path.join(root, name), 'wb') as f:
        f.write(b'\x00garbage')
  _expect_one_line_error(workdir, TINY, 'unreadable', '10')


def test_workdir_that_cannot_be_created_is_a_one_line_error(tmp_path):
  blocker = tmp_path / 'file'
  blocker.write_text('precious')
  code, _, err = _run(str(blocker / 'run'), *TINY)
  assert code != 0 and len(err.strip().splitlines()) == 1 and 'cannot create' in err
  assert blocker.read_text() == 'precious'


def test_divergence_stops_the_run_naming_measurement_and_steps_and_saves_no_nan(tmp_path):
  workdir = str(tmp_path)
  code, _, err = _run(workdir, *TINY, '--config.g_lr=1e30', '--config.d_lr=1e30',
                      '--config.checkpoint_every=1')
  lines = [line for line in err.splitlines() if line.strip()]
  assert code != 0 and len(lines) == 1, err
  assert 'non-finite' in lines[0] and 'between steps' in lines[0]
  config = _smoke_config()
  config.num_steps, config.g_lr, config.d_lr, config.checkpoint_every = 10, 1e30, 1e30, 1
  if _steps_saved(workdir):  # Whatever was saved before the divergence is finite.
    assert all(np.all(np.isfinite(x)) for x in jax.tree.leaves(restored_state(config, workdir)))


@pytest.mark.parametrize('bad', [np.nan, np.inf, -np.inf])
def test_a_save_refuses_a_state_with_any_non_finite_value_and_writes_nothing(tmp_path, bad):
  # The guard must see one bad value in any floating leaf (parameters, Adam's moments, the
  # EMA), and must not be fooled by finite values whose plain sum would overflow.
  config = tiny_config(ema_decay=0.5)
  state = parallel.fetch(train.Run(config).state)
  huge = jax.tree.map(lambda x: np.full_like(x, 3e38) if x.dtype.kind == 'f' else x, state)
  with checkpoint.Checkpointer(str(tmp_path / 'finite'), config) as ckpt:
    assert ckpt.save(1, huge)
  paths = [p for p, x in jax.tree_util.tree_leaves_with_path(state) if x.dtype.kind == 'f']
  for where in (paths[0], paths[len(paths) // 2], paths[-1]):
    spoilt = jax.tree_util.tree_map_with_path(
        lambda p, x, where=where: x.at[(0,) * x.ndim].set(bad) if p == where else x,
        jax.tree.map(jax.numpy.asarray, state))
    with checkpoint.Checkpointer(str(tmp_path / 'spoilt'), config) as ckpt:
      assert not ckpt.save(1, spoilt), jax.tree_util.keystr(where)
    assert not os.listdir(tmp_path / 'spoilt' / 'checkpoints')


def test_skip_nonfinite_updates_leaves_parameters_unchanged():
  tx = optim.make_optimizer(name='adam', lr=0.1, betas=(0.5, 0.999), schedule='constant',
                            num_updates=10, grad_clip=0.0, skip_nonfinite=True)
  params = {'w': np.ones(3, np.float32)}
  opt_state = tx.init(params)
  updates, opt_state = tx.update({'w': np.array([1.0, np.nan, 0.0], np.float32)}, opt_state,
                                 params)
  np.testing.assert_array_equal(optax.apply_updates(params, updates)['w'], params['w'])
  updates, _ = tx.update({'w': np.ones(3, np.float32)}, opt_state, params)
  assert np.all(optax.apply_updates(params, updates)['w'] < 1.0)


@pytest.mark.parametrize('mode,kept,best', [('max', [2, 4], 2), ('min', [1, 3], 3)])
def test_best_checkpoints_keep_the_top_states_by_their_metric(tmp_path, mode, kept, best):
  config = tiny_config(best_metric='hq_fraction', best_mode=mode, keep_best=2)
  run = train.Run(config)
  ckpt = checkpoint.Checkpointer(str(tmp_path), config)
  for step, value in [(1, 0.5), (2, 0.9), (3, 0.1), (4, 0.7), (5, float('nan'))]:
    ckpt.save_best(step, run.state, {'hq_fraction': value})
  ckpt.save_best(2, run.state, {'hq_fraction': 0.0})  # A re-evaluated step: ignored.
  ckpt.close()
  assert ckpt.best_step() == best
  saved = sorted(int(n) for n in os.listdir(tmp_path / 'checkpoints_best') if n.isdigit())
  assert saved == kept
  assert _steps_saved(str(tmp_path)) == []  # The latest-N directory is separate.
