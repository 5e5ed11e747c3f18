"""Read the tensors of a PyTorch zip archive (torch.save or TorchScript) with numpy only.

Both formats are a zip holding `<root>/data.pkl`, a pickle whose tensors point at raw
storages stored as `<root>/data/<key>`. We unpickle with the tensor-rebuild functions mapped
to numpy and every other class turned into a plain attribute holder, so torch is never needed.
"""
import pickle
import zipfile

import numpy as np

_STORAGE_DTYPES = {
    'FloatStorage': np.float32, 'DoubleStorage': np.float64, 'HalfStorage': np.float16,
    'LongStorage': np.int64, 'IntStorage': np.int32, 'ShortStorage': np.int16,
    'CharStorage': np.int8, 'ByteStorage': np.uint8, 'BoolStorage': np.bool_,
}


class ArchiveError(ValueError):
  """The file is not a PyTorch zip archive we can read."""


class _Object:
  """Stands in for any pickled class: keeps its state as attributes."""

  def __init__(self, *args, **kwargs):
    del args, kwargs

  def __setstate__(self, state):
    if isinstance(state, dict):
      self.__dict__.update(state)
    else:
      self.__dict__['_state'] = state


class _Dict(dict):
  """OrderedDict stand-in; torch.save's state dicts also pickle a `_metadata` attribute."""

  def __setstate__(self, state):
    del state


def _rebuild_tensor(storage, offset, size, stride, *args):
  del args  # requires_grad, backward hooks, metadata.
  itemsize = storage.itemsize
  return np.lib.stride_tricks.as_strided(
      storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride)).copy()


def _rebuild_parameter(data, *args):
  del args
  return data


class _Unpickler(pickle.Unpickler):

  def __init__(self, file, archive, root):
    super().__init__(file)
    self._archive, self._root = archive, root

  def find_class(self, module, name):
    if (module, name) == ('torch._utils', '_rebuild_tensor_v2'):
      return _rebuild_tensor
    if (module, name) == ('torch._utils', '_rebuild_parameter'):
      return _rebuild_parameter
    if (module, name) == ('collections', 'OrderedDict'):
      return _Dict
    if module == 'torch.jit._pickle' and name.startswith('build_'):
      return list  # build_intlist([1, 0]) and friends: typed lists in TorchScript pickles.
    if module == 'torch' and name in _STORAGE_DTYPES:
      return _STORAGE_DTYPES[name]
    return type(name, (_Object,), {})

  def persistent_load(self, pid):
    # ('storage', storage_type, key, location, numel)
    _, dtype, key, _, _ = pid
    raw = self._archive.read(f'{self._root}/data/{key}')
    return np.frombuffer(raw, dtype=dtype)


def read_tensors(path):
  """Every tensor in a PyTorch zip archive, by dotted attribute path.

  Args:
    path: a file written by `torch.save` (zip format) or `torch.jit.save`.
  Returns:
    dict name -> numpy array, e.g. 'net.layers.conv.weight' for a TorchScript module or
    'Conv2d_1a_3x3.conv.weight' for a state dict; plus, for TorchScript modules, every
    integer or list attribute (such as a conv's 'stride') under its dotted name.
  Raises:
    ArchiveError: the file is not a readable PyTorch zip archive.
  """
  try:
    with zipfile.ZipFile(path) as archive:
      pickles = [n for n in archive.namelist() if n.endswith('/data.pkl')]
      if not pickles:
        raise ArchiveError(f'{path} has no data.pkl: not a PyTorch zip archive')
      root = pickles[0][:-len('/data.pkl')]
      with archive.open(pickles[0]) as f:
        obj = _Unpickler(f, archive, root).load()
  except (zipfile.BadZipFile, pickle.UnpicklingError, EOFError, KeyError) as e:
    raise ArchiveError(f'{path} is not a readable PyTorch zip archive ({e})') from e
  out = {}
  _flatten(obj, '', out)
  return out


def _flatten(obj, prefix, out):
  if isinstance(obj, np.ndarray):
    out[prefix] = obj
  elif isinstance(obj, (int, list, tuple)) and not isinstance(obj, bool):
    out[prefix] = obj
  elif isinstance(obj, dict):
    for k, v in obj.items():
      _flatten(v, f'{prefix}.{k}' if prefix else str(k), out)
  elif isinstance(obj, _Object):
    for k, v in vars(obj).items():
      if not k.startswith('_'):
        _flatten(v, f'{prefix}.{k}' if prefix else k, out)
