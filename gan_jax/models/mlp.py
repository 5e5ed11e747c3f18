"""Multi-layer perceptron generator and critic for low-dimensional data."""
import math
from typing import Any, Sequence

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models import layers

ACTIVATIONS = {
    'relu': nn.relu,
    'leaky_relu': lambda x: nn.leaky_relu(x, 0.2),
    'elu': nn.elu,
    'tanh': jnp.tanh,
    'silu': nn.silu,
}


class MLPGenerator(nn.Module):
  """Maps latent vectors (batch, z_dim) to samples (batch, *out_shape); `dtype` is the
  computation's dtype (None: the parameters' and inputs'); bfloat16 still outputs float32."""
  width: int
  depth: int
  activation: str
  out_shape: Sequence[int]
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    del labels, train  # Unconditional, no batch statistics; one signature for all models.
    act = ACTIVATIONS[self.activation]
    h = z
    for _ in range(self.depth):
      h = act(nn.Dense(self.width, dtype=self.dtype)(h))
    out = layers.full_precision(nn.Dense(math.prod(self.out_shape), dtype=self.dtype)(h))
    return out.reshape((z.shape[0],) + tuple(self.out_shape))


class MLPCritic(nn.Module):
  """Maps samples (batch, ...) to one raw score per sample, shape (batch,).

  Attributes:
    minibatch: a minibatch layer (layers.MINIBATCH): discrimination before the output,
      the standard deviation before the last hidden layer.
    minibatch_kernels, minibatch_dim: minibatch discrimination's tensor size.
    minibatch_group: the minibatch standard deviation's group size.
    dtype: the computation's dtype (None: the parameters' and inputs'); a bfloat16
      critic still outputs float32.
    fixed_statistics: batch-level statistics are constants for differentiation (the
      gradient penalties' critic).
  """
  width: int
  depth: int
  activation: str
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  minibatch_group: int = 4
  dtype: Any = None
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del labels, train
    act = ACTIVATIONS[self.activation]
    h = x.reshape((x.shape[0], -1))
    for i in range(self.depth):
      if self.minibatch == 'stddev' and i == self.depth - 1:
        h = layers.minibatch_stddev(h, group_size=self.minibatch_group,
                                    fixed_statistics=self.fixed_statistics)
      h = act(nn.Dense(self.width, dtype=self.dtype)(h))
    out = nn.Dense(1, dtype=self.dtype)(h)[:, 0]
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              kernels=self.minibatch_kernels, dim=self.minibatch_dim,
                              fixed_statistics=self.fixed_statistics)


def build(config, data_shape):
  """Returns (generator, critic) sized by `config.mlp` for samples of shape `data_shape`."""
  mlp, dtype = config.mlp, layers.compute_dtype(config)
  return (MLPGenerator(mlp.width, mlp.depth, mlp.activation, tuple(data_shape), dtype),
          MLPCritic(mlp.width, mlp.depth, mlp.activation, config.d_minibatch,
                    config.minibatch_kernels, config.minibatch_dim, config.minibatch_group,
                    dtype))
