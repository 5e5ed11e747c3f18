"""Trains the digit classifier behind the offline Inception Score ('is' on 28x28 digits) on
4,000 of the bundled mnist5k digits and reports its accuracy on the 1,000 held out.

  python scripts/train_classifier.py                 # into the cache, where 'is' looks
  python scripts/train_classifier.py --out=clf.npz   # elsewhere; use --config.fid.classifier

An existing --out is never overwritten. Training evaluators do this on first use by
themselves; the script is for choosing the file or seeing the accuracy.
"""
import os
import sys

from absl import app, flags

from gan_jax.metrics import classifier

_OUT = flags.DEFINE_string('out', None, 'Output .npz (default: the cache path).')
_EPOCHS = flags.DEFINE_integer('epochs', 8, 'Training epochs.')


def main(argv):
  del argv
  out = _OUT.value or classifier.default_path()
  if os.path.exists(out):
    sys.exit(f'error: {out} exists; remove it or choose another --out (nothing was '
             'overwritten)')
  if _EPOCHS.value < 1:
    sys.exit(f'error: --epochs={_EPOCHS.value} must be at least 1')
  params, accuracy = classifier.train(epochs=_EPOCHS.value)
  classifier.save(out, params, accuracy)
  print(f'{out}: held-out accuracy {accuracy:.4f} on {classifier.HELD_OUT} digits')


if __name__ == '__main__':
  app.run(main)
