"""Writes the global batches of steps 0..5 of a streamed image folder, as one process or as
process PROCESS_ID of two (tests/test_stream.py runs it).

  python tests/stream_batches.py FOLDER OUT.npz [COORDINATOR_ADDRESS PROCESS_ID]
"""
import logging
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

# pylint: disable=wrong-import-position
import jax
from jax.experimental import multihost_utils
import numpy as np

from gan_jax import data, parallel
from tests.helpers import tiny_config


def main(folder, out, address=None, process_id=None):
  logging.basicConfig(level=logging.INFO, stream=sys.stderr, force=True)
  if address:
    parallel.initialize(address, 2, int(process_id))
  config = tiny_config(dataset=f'folder:{folder}', model='dcgan', image_shape=(8, 8, 1),
                       num_classes=3, batch_size=64, n_critic=1, data_stream='always')
  dataset = data.build(config, parallel.make_mesh())
  batches = {}
  for step in range(6):  # 40 examples: every step crosses into a new epoch.
    for key, value in dataset.batch_at(step).items():
      batches[f'{key}{step}'] = multihost_utils.process_allgather(value, tiled=True)
  if jax.process_index() == 0:
    np.savez(out, **batches)


if __name__ == '__main__':
  main(*sys.argv[1:])
