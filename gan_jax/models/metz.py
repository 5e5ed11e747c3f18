"""The Stacked MNIST networks of Metz et al. (2017, appendix), as PacGAN ran them (Lin et al.
2018, Table 3; fjxmlzn/PacGAN, stacked_MNIST_experiments/unrolled_GAN_experiment/D=0.25G and
D=0.5G, model.py and ops.py).

Generator: z -> Dense(4x4x8w) + BN + ReLU -> three 3x3 stride-2 transposed convolutions with
BN + ReLU to 7x7x4w, 14x14x2w, 28x28xw -> a 3x3 stride-1 convolution to the image's channels
-> tanh; w = 8 gives the paper's 64/32/16/8.
Discriminator: three 3x3 stride-2 'SAME' convolutions (28 -> 14 -> 7 -> 4) with w, 2w, 4w
channels, each followed by BN (the first one too) and LeakyReLU(0.3) -> Dense(1). w = 2 is
"D is 1/4 the size of G" (2/4/8 channels against G's 32/16/8), w = 4 is "1/2" (4/8/16).

As in the reference every layer has a bias and batch norm has a learned scale (init 1) and
shift; the dense layers and transposed convolutions start from N(0, 0.02) and the convolutions
from N(0, 0.02) truncated at 2 std (TensorFlow's truncated_normal_initializer).
"""
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models import layers

D_NORMS = ('batch', 'spectral', 'none')
RESOLUTION = 28
G_SIZES = (4, 7, 14, 28)  # The generator's feature-map sizes; the critic's run 28, 14, 7, 4.
KERNEL = 3
LEAK = 0.3

conv_init = nn.initializers.truncated_normal(0.02)


def transpose_padding(in_size, out_size, *, kernel=KERNEL, stride=2):
  """Padding that makes a transposed convolution from `in_size` to `out_size` the exact
  transpose of the 'SAME' strided convolution from `out_size` to `in_size`: TensorFlow's
  conv2d_transpose with an explicit output shape, which the reference uses for 4 -> 7.

  Returns:
    (before, after) padding of lax.conv_transpose's stride-dilated input.
  """
  total = max((in_size - 1) * stride + kernel - out_size, 0)  # The forward conv's padding.
  before = total // 2
  # Rows past the forward conv's last window, which get no gradient (zeros) in the transpose.
  skipped = out_size + total - (in_size - 1) * stride - kernel
  return kernel - 1 - before, kernel - 1 - (total - before) + skipped


class MetzGenerator(nn.Module):
  """z -> Dense(4x4x8w) + BN + ReLU -> [ConvT(3, s2) + BN + ReLU] x 3 -> Conv(3, s1) + tanh.

  Attributes:
    channels: output channels (3 for Stacked MNIST).
    width: channels of the last hidden layer (8 in the paper); earlier layers double it.
    sync_batch_stats: synchronise batch statistics across devices.
    dtype: the computation's dtype (None: the parameters' and inputs'); the output is
      float32 whatever it is.
  """
  channels: int = 3
  width: int = 8
  sync_batch_stats: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    del labels  # Unconditional.
    bn = lambda: layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype)
    width = self.width * 2 ** (len(G_SIZES) - 1)
    h = nn.Dense(G_SIZES[0] ** 2 * width, kernel_init=layers.dcgan_init, dtype=self.dtype)(z)
    h = nn.relu(bn()(h.reshape((-1, G_SIZES[0], G_SIZES[0], width))))
    for in_size, out_size in zip(G_SIZES[:-1], G_SIZES[1:]):
      width //= 2
      pad = transpose_padding(in_size, out_size)
      h = nn.ConvTranspose(width, (KERNEL, KERNEL), strides=(2, 2), padding=(pad, pad),
                           transpose_kernel=True, kernel_init=layers.dcgan_init,
                           dtype=self.dtype)(h)
      h = nn.relu(bn()(h))
    h = nn.Conv(self.channels, (KERNEL, KERNEL), padding='SAME', kernel_init=conv_init,
                dtype=self.dtype)(h)
    return layers.full_precision(jnp.tanh(h))


class MetzDiscriminator(nn.Module):
  """x -> [Conv(3, s2, SAME) + BN + LReLU(0.3)] x 3 -> Dense(1).

  Attributes:
    width: channels of the first layer (2: D = 1/4 G; 4: D = 1/2 G); later layers double it.
    norm: 'batch' (the reference), 'spectral' (every layer spectrally normalised, no batch
      norm) or 'none'.
    sync_batch_stats: synchronise batch statistics (and minibatch features) across devices.
    minibatch: a minibatch layer (layers.MINIBATCH): discrimination before the output, the
      standard deviation as a feature map before the last convolution.
    minibatch_kernels, minibatch_dim: minibatch discrimination's tensor size.
    minibatch_group: the minibatch standard deviation's group size.
    dtype: the computation's dtype (None: the parameters' and inputs'); the output is
      float32 whatever it is.
    fixed_statistics: batch statistics (batch norm, minibatch layers) are constants for
      differentiation (the gradient penalties' critic).
  """
  width: int = 2
  norm: str = 'batch'
  sync_batch_stats: bool = True
  minibatch: str = 'none'
  minibatch_kernels: int = 32
  minibatch_dim: int = 8
  minibatch_group: int = 4
  dtype: Any = None
  fixed_statistics: bool = False

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del labels  # Unconditional.
    sn = self.norm == 'spectral'
    h = x
    num_convs = len(G_SIZES) - 1
    for i in range(num_convs):
      if i == num_convs - 1 and self.minibatch == 'stddev':
        h = layers.minibatch_stddev(h, group_size=self.minibatch_group,
                                    sync=self.sync_batch_stats,
                                    fixed_statistics=self.fixed_statistics)
      conv = nn.Conv(self.width * 2 ** i, (KERNEL, KERNEL), strides=(2, 2), padding='SAME',
                     kernel_init=conv_init, dtype=self.dtype)
      h = layers.spectral(conv, h, enabled=sn, train=train)
      if self.norm == 'batch':
        h = layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype,
                              fixed=self.fixed_statistics)(h)
      h = nn.leaky_relu(h, LEAK)
    dense = nn.Dense(1, kernel_init=layers.dcgan_init, dtype=self.dtype)
    out = layers.spectral(dense, h.reshape((h.shape[0], -1)), enabled=sn, train=train)[:, 0]
    return layers.critic_head(self, h, out, minibatch=self.minibatch,
                              sync=self.sync_batch_stats, kernels=self.minibatch_kernels,
                              dim=self.minibatch_dim, sn=sn, train=train,
                              fixed_statistics=self.fixed_statistics,
                              readout_init=layers.dcgan_init)


def check_data_shape(data_shape):
  """Raises ValueError unless `data_shape` is (28, 28, C)."""
  if len(data_shape) != 3 or tuple(data_shape[:2]) != (RESOLUTION, RESOLUTION):
    raise ValueError(f'metz is the 28x28 Stacked MNIST architecture, the data has shape '
                     f'{tuple(data_shape)}')


def build(config, data_shape):
  """(generator, discriminator) for images of shape (28, 28, C) from the config."""
  dtype = layers.compute_dtype(config)
  return (MetzGenerator(data_shape[-1], config.g_width, config.sync_batch_stats, dtype),
          MetzDiscriminator(config.d_width, config.d_norm, config.sync_batch_stats,
                            config.d_minibatch, config.minibatch_kernels,
                            config.minibatch_dim, config.minibatch_group, dtype))
