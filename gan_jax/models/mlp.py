"""Multi-layer perceptron generator and critic for low-dimensional data.

With batch norm in the generator (`g_norm='batch'`) and maxout units in the critic
(`maxout=K`), these are the networks of PacGAN's 2-D mixture experiments (Lin et al. 2018,
after ALI's): a 4 x 400 ReLU generator with batch norm and a 3 x 200 maxout critic of 5 pieces.
"""
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
# 'batch_pac': batch norm with statistics per pac position (BatchNorm.groups = config.pac),
# as PacGAN's reference code normalises each of its pac generator calls.
G_NORMS = ('none', 'batch', 'batch_pac')


def kernel_init(std):
  """Dense kernels ~ N(0, std) when std > 0 (ALI and PacGAN's 0.02), else flax's default
  (LeCun normal)."""
  return nn.initializers.normal(std) if std > 0 else nn.linear.default_kernel_init


class Maxout(nn.Module):
  """A dense layer of `features` maxout units (Goodfellow et al. 2013), each the maximum of
  `pieces` affine functions of the input.

  The affine outputs are grouped as consecutive blocks of `pieces`, as Blocks' LinearMaxout
  (PacGAN's reference) groups them: unit j is the maximum of outputs j*pieces .. j*pieces +
  pieces - 1 of one Dense(features * pieces).
  """
  features: int
  pieces: int
  kernel_init: Any = nn.linear.default_kernel_init
  dtype: Any = None

  @nn.compact
  def __call__(self, x):
    h = nn.Dense(self.features * self.pieces, kernel_init=self.kernel_init, dtype=self.dtype)(x)
    return jnp.max(h.reshape(h.shape[:-1] + (self.features, self.pieces)), axis=-1)


class MLPGenerator(nn.Module):
  """Maps latent vectors (batch, z_dim) to samples (batch, *out_shape).

  Attributes:
    width, depth: hidden units per layer and number of hidden layers.
    activation: a name in ACTIVATIONS.
    out_shape: the shape of one sample.
    norm: 'batch' puts batch norm between each hidden layer's linear map (then without bias,
      which the norm's shift replaces) and its activation; 'none' leaves it out.
    sync_batch_stats: average batch statistics over the 'data' mesh axis in training mode.
    init_std: > 0 draws every kernel from N(0, init_std); 0 keeps flax's default.
    dtype: the computation's dtype (None: the parameters' and inputs'); bfloat16 still
      outputs float32.
    norm_groups: the batch norms' groups (layers.BatchNorm.groups).
  """
  width: int
  depth: int
  activation: str
  out_shape: Sequence[int]
  norm: str = 'none'
  sync_batch_stats: bool = True
  init_std: float = 0.0
  dtype: Any = None
  norm_groups: int = 1

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    del labels  # Unconditional; one signature for all models.
    act, init = ACTIVATIONS[self.activation], kernel_init(self.init_std)
    batch = self.norm == 'batch'
    h = z
    for _ in range(self.depth):
      h = nn.Dense(self.width, use_bias=not batch, kernel_init=init, dtype=self.dtype)(h)
      if batch:
        h = layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype,
                              groups=self.norm_groups)(h)
      h = act(h)
    out = nn.Dense(math.prod(self.out_shape), kernel_init=init, dtype=self.dtype)(h)
    return layers.full_precision(out).reshape((z.shape[0],) + tuple(self.out_shape))


class MLPCritic(nn.Module):
  """Maps samples (batch, ...) to one raw score per sample, shape (batch,).

  Attributes:
    width, depth: hidden units per layer and number of hidden layers.
    activation: a name in ACTIVATIONS, the hidden layers' nonlinearity unless `maxout`.
    maxout: K >= 2 makes every hidden layer `width` maxout units of K pieces (Maxout);
      0 keeps dense layers with `activation`.
    init_std: > 0 draws every kernel from N(0, init_std); 0 keeps flax's default.
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
  maxout: int = 0
  init_std: float = 0.0
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  minibatch_group: int = 4
  dtype: Any = None
  fixed_statistics: bool = False

  def _hidden(self, h):
    init = kernel_init(self.init_std)
    if self.maxout:
      return Maxout(self.width, self.maxout, init, self.dtype)(h)
    return ACTIVATIONS[self.activation](nn.Dense(self.width, kernel_init=init,
                                                 dtype=self.dtype)(h))

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del labels, train
    h = x.reshape((x.shape[0], -1))
    for i in range(self.depth):
      if self.minibatch == 'stddev' and i == self.depth - 1:
        h = layers.minibatch_stddev(h, group_size=self.minibatch_group,
                                    fixed_statistics=self.fixed_statistics)
      h = self._hidden(h)
    out = nn.Dense(1, kernel_init=kernel_init(self.init_std), dtype=self.dtype)(h)[:, 0]
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              kernels=self.minibatch_kernels, dim=self.minibatch_dim,
                              fixed_statistics=self.fixed_statistics)


def build(config, data_shape):
  """Returns (generator, critic) sized by `config.mlp` for samples of shape `data_shape`;
  the critic's d_width and d_depth default (0) to the generator's width and depth."""
  mlp, dtype = config.mlp, layers.compute_dtype(config)
  per_pac = mlp.g_norm == 'batch_pac'
  generator = MLPGenerator(mlp.width, mlp.depth, mlp.activation, tuple(data_shape),
                           'batch' if per_pac else mlp.g_norm, config.sync_batch_stats,
                           mlp.init_std, dtype, config.pac if per_pac else 1)
  critic = MLPCritic(mlp.d_width or mlp.width, mlp.d_depth or mlp.depth, mlp.activation,
                     mlp.d_maxout, mlp.init_std, config.d_minibatch, config.minibatch_kernels,
                     config.minibatch_dim, config.minibatch_group, dtype)
  return generator, critic
