"""Nested parameter dicts <-> flat '/'-joined names, and atomic .npz writes."""
import os

import numpy as np


def flatten(tree, prefix=''):
  """{'a': {'b': x}} -> {'a/b': x}."""
  flat = {}
  for key, value in tree.items():
    name = f'{prefix}/{key}' if prefix else str(key)
    if isinstance(value, dict):
      flat.update(flatten(value, name))
    else:
      flat[name] = np.asarray(value)
  return flat


def unflatten(flat):
  """{'a/b': x} -> {'a': {'b': x}}."""
  tree = {}
  for name, value in flat.items():
    *scopes, leaf = name.split('/')
    node = tree
    for s in scopes:
      node = node.setdefault(s, {})
    node[leaf] = value
  return tree


def save_npz(path, arrays):
  """Writes `arrays` to `path` through a temporary file and a rename, so a reader (or a
  concurrent writer) never sees half a file and a crash leaves no partial file behind."""
  os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
  partial = f'{path}.{os.getpid()}.tmp.npz'
  np.savez(partial, **arrays)
  os.replace(partial, path)
