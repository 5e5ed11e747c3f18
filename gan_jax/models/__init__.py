"""Model registry and the pure helpers that thread mutable collections explicitly.

Every generator and critic is a Linen module called as `module(x, labels, train)`: `labels`
is None for unconditional models, `train` selects batch statistics and spectral-norm updates.
"""
import jax
import jax.numpy as jnp

from gan_jax.models import biggan, ctgan, dcgan, layers, metz, mlp, progan, resnet, stylegan2

MODELS = {
    'mlp': mlp.build,
    'dcgan': dcgan.build,
    'resnet': resnet.build,
    'metz': metz.build,
    'stylegan2': stylegan2.build,
    'biggan': biggan.build,
    'progan': progan.build,
}
# Every model name; ctgan is built from a table's row layout (see build).
NAMES = tuple(MODELS) + ('ctgan',)
# Critic normalisations each model offers (`config.d_norm`); the MLP has none.
D_NORMS = {'mlp': ('none',), 'dcgan': dcgan.D_NORMS, 'resnet': resnet.D_NORMS,
           'metz': metz.D_NORMS, 'stylegan2': stylegan2.D_NORMS, 'biggan': biggan.D_NORMS,
           'progan': progan.D_NORMS, 'ctgan': ('none',)}


def check_data_shape(model, data_shape):
  """Raises ValueError, saying what fits, if `model` cannot produce samples of `data_shape`."""
  if model == 'dcgan':
    if len(data_shape) != 3 or data_shape[0] != data_shape[1]:
      raise ValueError(f'dcgan needs square images (H, H, C), the data has shape {data_shape}')
    dcgan.geometry(data_shape[0])
  elif model == 'resnet' and (len(data_shape) != 3 or tuple(data_shape[:2]) != (32, 32)):
    raise ValueError(f'resnet is the 32x32 SNGAN architecture, the data has shape '
                     f'{tuple(data_shape)}')
  elif model == 'metz':
    metz.check_data_shape(data_shape)
  elif model in ('stylegan2', 'progan'):
    layers.check_square_power_of_two(model, data_shape)
  elif model == 'biggan':
    biggan.check_data_shape(data_shape)


def build(config, data_shape, layout=None):
  """Builds (generator, critic) Linen modules for `config.model`.

  Args:
    config: the experiment config; `config.model` is one of NAMES.
    data_shape: shape of one data sample, without the batch axis.
    layout: a table's row layout (the tabular dataset's `layout`), which ctgan needs.
  Returns:
    A (generator, critic) pair of flax.linen Modules.
  """
  if config.model == 'ctgan':
    if layout is None:
      raise ValueError('ctgan models rows of a table: use a tabular dataset')
    return ctgan.build(config, layout)
  return MODELS[config.model](config, tuple(data_shape))


def init(model, key, x, num_classes=0, labels_per_example=1):
  """Initialises `model` on the example batch `x` (with label 0 when conditional).

  A packed critic input holds several samples per example, each with its label (CTGAN's
  critic): `labels_per_example` of them.

  Returns:
    (params, model_state): the 'params' collection and a dict of the other collections
    (batch statistics, spectral-norm vectors), possibly empty.
  """
  labels = (jnp.zeros((x.shape[0] * labels_per_example,), jnp.int32) if num_classes
            else None)
  variables = dict(model.init(key, x, labels, train=False))
  params = variables.pop('params')
  return params, variables


def apply(model, params, model_state, x, labels=None, *, train, noise=None):
  """Applies `model`, returning its output and its updated mutable collections.

  In training mode the mutable collections (batch_stats, spectral-norm vectors) are updated
  and returned; in eval mode they are read only and returned unchanged.

  Args:
    model: a Linen module called as (x, labels, train).
    params: its 'params' collection.
    model_state: dict of its other collections.
    x: the input batch.
    labels: int class labels of the batch, or None.
    train: training mode.
    noise: PRNG key data for a model that draws noise in training (CTGAN's critic: one
      uint32 pair per example), or None.
  Returns:
    (output, new_model_state).
  """
  variables = {'params': params, **model_state}
  extra = {} if noise is None else {'noise': noise}
  if train and model_state:
    out, new_state = model.apply(variables, x, labels, train=True, mutable=list(model_state),
                                 **extra)
    return out, dict(new_state)
  return model.apply(variables, x, labels, train=train, **extra), model_state


def apply_with_intermediate(model, params, model_state, x, labels=None, *, train, name,
                            noise=None):
  """`apply` that also returns the value the model sowed as 'intermediates'/`name`.

  Returns:
    (output, new_model_state, the sowed value).
  """
  variables = {'params': params, **model_state}
  mutable = (list(model_state) if train else []) + ['intermediates']
  extra = {} if noise is None else {'noise': noise}
  out, new_state = model.apply(variables, x, labels, train=train, mutable=mutable, **extra)
  new_state = dict(new_state)
  value = new_state.pop('intermediates')[name][0]
  return out, (new_state if train else model_state), value


def apply_with_features(model, params, model_state, x, labels=None, *, train, noise=None):
  """`apply` that also returns the critic's penultimate features (layers.critic_head).

  Returns:
    (output, new_model_state, features of shape (batch, F)).
  """
  return apply_with_intermediate(model, params, model_state, x, labels, train=train,
                                 name='features', noise=noise)


def pack(x, m):
  """PacGAN packing (Lin et al. 2018): (batch, ..., C) -> (batch / m, ..., m * C), the m
  consecutive samples of each group concatenated on the last axis, so the critic judges them
  together."""
  if m == 1:
    return x
  grouped = x.reshape((x.shape[0] // m, m) + x.shape[1:])
  grouped = jnp.moveaxis(grouped, 1, -2)
  return grouped.reshape(grouped.shape[:-2] + (m * x.shape[-1],))


def count_params(params):
  """Number of scalar parameters in a pytree."""
  return sum(leaf.size for leaf in jax.tree.leaves(params))
