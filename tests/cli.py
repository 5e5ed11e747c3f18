"""`run`: subprocess.run for the tests' command-line runs, without paying for the imports.

A fresh `python -m gan_jax.main` spends 1.5 s importing jax and gan_jax before its first line
of work, and the suite starts a hundred of them (most to check a one-line error that takes
20 ms). `run` forks each command from a server that holds those imports (tests/cli_server.py,
one per test worker) and returns what subprocess.run would. Commands whose environment
changes a variable libraries may read when imported (see _forkable) and commands that are
not `python -m ...` or `python SCRIPT` run as real subprocesses; so do the tests that
signal, time or coordinate processes, which use subprocess directly. A few tests keep a
real `python -m gan_jax.main`, so a fresh interpreter's start (import-time warnings
included) stays covered.
"""
import atexit
import json
import os
import select
import signal
import subprocess
import sys
import tempfile

_SERVER = None
_SERVER_ENV = {}


def _server():
  global _SERVER  # pylint: disable=global-statement
  if _SERVER is None or _SERVER.poll() is not None:
    _SERVER_ENV.clear()
    _SERVER_ENV.update(os.environ)
    _SERVER = subprocess.Popen(
        [sys.executable, os.path.join(os.path.dirname(__file__), 'cli_server.py')],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, bufsize=0)
    atexit.register(_stop, _SERVER)
  return _SERVER


def _stop(server):
  """Ends the server as this test worker ends: it exits when its requests end."""
  server.stdin.close()
  server.wait(timeout=60)


def _forkable(args, env):
  """Whether the server can run `args` in `env`: `python -m MODULE` or `python SCRIPT.py`, in
  the server's environment but for XLA_FLAGS, which XLA reads when the child first uses a
  backend, and pytest's PYTEST_CURRENT_TEST, which names the test; any other variable may
  have been read by a library the server imported."""
  runnable = len(args) > 2 and args[1] == '-m' or len(args) > 1 and args[1].endswith('.py')
  server_env = _SERVER_ENV or os.environ
  changed = {k for k in env.keys() | server_env.keys() if env.get(k) != server_env.get(k)}
  return (args[0] == sys.executable and runnable
          and changed <= {'XLA_FLAGS', 'PYTEST_CURRENT_TEST'})


def _read_answer(server, timeout):
  """The server's next answer line, or None when `timeout` seconds pass without one. Read
  byte by byte from the unbuffered pipe, so no answer waits in a buffer select cannot see."""
  line = b''
  while not line.endswith(b'\n'):
    if not select.select([server.stdout], [], [], timeout)[0]:
      return None
    byte = server.stdout.read(1)
    if not byte:
      raise RuntimeError('the test command server (tests/cli_server.py) exited')
    line += byte
  return json.loads(line)


def run(args, *, cwd, env=None, timeout=None, check=False):
  """subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout,
  check=check), forked from the server where it can be (see the module docstring).

  Args:
    args: the command, starting with sys.executable.
    cwd: the working directory.
    env: its environment (None: this process's).
    timeout: seconds before the command is killed and TimeoutExpired raised.
    check: raise CalledProcessError on a non-zero exit.
  Returns:
    a subprocess.CompletedProcess with returncode, stdout and stderr.
  """
  env = dict(os.environ if env is None else env)
  if not _forkable(args, env):
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True,
                          timeout=timeout, check=check)
  with tempfile.TemporaryDirectory() as folder:
    out, err = os.path.join(folder, 'stdout'), os.path.join(folder, 'stderr')
    server = _server()
    server.stdin.write(json.dumps({'argv': list(args[1:]), 'cwd': os.fspath(cwd),
                                   'env': env, 'stdout': out, 'stderr': err}).encode() + b'\n')
    pid = _read_answer(server, 60)['pid']
    answer = _read_answer(server, timeout)
    if answer is None:
      os.kill(pid, signal.SIGKILL)
      _read_answer(server, 60)
      raise subprocess.TimeoutExpired(args, timeout)
    with open(out) as stdout, open(err) as stderr:
      proc = subprocess.CompletedProcess(args, answer['returncode'], stdout.read(),
                                         stderr.read())
  if check:
    proc.check_returncode()
  return proc
