"""Model registry and the pure helpers that thread mutable collections explicitly."""
import jax

from gan_jax.models import mlp

MODELS = {
    'mlp': mlp.build,
}


def build(config, data_shape):
  """Builds (generator, critic) Linen modules for `config.model`.

  Args:
    config: the experiment config; `config.model` names an entry of MODELS.
    data_shape: shape of one data sample, without the batch axis.
  Returns:
    A (generator, critic) pair of flax.linen Modules.
  """
  return MODELS[config.model](config, data_shape)


def init(model, key, x):
  """Initialises `model` on the example batch `x`.

  Returns:
    (params, model_state): the 'params' collection and a dict of the other collections
    (batch statistics, spectral-norm vectors), possibly empty.
  """
  variables = dict(model.init(key, x, train=False))
  params = variables.pop('params')
  return params, variables


def apply(model, params, model_state, x, *, train):
  """Applies `model`, returning its output and its updated mutable collections.

  In training mode the mutable collections (batch_stats, spectral-norm vectors) are updated
  and returned; in eval mode they are read only and returned unchanged.

  Args:
    model: a Linen module whose __call__ takes (x, train).
    params: its 'params' collection.
    model_state: dict of its other collections.
    x: the input batch.
    train: training mode.
  Returns:
    (output, new_model_state).
  """
  variables = {'params': params, **model_state}
  if train and model_state:
    out, new_state = model.apply(variables, x, train=True, mutable=list(model_state))
    return out, dict(new_state)
  return model.apply(variables, x, train=train), model_state


def count_params(params):
  """Number of scalar parameters in a pytree."""
  return sum(leaf.size for leaf in jax.tree.leaves(params))
