"""Runs the tests' `python -m MODULE ...` and `python SCRIPT ...` commands in children forked
from this process, which has imported jax and gan_jax once (tests/cli.py starts it).

Each request is a JSON line on stdin: {"argv": [...], "cwd": ..., "env": {...}, "stdout": FILE,
"stderr": FILE}, argv without the interpreter. The answer is two JSON lines: {"pid": ...} once
the child runs, then {"returncode": ...} as subprocess reports it (negative: killed by that
signal). The child sets up what a fresh interpreter would have (arguments, working
directory, environment, sys.path[0], standard streams) and runs the module or script as
__main__, then exits as the interpreter would, without its teardown (see _run_child).
Nothing here initialises a jax backend: XLA reads XLA_FLAGS (the device count) when the child
first uses one.
"""
import atexit
import importlib
import json
import os
import runpy
import sys
import threading
import traceback


def _run_child(request):
  """Becomes the requested command; never returns."""
  try:
    _run_command(request)
    code = 0
  except SystemExit as e:
    code = _exit_code(e.code)
  except BaseException:  # pylint: disable=broad-except
    traceback.print_exc()
    code = 1
  # The interpreter's exit (Py_FinalizeEx) up to its teardown of every module, which takes
  # 0.5 s here: threading's exit callbacks and the join of non-daemon threads, the atexit
  # handlers, the standard streams flushed.
  threading._shutdown()  # pylint: disable=protected-access
  atexit._run_exitfuncs()  # pylint: disable=protected-access
  sys.stdout.flush()
  sys.stderr.flush()
  os._exit(code)


def _exit_code(code):
  """The exit status Python gives SystemExit(code): None is 0, an int itself, anything else
  is printed to stderr and gives 1."""
  if code is None or isinstance(code, int):
    return code or 0
  print(code, file=sys.stderr)
  return 1


def _run_command(request):
  """Sets up what a fresh interpreter would have and runs the module or script."""
  for fd, path, flags in ((0, os.devnull, os.O_RDONLY),
                          (1, request['stdout'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC),
                          (2, request['stderr'], os.O_WRONLY | os.O_CREAT | os.O_TRUNC)):
    target = os.open(path, flags, 0o644)
    os.dup2(target, fd)
    os.close(target)
  os.chdir(request['cwd'])
  os.environ.clear()
  os.environ.update(request['env'])
  argv = request['argv']
  if argv[0] == '-m':
    sys.argv = [argv[1]] + argv[2:]
    sys.path[0] = os.getcwd()
    runpy.run_module(argv[1], run_name='__main__', alter_sys=True)
  else:
    script = os.path.abspath(argv[0])
    sys.argv = [script] + argv[1:]
    sys.path[0] = os.path.dirname(script)
    runpy.run_path(script, run_name='__main__')


def _answer(stream, **fields):
  stream.write(json.dumps(fields) + '\n')
  stream.flush()


def _preload():
  """What the CLI and the scripts import before their first line of work: 1.5 s a process."""
  for name in ('jax', 'gan_jax.checkpoint', 'gan_jax.evaluate', 'gan_jax.train'):
    importlib.import_module(name)


def main():
  # The protocol keeps its own copies of the pipes; anything printed goes to stderr, and
  # children get fresh standard streams.
  requests = os.fdopen(os.dup(0), 'r')
  answers = os.fdopen(os.dup(1), 'w')
  os.dup2(2, 1)
  # This file's folder is sys.path[0]; the checkout above it takes its place, so the server
  # imports the gan_jax a fresh `python -m gan_jax.main` run from there would (not another
  # checkout's, where an editable install points elsewhere). Each child resets sys.path[0].
  sys.path[0] = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
  _preload()
  for line in requests:
    sys.stdout.flush()
    sys.stderr.flush()
    pid = os.fork()
    if pid == 0:
      requests.close()
      answers.close()
      _run_child(json.loads(line))
    _answer(answers, pid=pid)
    _, status = os.waitpid(pid, 0)
    _answer(answers, returncode=os.waitstatus_to_exitcode(status))


if __name__ == '__main__':
  main()
