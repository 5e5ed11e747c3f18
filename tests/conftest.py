"""Test set-up: 8 emulated CPU devices in the test process (compiled without LLVM
optimisation), a compilation cache, the repository root importable so tests can load
configs/ and tests/helpers, and one temporary folder for the session that is removed when it
ends."""
import os
import shutil
import sys
import tempfile

# Everything the tests, their subprocesses and the libraries they call put in the temporary
# directory (tfds leaves empty folders there) goes to one folder, removed after the session.
# pytest's own tmp_path folders stay under the system's temporary directory, for debugging.
os.environ.setdefault('PYTEST_DEBUG_TEMPROOT', tempfile.gettempdir())
_SESSION_TMP = tempfile.mkdtemp(prefix='gan_jax_tests_')
os.environ['TMPDIR'] = tempfile.tempdir = _SESSION_TMP

_DEVICES_FLAG = '--xla_force_host_platform_device_count'
_OTHER_XLA_FLAGS = ' '.join(f for f in os.environ.get('XLA_FLAGS', '').split()
                            if not f.startswith(_DEVICES_FLAG))
# Must precede the first jax import: every in-process train step runs sharded over 8 devices.
# In-process programs are tiny models compiled once and run for a step or two, so LLVM's
# optimisations cost more than they save (a BigGAN step: 27 s to compile at the default
# level, 16 s without). For the same reason they use XLA:CPU's older elemental emitters
# instead of its newer fusion emitters, which take longer to compile such programs: a
# BigGAN step then compiles in 3.2 s instead of 5.2 s, and test_parallel.py with
# test_configs.py takes 204-229 s instead of 293-301 s. Subprocess runs (run_env), which
# train for many steps or run Inception over many images, keep the defaults (these flags
# made them no faster).
os.environ['XLA_FLAGS'] = (f'{_OTHER_XLA_FLAGS} {_DEVICES_FLAG}=8 '
                           '--xla_backend_optimization_level=0 '
                           '--xla_cpu_use_fusion_emitters=false').strip()
# One persistent compilation cache for this session and its subprocesses, which compile the
# same small programs again and again (about a third of the suite's time on 2 cores).
os.environ.setdefault('JAX_COMPILATION_CACHE_DIR', os.path.join(_SESSION_TMP, 'jit_cache'))
os.environ.setdefault('JAX_PERSISTENT_CACHE_MIN_COMPILE_TIME_SECS', '0')


def run_env(devices=1):
  """The environment for a `python -m gan_jax.main` subprocess with `devices` CPU devices.

  Long subprocess runs use one device: XLA:CPU's in-process all-reduce between emulated
  devices can stall when 8 of them share 2 cores for thousands of steps (it aborts the run).
  """
  flags = f'{_OTHER_XLA_FLAGS} {_DEVICES_FLAG}={devices}'.strip()
  return dict(os.environ, XLA_FLAGS=flags)

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
if ROOT not in sys.path:
  sys.path.insert(0, ROOT)


def pytest_sessionfinish(session, exitstatus):
  del session, exitstatus
  shutil.rmtree(_SESSION_TMP, ignore_errors=True)
