"""SNGAN ResNet generator and discriminator for 32x32 images (Miyato et al. 2018, CIFAR-10).

Generator: z -> Dense(4x4x256) -> 3 up-blocks of 256 channels -> BN, ReLU, Conv3x3, tanh.
Discriminator: an optimised first block and three blocks of 128 channels (the first two
downsample) -> ReLU -> global sum pooling -> Dense(1), plus the projection term
<embed(y), h> when conditional (Miyato & Koyama 2018). With `norm='spectral'` every
discriminator layer is spectrally normalised; `none` gives the WGAN-GP critic.

Initialisation as Miyato et al.'s code and Mimicry: Glorot-uniform with gain sqrt(2) for the
residual 3x3 convolutions (they feed ReLUs), gain 1 for the 1x1 shortcuts, the linear
layers, the embeddings and the generator's output convolution.
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models import layers

D_NORMS = ('spectral', 'none')
_init = nn.initializers.xavier_uniform()
_residual_init = nn.initializers.variance_scaling(2.0, 'fan_avg', 'uniform')  # Gain sqrt(2).


def upsample(x):
  """2x nearest-neighbour upsampling."""
  return jnp.repeat(jnp.repeat(x, 2, axis=1), 2, axis=2)


def _downsample(x):
  return nn.avg_pool(x, (2, 2), strides=(2, 2))


def _conv(features, kernel, dtype, init=_init):
  return nn.Conv(features, (kernel, kernel), padding='SAME', kernel_init=init, dtype=dtype)


def _residual_conv(features, dtype):
  return _conv(features, 3, dtype, _residual_init)


class GeneratorBlock(nn.Module):
  """Pre-activation up-block: (C)BN-ReLU-Up-Conv3-(C)BN-ReLU-Conv3, shortcut Up-Conv1."""
  features: int
  num_classes: int
  sync: bool
  dtype: Any = None

  def _norm(self, h, labels, train):
    if self.num_classes:
      return layers.ConditionalBatchNorm(self.num_classes, self.sync, self.dtype)(
          h, labels, train)
    return layers.batch_norm(train=train, sync=self.sync, dtype=self.dtype)(h)

  @nn.compact
  def __call__(self, x, labels, train):
    h = upsample(nn.relu(self._norm(x, labels, train)))
    h = _residual_conv(self.features, self.dtype)(h)
    h = _residual_conv(self.features, self.dtype)(nn.relu(self._norm(h, labels, train)))
    return h + _conv(self.features, 1, self.dtype)(upsample(x))


class ResNetGenerator(nn.Module):
  """The SNGAN CIFAR-10 generator; conditional batch norm when num_classes > 0. `dtype`
  is the computation's dtype (None: the parameters' and inputs'); bfloat16 still outputs
  float32."""
  channels: int
  width: int = 256
  num_classes: int = 0
  sync_batch_stats: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    h = nn.Dense(4 * 4 * self.width, kernel_init=_init, dtype=self.dtype)(z)
    h = h.reshape(-1, 4, 4, self.width)
    for _ in range(3):
      h = GeneratorBlock(self.width, self.num_classes, self.sync_batch_stats, self.dtype)(
          h, labels, train)
    h = nn.relu(layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype)(h))
    return layers.full_precision(jnp.tanh(_conv(self.channels, 3, self.dtype)(h)))


class DiscriminatorBlock(nn.Module):
  """ReLU-Conv3-ReLU-Conv3 (-AvgPool), shortcut (Conv1 (-AvgPool)); `first` is the
  optimised block that starts from the image and has no leading ReLU."""
  features: int
  downsample: bool
  first: bool
  spectral: bool
  dtype: Any = None
  kernel_init: Any = None  # Every convolution's; None: SNGAN's (see the module docstring).

  @nn.compact
  def __call__(self, x, train):
    sn = lambda layer, h: layers.spectral(layer, h, enabled=self.spectral, train=train)
    conv = lambda kernel: _conv(self.features, kernel, self.dtype, self.kernel_init or _init)
    residual = lambda: _conv(self.features, 3, self.dtype,  # noqa: E731
                             self.kernel_init or _residual_init)
    h = x if self.first else nn.relu(x)
    h = sn(residual(), h)
    h = sn(residual(), nn.relu(h))
    if self.downsample:
      h = _downsample(h)
    shortcut = x
    if self.first:
      shortcut = sn(conv(1), _downsample(x))
    elif self.downsample or x.shape[-1] != self.features:
      shortcut = sn(conv(1), x)
      shortcut = _downsample(shortcut) if self.downsample else shortcut
    return h + shortcut


class ResNetDiscriminator(nn.Module):
  """The SNGAN CIFAR-10 discriminator; a projection discriminator when num_classes > 0.

  Attributes:
    minibatch: a minibatch layer over the global batch (layers.MINIBATCH):
      discrimination before the output, the standard deviation as a feature map before
      the last block.
    minibatch_kernels, minibatch_dim: minibatch discrimination's tensor size.
    minibatch_group: the minibatch standard deviation's group size.
    dtype: the computation's dtype (None: the parameters' and inputs'); a bfloat16
      critic still outputs float32.
    fixed_statistics: minibatch statistics are constants for differentiation (the
      gradient penalties' critic).
  """
  width: int = 128
  norm: str = 'spectral'
  num_classes: int = 0
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  minibatch_group: int = 4
  dtype: Any = None
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    sn = self.norm == 'spectral'
    h = x
    for i, down in enumerate((True, True, False, False)):
      if i == 3 and self.minibatch == 'stddev':
        h = layers.minibatch_stddev(h, group_size=self.minibatch_group,
                                    fixed_statistics=self.fixed_statistics)
      h = DiscriminatorBlock(self.width, down, first=i == 0, spectral=sn, dtype=self.dtype)(
          h, train)
    h = jnp.sum(nn.relu(h), axis=(1, 2))
    out = layers.spectral(nn.Dense(1, kernel_init=_init, dtype=self.dtype), h, enabled=sn,
                          train=train)[:, 0]
    if self.num_classes:
      embed = layers.spectral(nn.Embed(self.num_classes, self.width, embedding_init=_init,
                                       dtype=self.dtype),
                              labels, enabled=sn, train=train)
      out = out + jnp.sum(embed * h, axis=-1)
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              kernels=self.minibatch_kernels, dim=self.minibatch_dim, sn=sn,
                              train=train, fixed_statistics=self.fixed_statistics,
                              readout_init=_init)


def build(config, data_shape):
  """(generator, discriminator) for 32x32 images with data_shape[-1] channels."""
  dtype = layers.compute_dtype(config)
  return (ResNetGenerator(data_shape[-1], config.g_width, config.num_classes,
                          config.sync_batch_stats, dtype),
          ResNetDiscriminator(config.d_width, config.d_norm, config.num_classes,
                              config.d_minibatch, config.minibatch_kernels,
                              config.minibatch_dim, config.minibatch_group, dtype))
