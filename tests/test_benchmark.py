"""scripts/benchmark.py: the peer's DCGAN, consistent JSON figures, and bad input.

The script runs in subprocesses only: importing it would register its absl flags next to
other scripts' in the test process.
"""
import importlib.util
import json
import sys

import pytest

from tests import cli
from tests.conftest import ROOT, run_env


def _run(*args):
  return cli.run([sys.executable, 'scripts/benchmark.py', *args], cwd=ROOT,
                 timeout=300, env=run_env())


def test_dcgan64_is_the_pytorch_peers_model_and_the_figures_are_consistent():
  proc = _run('--workloads=dcgan64_ns_b64', '--batch_size=8', '--steps=2', '--warmup=0')
  assert proc.returncode == 0, proc.stderr[-2000:]
  records = [json.loads(line) for line in proc.stdout.splitlines()]
  assert [(r['workload'], r['dtype'], r['batch_size'], r['loss']) for r in records] == [
      ('dcgan64_ns_b64', 'float32', 8, 'ns'), ('dcgan64_ns_b64', 'bfloat16', 8, 'ns')]
  for r in records:
    # pytorch/examples' DCGAN with bias-free convs: netG 3,576,704 and netD 2,765,568 params.
    assert (r['g_params'], r['d_params']) == (3_576_704, 2_765_568)
    assert r['compile_s'] > 0 and r['gflops_per_step'] > 0
    assert r['step_ms_min'] <= r['step_ms_median'] <= r['step_ms_max']
    # Up to the rounding of the printed figures (0.1 images/s, 0.001 TFLOP/s).
    assert r['images_per_s'] == pytest.approx(8e3 / r['step_ms_median'], abs=0.051)
    assert r['tflops_per_s'] == pytest.approx(
        r['gflops_per_step'] / r['step_ms_median'], rel=1e-3, abs=5.1e-4)


@pytest.mark.parametrize('args,expected', [
    (['--workloads=dcgan128_ns_b64'], ['dcgan128_ns_b64', 'allowed', 'dcgan64_ns_b256']),
    (['--dtypes=float16'], ['float16', 'bfloat16']),
    (['--steps=0'], ['--steps=0', 'at least 1']),
])
def test_bad_input_is_a_one_line_error(args, expected):
  proc = _run(*args)
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr
  for part in expected:
    assert part in lines[0]


@pytest.mark.parametrize('args,expected,needs_torch', [
    (['--steps=0'], ['--steps=0', 'at least 1'], False),
    (['--fid_batch=0'], ['--fid_batch=0', 'at least 1'], False),
    (['--fid=false', '--workloads=dcgan128_ns_b64'], ['dcgan128_ns_b64', 'allowed'], True),
])
def test_peer_benchmark_bad_input_is_a_one_line_error(args, expected, needs_torch):
  # Without torch, input that gets past the flag checks is reported as the missing extra
  # instead: both are one line and name what to do.
  if needs_torch and importlib.util.find_spec('torch') is None:
    expected = ['.[peer]']
  proc = cli.run([sys.executable, 'scripts/benchmark_peer.py', *args], cwd=ROOT,
                 timeout=300, env=run_env())
  lines = proc.stderr.strip().splitlines()
  assert proc.returncode != 0 and len(lines) == 1, proc.stderr
  for part in expected:
    assert part in lines[0]
