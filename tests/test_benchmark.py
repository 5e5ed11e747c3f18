"""scripts/benchmark.py: the speed issue's workloads, its JSON figures, and bad input."""
import json
import os
import subprocess
import sys

import jax
import jax.numpy as jnp
import pytest

from gan_jax import models
from tests.conftest import ROOT, run_env

sys.path.insert(0, os.path.join(ROOT, 'scripts'))
import benchmark  # noqa: E402  pylint: disable=wrong-import-position


def _run(*args):
  return subprocess.run([sys.executable, 'scripts/benchmark.py', *args], cwd=ROOT,
                        capture_output=True, text=True, timeout=300, env=run_env())


def test_workloads_are_the_pytorch_peers_dcgan_with_the_issues_losses_and_batches():
  config = benchmark.workload_config('dcgan64_wgan_gp_b256', 'bfloat16')
  assert (config.loss, config.batch_size, config.compute_dtype) == ('wgan_gp', 256, 'bfloat16')
  assert benchmark.workload_config('dcgan64_ns_b64', 'float32', 16).batch_size == 16
  config = benchmark.workload_config('dcgan64_ns_b256', 'float32')
  assert (config.loss, config.n_critic, config.z_dim) == ('ns', 1, 100)
  g_model, d_model = models.build(config, config.image_shape)
  # pytorch/examples' DCGAN with bias-free convs: netG 3,576,704 and netD 2,765,568 params.
  g = g_model.init(jax.random.PRNGKey(0), jnp.zeros((1, 100)))
  d = d_model.init(jax.random.PRNGKey(0), jnp.zeros((1, 64, 64, 3)))
  assert models.count_params(g['params']) == 3_576_704
  assert models.count_params(d['params']) == 2_765_568


def test_one_json_line_per_dtype_with_consistent_figures():
  proc = _run('--workloads=dcgan32_ns_b256', '--batch_size=8', '--steps=3', '--warmup=1')
  assert proc.returncode == 0, proc.stderr[-2000:]
  records = [json.loads(line) for line in proc.stdout.splitlines()]
  assert [(r['workload'], r['dtype'], r['batch_size']) for r in records] == [
      ('dcgan32_ns_b256', 'float32', 8), ('dcgan32_ns_b256', 'bfloat16', 8)]
  for r in records:
    assert r['compile_s'] > 0 and r['gflops_per_step'] > 0
    assert r['step_ms_min'] <= r['step_ms_median'] <= r['step_ms_max']
    assert r['images_per_s'] == pytest.approx(8e3 / r['step_ms_median'], rel=1e-3)
    assert r['tflops_per_s'] == pytest.approx(
        r['gflops_per_step'] / r['step_ms_median'], rel=0.02)


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
