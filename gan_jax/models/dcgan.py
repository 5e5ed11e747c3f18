"""DCGAN (Radford et al. 2016) generator and discriminator for 64x64, 32x32 and 28x28 images.

One code path serves every resolution of 4 or 7 times a power of two (64, 32, 28, ...): the
generator starts from a base map (4x4, or 7x7 for 28x28) and doubles it with stride-2
transposed convolutions, halving the width each time, down to 64 channels; the
discriminator mirrors it. At 64x64 this is exactly the paper's table.
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models import conv as conv_lib
from gan_jax.models import layers

D_NORMS = ('batch', 'layer', 'spectral', 'none')


def geometry(resolution):
  """(base map size, number of stride-2 layers) for a supported square resolution."""
  for base in (4, 7):
    n, size = 0, resolution
    while size > base and size % 2 == 0:
      size, n = size // 2, n + 1
    if size == base and n > 0:
      return base, n
  raise ValueError(f'DCGAN needs square images of 4 or 7 times a power of two pixels '
                   f'(8, 14, 16, 28, 32, 56, 64, ...), not {resolution}')


class DCGANGenerator(nn.Module):
  """z -> ConvT(base, valid) -> [ConvT(4, s2) + BN + ReLU]* -> ConvT(channels, 4, s2) + tanh.

  Attributes:
    resolution: output height and width.
    channels: output channels.
    width: channels of the last hidden layer (64 in the paper); earlier layers double it.
    num_classes: > 0 makes it a cGAN: a label embedding is concatenated to z.
    sync_batch_stats: synchronise batch statistics across devices.
    dtype: the computation's dtype (None: the parameters' and inputs'); the output is
      float32 whatever it is.
  """
  resolution: int
  channels: int
  width: int = 64
  num_classes: int = 0
  sync_batch_stats: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    base, n_up = geometry(self.resolution)
    if self.num_classes:
      z = jnp.concatenate([z, nn.Embed(self.num_classes, 50)(labels)], axis=-1)
    bn = lambda: layers.batch_norm(train=train, sync=self.sync_batch_stats,
                                   scale_init=layers.dcgan_scale_init, dtype=self.dtype)
    width = self.width * 2 ** (n_up - 1)
    h = nn.ConvTranspose(width, (base, base), padding='VALID', use_bias=False,
                         kernel_init=layers.dcgan_init, dtype=self.dtype)(z[:, None, None, :])
    h = nn.relu(bn()(h))
    for _ in range(n_up - 1):
      width //= 2
      h = nn.relu(bn()(layers.UpConv(width, dtype=self.dtype)(h)))
    h = jnp.tanh(layers.UpConv(self.channels, dtype=self.dtype)(h))
    return layers.full_precision(h)


class DCGANDiscriminator(nn.Module):
  """x -> Conv(4, s2) + LReLU -> [Conv(4, s2) + norm + LReLU]* -> Conv(1, base, valid).

  Attributes:
    resolution: input height and width.
    width: channels of the first layer (64 in the paper); later layers double it.
    norm: 'batch', 'layer', 'spectral' (every conv spectrally normalised) or 'none'.
    num_classes: > 0 makes it a cGAN: a learned label map is concatenated as a channel.
    sync_batch_stats: synchronise batch statistics (and minibatch features) across devices.
    minibatch: a minibatch layer (layers.MINIBATCH): discrimination before the output,
      the standard deviation as a feature map before the last strided convolution.
    minibatch_kernels, minibatch_dim: minibatch discrimination's tensor size.
    minibatch_group: the minibatch standard deviation's group size.
    dtype: the computation's dtype (None: the parameters' and inputs'); the output is
      float32 whatever it is.
    fixed_statistics: batch statistics (batch norm, minibatch layers) are constants for
      differentiation (the gradient penalties' critic).
  """
  resolution: int
  width: int = 64
  norm: str = 'batch'
  num_classes: int = 0
  sync_batch_stats: bool = True
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  minibatch_group: int = 4
  dtype: Any = None
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    base, n_down = geometry(self.resolution)
    if self.num_classes:
      label_map = nn.Embed(self.num_classes, x.shape[1] * x.shape[2])(labels)
      x = jnp.concatenate([x, label_map.reshape(x.shape[:3] + (1,))], axis=-1)
    sn = self.norm == 'spectral'
    h = x
    for i in range(n_down):
      if i == n_down - 1 and self.minibatch == 'stddev':
        h = layers.minibatch_stddev(h, group_size=self.minibatch_group,
                                    sync=self.sync_batch_stats,
                                    fixed_statistics=self.fixed_statistics)
      conv = nn.Conv(self.width * 2 ** i, (4, 4), strides=(2, 2), padding=((1, 1), (1, 1)),
                     use_bias=False, kernel_init=layers.dcgan_init, dtype=self.dtype,
                     conv_general_dilated=conv_lib.conv_general_dilated)
      h = layers.spectral(conv, h, enabled=sn, train=train)
      if i > 0 and self.norm == 'batch':
        h = layers.batch_norm(train=train, sync=self.sync_batch_stats,
                              scale_init=layers.dcgan_scale_init, dtype=self.dtype,
                              fixed=self.fixed_statistics)(h)
      elif i > 0 and self.norm == 'layer':
        h = nn.LayerNorm(reduction_axes=(-3, -2, -1), dtype=self.dtype)(h)
      h = nn.leaky_relu(h, 0.2)
    conv = nn.Conv(1, (base, base), padding='VALID', use_bias=False,
                   kernel_init=layers.dcgan_init, dtype=self.dtype,
                   conv_general_dilated=conv_lib.conv_general_dilated)
    out = layers.spectral(conv, h, enabled=sn, train=train).reshape(x.shape[0])
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              sync=self.sync_batch_stats, kernels=self.minibatch_kernels,
                              dim=self.minibatch_dim, sn=sn, train=train,
                              fixed_statistics=self.fixed_statistics,
                              readout_init=layers.dcgan_init)


def build(config, data_shape):
  """(generator, discriminator) for images of shape (H, H, C) from the config."""
  resolution, channels = data_shape[0], data_shape[-1]
  dtype = layers.compute_dtype(config)
  return (DCGANGenerator(resolution, channels, config.g_width, config.num_classes,
                         config.sync_batch_stats, dtype),
          DCGANDiscriminator(resolution, config.d_width, config.d_norm, config.num_classes,
                             config.sync_batch_stats, config.d_minibatch,
                             config.minibatch_kernels, config.minibatch_dim,
                             config.minibatch_group, dtype))
