"""Many seeds in one program: seed k of a num_seeds run is the single run of seed + k, in its
records, evaluations, checkpointed state and summary."""
import json
import os

import jax
import numpy as np
import pytest

from gan_jax import seeds, train
from tests.helpers import restored_state, tiny_config

_FIRST_SEED = 5


def _records_by_seed(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl'), encoding='utf-8') as f:
    records = [json.loads(line) for line in f]
  by_seed = {}
  for r in records:
    r.pop('steps_per_sec', None)  # Wall-clock timing.
    by_seed.setdefault(r['seed'], []).append(r)
  return by_seed


def _assert_records_close(got, want):
  assert [(r['step'], r['event'], sorted(r)) for r in got] == [
      (r['step'], r['event'], sorted(r)) for r in want]
  for a, b in zip(got, want):
    for name, value in b.items():
      if isinstance(value, float):
        np.testing.assert_allclose(a[name], value, rtol=2e-5, atol=1e-6, err_msg=name)
      else:
        assert a[name] == value, name


def _compare_with_single_runs(config, tmp_path):
  many = str(tmp_path / 'many')
  summary = train.train_and_evaluate(config, many)
  records = _records_by_seed(many)
  assert sorted(records) == seeds.values(config)
  stacked = restored_state(config, many)
  assert all(leaf.shape[0] == config.num_seeds for leaf in jax.tree.leaves(stacked))
  singles = []
  for k, seed in enumerate(seeds.values(config)):
    single = config.copy_and_resolve_references()
    single.seed, single.num_seeds = seed, 1
    workdir = str(tmp_path / f'seed_{seed}')
    singles.append(train.train_and_evaluate(single, workdir))
    _assert_records_close(records[seed], _records_by_seed(workdir)[seed])
    for a, b in zip(jax.tree.leaves(seeds.take(config, stacked, k)),
                    jax.tree.leaves(restored_state(single, workdir))):
      np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64),
                                 rtol=1e-4, atol=1e-5)
    assert os.path.isfile(os.path.join(many, f'seed_{seed}', 'curves.png'))
  return summary, singles


def test_each_seed_of_a_many_seed_mlp_run_is_the_single_run_of_that_seed(tmp_path):
  # R1 and EMA: a penalty's second-order gradient and the EMA inside the vmapped step.
  config = tiny_config(num_steps=8, eval_every=4, checkpoint_every=4, seed=_FIRST_SEED,
                       num_seeds=2, r1_gamma=0.1, ema_decay=0.9)
  summary, singles = _compare_with_single_runs(config, tmp_path)
  assert summary['steps'] == 8 and set(summary['per_seed']) == {'5', '6'}
  for seed, single in zip(seeds.values(config), singles):
    mine = summary['per_seed'][str(seed)]
    np.testing.assert_allclose(mine['hq_fraction'], single['hq_fraction'], atol=1e-6)
    assert mine['modes'] == single['modes']
  hq = np.array([s['hq_fraction'] for s in singles])
  np.testing.assert_allclose(summary['mean']['hq_fraction'], hq.mean(), atol=1e-6)
  np.testing.assert_allclose(summary['std']['hq_fraction'], hq.std(), atol=1e-6)


def test_each_seed_of_a_many_seed_batchnorm_dcgan_run_is_the_single_run(tmp_path):
  # Batch-norm statistics, the EMA's standing statistics and the grid evaluator, per seed.
  config = tiny_config(dataset='digits8x8', model='dcgan', image_shape=(8, 8, 1),
                       d_norm='batch', g_width=8, d_width=8, z_dim=8, num_steps=4,
                       eval_every=4, seed=_FIRST_SEED,
                       num_seeds=2, ema_decay=0.9, ema_standing_batches=2, evals=('grid',),
                       best_metric='')
  _compare_with_single_runs(config, tmp_path)


def test_mean_std_is_numpys_over_the_numbers_every_seed_has():
  out = seeds.mean_std([{'a': 1.0, 'b': 2, 'w': ['x']}, {'a': 3.0, 'b': 4, 'c': 1.0}])
  assert out == {'mean': {'a': 2.0, 'b': 3.0}, 'std': {'a': 1.0, 'b': 1.0}}


@pytest.mark.parametrize('value', [0, -1])
def test_num_seeds_must_be_a_positive_integer(value):
  from gan_jax import validation  # pylint: disable=import-outside-toplevel
  with pytest.raises(validation.ConfigError, match='config.num_seeds'):
    validation.validate(tiny_config(num_seeds=value))
