"""Which code trained a run, and for how long: each segment of a run (its first start and
every resume) appends a line to WORKDIR/segments.jsonl naming its first step and the gan_jax
commit, so tables built from reused runs can say what trained them rather than what is
checked out now; each checkpoint's wall time, all segments counted, goes to
WORKDIR/checkpoint_seconds.json, so a run resumed after a kill still reports its whole time;
the last segment's WORKDIR/summary.json says how far the run got and why it stopped."""
import datetime
from importlib import metadata
import json
import os
import subprocess

SEGMENTS = 'segments.jsonl'
SECONDS = 'checkpoint_seconds.json'
_PACKAGE = os.path.dirname(os.path.abspath(__file__))


def code_version(package=_PACKAGE):
  """The short commit of the git checkout whose gan_jax/ is `package`.

  Args:
    package: a gan_jax package folder (default: the one running).
  Returns:
    'abc1234', with ' (modified)' appended when gan_jax/ or configs/ differ from it, or
    'unknown' without git or when `package` is not a checkout's gan_jax/ (an installed
    wheel, perhaps in a virtualenv inside some other repository).
  """
  def git(*args):
    return subprocess.run(['git', *args], cwd=package, capture_output=True, text=True,
                          check=False)
  try:
    head = git('rev-parse', '--short', 'HEAD')
    root = git('rev-parse', '--show-toplevel').stdout.strip()
    ours = bool(root) and os.path.samefile(os.path.join(root, 'gan_jax'), package)
  except OSError:  # No git, or no gan_jax/ in the checkout.
    return 'unknown'
  if head.returncode or not ours:
    return 'unknown'
  changed = git('status', '--porcelain', '--', os.path.join(root, 'gan_jax'),
                os.path.join(root, 'configs')).stdout.strip()
  return head.stdout.strip() + (' (modified)' if changed else '')


def record_segment(workdir, first_step):
  """Appends this segment's first step, code version, jax version and start time."""
  line = {'start_step': int(first_step), 'code': code_version(), 'jax': metadata.version('jax'),
          'time': datetime.datetime.now(datetime.timezone.utc).isoformat(timespec='seconds')}
  with open(os.path.join(workdir, SEGMENTS), 'a', encoding='utf-8') as f:
    f.write(json.dumps(line) + '\n')


def code_versions(workdir):
  """The distinct code versions that trained the run in `workdir`, in order of use; [] for
  a run older than segments.jsonl."""
  try:
    with open(os.path.join(workdir, SEGMENTS), encoding='utf-8') as f:
      codes = [json.loads(line)['code'] for line in f if line.strip()]
  except OSError:
    return []
  return list(dict.fromkeys(codes))


def record_checkpoint_seconds(workdir, step, seconds):
  """Records the wall time the run took to reach the checkpointed state of `step`, the
  earlier segments' share included."""
  times = _checkpoint_seconds(workdir)
  times[str(int(step))] = round(float(seconds), 2)
  path = os.path.join(workdir, SECONDS)
  with open(path + '.tmp', 'w', encoding='utf-8') as f:
    json.dump(times, f)
  os.replace(path + '.tmp', path)  # A kill while writing leaves the earlier file whole.


def checkpoint_seconds(workdir, step):
  """The wall time recorded for the checkpoint of `step`, or None when there is none (a
  run older than checkpoint_seconds.json, or a step never saved)."""
  return _checkpoint_seconds(workdir).get(str(int(step)))


def _checkpoint_seconds(workdir):
  try:
    with open(os.path.join(workdir, SECONDS), encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}


def read_summary(workdir):
  """The summary.json the last segment of the run in `workdir` wrote.

  Args:
    workdir: a run's directory.
  Returns:
    Its dict, or {} where there is none yet (never run, or killed before its first
    summary) or it cannot be read.
  """
  try:
    with open(os.path.join(workdir, 'summary.json'), encoding='utf-8') as f:
      return json.load(f)
  except (OSError, ValueError):
    return {}
