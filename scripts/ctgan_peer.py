"""sdv-dev's CTGAN (PyTorch) on a table, timed: the peer gan_jax's tabular GAN is measured
against (scripts/tabular_baselines.py runs it). Run it with a Python that has `ctgan`
installed, kept apart from gan_jax's environment (ctgan pins its own torch and rdt):

  python3 -m venv /tmp/ctgan_venv && /tmp/ctgan_venv/bin/pip install torch==2.13.0 ctgan
  /tmp/ctgan_venv/bin/python scripts/ctgan_peer.py --train=train.csv --categorical=a,b \\
    --epochs=300 --rows=1000 --out=synthetic.csv

Writes OUT (the synthetic rows, the training table's columns) and OUT.json (fit and sample
seconds, the settings, the package versions). It imports only ctgan, torch, pandas, numpy.
"""
import argparse
import json
import os
import sys
import time


def _parse(argv):
  parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
  parser.add_argument('--train', required=True, help='CSV of the training rows.')
  parser.add_argument('--categorical', default='', help='Comma-separated categorical columns.')
  parser.add_argument('--epochs', type=int, default=300)
  parser.add_argument('--batch_size', type=int, default=500)
  parser.add_argument('--pac', type=int, default=10)
  parser.add_argument('--rows', type=int, required=True, help='Synthetic rows to sample.')
  parser.add_argument('--seed', type=int, default=0)
  parser.add_argument('--threads', type=int, default=0, help='torch threads (0: default).')
  parser.add_argument('--out', required=True, help='Path of the synthetic CSV.')
  return parser.parse_args(argv)


def main(argv=None):
  args = _parse(argv)
  if os.path.exists(args.out):
    sys.exit(f'error: {args.out} exists; pass another --out (nothing was overwritten)')
  import ctgan  # pylint: disable=import-outside-toplevel
  import numpy as np  # pylint: disable=import-outside-toplevel
  import pandas as pd  # pylint: disable=import-outside-toplevel
  import torch  # pylint: disable=import-outside-toplevel
  if args.threads:
    torch.set_num_threads(args.threads)
  train = pd.read_csv(args.train)
  categorical = [c for c in args.categorical.split(',') if c]
  missing = sorted(set(categorical) - set(train.columns))
  if missing:
    sys.exit(f'error: --categorical names {", ".join(missing)}, not columns of {args.train}')
  np.random.seed(args.seed)
  torch.manual_seed(args.seed)
  model = ctgan.CTGAN(epochs=args.epochs, batch_size=args.batch_size, pac=args.pac,
                      enable_gpu=False)
  model.set_random_state(args.seed)
  start = time.time()
  model.fit(train, categorical)
  fit_seconds = time.time() - start
  start = time.time()
  synthetic = model.sample(args.rows)
  sample_seconds = time.time() - start
  synthetic.to_csv(args.out, index=False)
  record = {'fit_seconds': round(fit_seconds, 2), 'sample_seconds': round(sample_seconds, 2),
            'epochs': args.epochs, 'batch_size': args.batch_size, 'pac': args.pac,
            'rows': args.rows, 'seed': args.seed, 'train_rows': len(train),
            'torch_threads': torch.get_num_threads(), 'ctgan': ctgan.__version__,
            'torch': torch.__version__}
  with open(args.out + '.json', 'w', encoding='utf-8') as f:
    json.dump(record, f, indent=2)
  print(json.dumps(record))


if __name__ == '__main__':
  main()
