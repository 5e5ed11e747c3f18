"""The labelled corpus of short runs that the diagnostics' rules and thresholds are chosen on,
and the confusion table of gan_jax.diagnostics over it (benchmarks/DIAGNOSTICS.md).

  python scripts/diagnostics_corpus.py --mode=run --workdir=/work/corpus_runs --seeds=0,1
  python scripts/diagnostics_corpus.py --mode=table --workdir=/work/corpus_runs --seeds=0,1
  python scripts/diagnostics_corpus.py --mode=stats --workdir=/work/corpus_runs --seeds=0

`run` trains every entry and seed as `python -m gan_jax.main` in WORKDIR/NAME/seed_S (finished
runs are skipped) from --tree, a checkout of the code to train with. `table` replays each run's
metrics.jsonl through gan_jax.diagnostics.Diagnostics with the default thresholds and prints,
per seed (seed 0 is the half the thresholds were chosen on, seed 1 the held-out half), on how
many runs of each label each warning fired. `stats` prints, per run, the extreme each rule's
measurement held for as long as the rule needs (with the default thresholds' windows).
"""
import collections
import json
import os
import resource
import sys
import time

from absl import app, flags
import numpy as np

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))  # configs/
from configs import default  # pylint: disable=wrong-import-position
from gan_jax import diagnostics, launch  # pylint: disable=wrong-import-position
from gan_jax.data import mixtures  # pylint: disable=wrong-import-position

_MODE = flags.DEFINE_enum('mode', 'table', ['run', 'table', 'stats'], 'What to do.')
_WORKDIR = flags.DEFINE_string('workdir', None, 'Directory of all the runs.')
_SEEDS = flags.DEFINE_list('seeds', ['0', '1'], 'Seeds (0: design half, 1: held-out half).')
_TREE = flags.DEFINE_string('tree', '.', 'Checkout whose gan_jax and configs `run` trains with.')
_ONLY = flags.DEFINE_list('only', [], 'Entry names to restrict to (default: all).')
flags.mark_flags_as_required(['workdir'])

LABELS = ('healthy', 'collapsed', 'overpowered', 'vanishing', 'oscillating')
# The warning each failing label must raise.
EXPECTED = {'collapsed': 'mode_collapse', 'overpowered': 'discriminator_overpowering',
            'vanishing': 'vanishing_generator_gradient', 'oscillating': 'oscillation'}

# 2-D mixtures: the quickstart's MLP, logged every 100 steps and evaluated every 500.
_MIX = ['log_every=100', 'eval_every=500', 'checkpoint_every=100000', 'num_eval_samples=2500']
# Plain GAN settings of the mixtures (no R1, no EMA, batch 256, 64-d latent: issue 12's run).
_PLAIN = ['r1_gamma=0', 'ema_decay=0', 'batch_size=256', 'z_dim=64']
_WGAN = ['loss=wgan', 'optimizer=rmsprop', 'g_lr=5e-5', 'd_lr=5e-5', 'n_critic=5']
_WGAN_GP = ['loss=wgan_gp', 'n_critic=5', 'g_betas=(0.5, 0.9)', 'd_betas=(0.5, 0.9)']
# Images: DCGAN at 8x8 on scikit-learn's digits, narrow, a sample grid as the only evaluation.
_IMG = ['dataset=digits8x8', 'image_shape=(8, 8, 1)', "evals=('grid',)", 'best_metric=',
        'g_width=32', 'd_width=32', 'num_steps=1500', 'log_every=50', 'eval_every=1500',
        'checkpoint_every=100000']
_Q, _D = 'configs/quickstart.py', 'configs/dcgan_mnist5k.py'

# (name, label, config file, overrides).
CORPUS = [
    ('ring8_ns_r1', 'healthy', _Q, _MIX + ['num_steps=4000']),
    ('ring8_minimax_r1', 'healthy', _Q, _MIX + ['num_steps=4000', 'loss=minimax']),
    ('ring8_hinge_r1', 'healthy', _Q, _MIX + ['num_steps=4000', 'loss=hinge']),
    ('ring8_lsgan_r1', 'healthy', _Q, _MIX + ['num_steps=4000', 'loss=lsgan']),
    ('ring8_wgan', 'healthy', _Q, _MIX + ['num_steps=3000', 'r1_gamma=0'] + _WGAN),
    ('ring8_wgan_gp', 'healthy', _Q, _MIX + ['num_steps=3000', 'r1_gamma=0'] + _WGAN_GP),
    ('grid25_ns_r1', 'healthy', _Q, _MIX + ['num_steps=4000', 'dataset=grid25', 'z_dim=8']),
    ('digits_ns', 'healthy', _D, _IMG),
    ('digits_minimax', 'healthy', _D, _IMG + ['loss=minimax']),
    ('digits_hinge', 'healthy', _D, _IMG + ['loss=hinge']),
    ('digits_lsgan', 'healthy', _D, _IMG + ['loss=lsgan']),
    ('digits_wgan', 'healthy', _D, _IMG + _WGAN),
    ('digits_wgan_gp', 'healthy', _D, _IMG + _WGAN_GP + ['d_norm=layer']),
    ('ring8_ns_plain', 'collapsed', _Q, _MIX + _PLAIN + ['num_steps=3000']),
    ('grid25_ns_plain', 'collapsed', _Q, _MIX + _PLAIN + ['num_steps=3000', 'dataset=grid25']),
    ('ring8_hinge_plain', 'collapsed', _Q, _MIX + _PLAIN + ['num_steps=3000', 'loss=hinge']),
    # Every sample of its grid is the same grey blot.
    ('digits_minimax_g_slow', 'collapsed', _D, _IMG + ['loss=minimax', 'd_lr=2e-3', 'g_lr=2e-5']),
    ('ring8_minimax_d_fast', 'overpowered', _Q,
     _MIX + ['num_steps=3000', 'loss=minimax', 'r1_gamma=0', 'd_lr=5e-3']),
    ('ring8_ns_d_fast', 'overpowered', _Q,
     _MIX + ['num_steps=3000', 'r1_gamma=0', 'd_lr=5e-3', 'g_lr=5e-5', 'n_critic=3']),
    ('digits_ns_d_fast', 'overpowered', _D, _IMG + ['d_lr=2e-3', 'g_lr=2e-5']),
    ('ring8_minimax_g_slow', 'overpowered', _Q,
     _MIX + ['num_steps=3000', 'loss=minimax', 'r1_gamma=0', 'd_lr=5e-3', 'g_lr=5e-5',
             'n_critic=3']),
    ('ring8_wgan_tiny_clip', 'vanishing', _Q,
     _MIX + ['num_steps=3000', 'r1_gamma=0', 'wgan_clip=1e-4'] + _WGAN),
    # A critic clipped to outputs ~1e-5 (without batch norm to undo the clipping).
    ('digits_wgan_tiny_clip', 'vanishing', _D, _IMG + _WGAN + ['wgan_clip=1e-4', 'd_norm=none']),
    ('ring8_ns_momentum', 'oscillating', _Q,
     _MIX + ['num_steps=3000', 'r1_gamma=0', 'g_lr=5e-3', 'd_lr=5e-3', 'g_betas=(0.9, 0.999)',
             'd_betas=(0.9, 0.999)']),
    ('digits_ns_momentum', 'oscillating', _D,
     _IMG + ['g_lr=5e-3', 'd_lr=5e-3', 'g_betas=(0.9, 0.999)', 'd_betas=(0.9, 0.999)']),
]


def _entries():
  entries = [e for e in CORPUS if not _ONLY.value or e[0] in _ONLY.value]
  if not entries:
    sys.exit(f'error: --only={",".join(_ONLY.value)} names no corpus entry')
  return entries


def _workdir(name, seed):
  return os.path.join(_WORKDIR.value, name, f'seed_{seed}')


def run_all():
  """Trains every entry and seed that has no summary.json yet, one run at a time."""
  start = time.time()
  for name, _, config, overrides in _entries():
    for seed in _SEEDS.value:
      try:
        launch.train_once(config, _workdir(name, seed), seed, overrides, cwd=_TREE.value)
      except launch.LaunchError as e:
        sys.exit(f'error: {name} {e}')
      print(f'{name} seed {seed} done', flush=True)
  used = resource.getrusage(resource.RUSAGE_CHILDREN)
  print(f'wall {time.time() - start:.0f} s, CPU {used.ru_utime + used.ru_stime:.0f} s')


def _records(name, seed):
  with open(os.path.join(_workdir(name, seed), 'metrics.jsonl'), encoding='utf-8') as f:
    return [json.loads(line) for line in f if line.strip()]


def _run_config(name, seed):
  """The default config with the run's objective and dataset: its rules, default thresholds."""
  with open(os.path.join(_workdir(name, seed), 'config.json'), encoding='utf-8') as f:
    ran = json.load(f)
  config = default.get_config()
  config.loss, config.dataset = ran['loss'], ran['dataset']
  return config


def warnings_of(name, seed):
  """The warnings the library's diagnostics raise over one recorded run."""
  diag = diagnostics.Diagnostics(_run_config(name, seed))
  fired = set()
  for record in _records(name, seed):
    fired.update(warning for warning, _ in diag.observe(record))
  return fired


def table():
  """Prints, per seed, how many runs of each label each warning fired on."""
  names = sorted(diagnostics.WARNINGS)
  for seed in _SEEDS.value:
    runs = collections.Counter()
    fired = collections.defaultdict(collections.Counter)
    for name, label, _, _ in _entries():
      runs[label] += 1
      for warning in warnings_of(name, seed):
        fired[label][warning] += 1
    half = 'design' if seed == '0' else 'held-out'
    print(f'\nseed {seed} ({half} half): runs on which each warning fired\n')
    print('| label (runs) | ' + ' | '.join(names) + ' |')
    print('|---|' + '---|' * len(names))
    for label in LABELS:
      cells = [f'**{fired[label][w]}**' if EXPECTED.get(label) == w else str(fired[label][w])
               for w in names]
      print(f'| {label} ({runs[label]}) | ' + ' | '.join(cells) + ' |')


def _held(values, window, *, low):
  """The extreme a run held for `window` consecutive log steps: the lowest value it stayed
  under (low=True) or the highest it stayed above (low=False)."""
  windows = [values[i:i + window] for i in range(len(values) - window + 1)]
  return min(w.max() for w in windows) if low else max(w.min() for w in windows)


def _stats(name, seed):
  """One run's figures, each the extreme its rule's condition would have to hold."""
  config = _run_config(name, seed)
  s, chance = config.diagnostics, diagnostics.chance_loss(config.loss)
  records = _records(name, seed)
  train = [r for r in records if r['event'] == 'train']
  col = lambda key: np.array([float(r[key]) for r in train])
  g = col('g_grad_norm')
  out = {'g_grad_norm min': g.min(), 'min / peak so far': (g / np.maximum.accumulate(g)).min(),
         f'diversity held {s.collapse_patience}': _held(col('feature_diversity'),
                                                        s.collapse_patience, low=True)}
  if chance is not None:
    loss, g_loss = col('d_loss'), col('g_loss')
    n = s.oscillation_window
    spread = np.array([max(np.std(loss[i:i + n]), np.std(g_loss[i:i + n]))
                       for i in range(len(loss) - n + 1)]) / chance
    out.update({f'd_accuracy held {s.patience}': _held(col('d_accuracy'), s.patience, low=False),
                'd_loss / chance held': _held(loss / chance, s.patience, low=True),
                'loss std / chance held': _held(spread, s.patience, low=False)})
  if config.dataset in mixtures.MIXTURES:
    k = len(mixtures.MIXTURES[config.dataset]().centers)
    judged = [r['modes'] / k for r in records if r['event'] == 'eval' and
              r['hq_fraction'] * config.num_eval_samples / k >= s.collapse_min_samples]
    out['modes / k at judged evals'] = '/'.join(f'{v:.2f}' for v in judged) or '-'
  return out


def stats():
  """Prints the per-run figures as a markdown table."""
  rows = [(name, label, seed, _stats(name, seed))
          for name, label, _, _ in _entries() for seed in _SEEDS.value
          if os.path.exists(os.path.join(_workdir(name, seed), 'summary.json'))]
  keys = list(dict.fromkeys(k for *_, s in rows for k in s))
  print('| run | label | seed | ' + ' | '.join(keys) + ' |')
  print('|---|---|---|' + '---|' * len(keys))
  for name, label, seed, s in rows:
    cells = [s.get(k, '') if isinstance(s.get(k, ''), str) else f'{s[k]:.3g}' for k in keys]
    print(f'| {name} | {label} | {seed} | ' + ' | '.join(cells) + ' |')


def main(argv):
  del argv
  {'run': run_all, 'table': table, 'stats': stats}[_MODE.value]()


if __name__ == '__main__':
  app.run(main)
