"""The tests' command runner (tests/cli.py) answers as a fresh interpreter would."""
import os
import subprocess
import sys

import pytest

from tests import cli
from tests.conftest import ROOT, run_env


@pytest.mark.parametrize('args', [
    ['-m', 'gan_jax.main', '--config=configs/quickstart.py', '--config.loss=softmax'],
    ['-m', 'gan_jax.main', '--help'],
    ['scripts/sample.py', '--num=3'],
], ids=['error', 'help', 'script'])
def test_a_forked_command_gives_a_fresh_interpreters_exit_status_and_output(tmp_path, args):
  command = [sys.executable, *args, f'--workdir={tmp_path / "run"}']
  forked = cli.run(command, cwd=ROOT, env=run_env(), timeout=120)
  fresh = subprocess.run(command, cwd=ROOT, env=run_env(), capture_output=True, text=True,
                         timeout=120, check=False)
  assert (forked.returncode, forked.stdout, forked.stderr) == (
      fresh.returncode, fresh.stdout, fresh.stderr)
  assert not os.path.exists(tmp_path / 'run')


def test_a_command_past_its_timeout_is_killed_and_raises(tmp_path):
  command = [sys.executable, '-m', 'gan_jax.main', '--config=configs/quickstart.py',
             f'--workdir={tmp_path}', '--config.num_steps=1000000']
  with pytest.raises(subprocess.TimeoutExpired):
    cli.run(command, cwd=ROOT, env=run_env(), timeout=2)
  again = cli.run([sys.executable, '-m', 'gan_jax.main', '--help'], cwd=ROOT, env=run_env(),
                  timeout=120)
  assert again.returncode == 0


def test_only_python_commands_differing_in_xla_flags_alone_are_forked():
  # (and in the test's name, which pytest keeps in PYTEST_CURRENT_TEST)
  forkable, env = cli._forkable, dict(os.environ)  # pylint: disable=protected-access
  assert forkable([sys.executable, '-m', 'gan_jax.main'], env)
  assert forkable([sys.executable, 'scripts/sample.py'],
                  dict(run_env(3), PYTEST_CURRENT_TEST='another test'))
  assert not forkable([sys.executable, '-c', 'pass'], env)
  assert not forkable(['git', 'status'], env)
  assert not forkable([sys.executable, 'scripts/sample.py'], dict(env, OMP_NUM_THREADS='1'))
