"""BigGAN at CIFAR-10 scale (Brock et al. 2019), as PyTorch-StudioGAN's big_resnet backbone
builds it for 32x32 images (src/models/big_resnet.py, src/configs/CIFAR10/BigGAN.yaml).

Generator: z is split into 4 chunks (hierarchical latents): the first feeds a linear layer to
4x4 x 4w channels, each of the 3 up-blocks gets one chunk concatenated with a shared class
embedding (128-d), and every batch norm of that block takes its gain 1 + W_g a and bias W_b a
from that vector a (conditional batch norm as linear maps of the embedding, not per-class
tables); a self-attention block follows the `attention_g`-th up-block (16x16); BN, ReLU,
3x3 conv, tanh. Critic: SNGAN's residual blocks (2w channels; the first two downsample) with
self-attention after the `attention_d`-th block, ReLU, sum pooling, a linear output plus the
projection <embed(y), h>. Spectral norm on every layer of both networks (the generator's
shared embedding excepted), orthogonal initialisation. Hinge loss, the EMA generator and the
orthogonal regulariser (config.g_ortho) come from the library's step.

Unconditional (num_classes 0), the blocks' batch norms take their latent chunk alone.
Differences from StudioGAN: batch norm's epsilon is the library's 1e-5 (StudioGAN 1e-4), and
the up-blocks' convolutions have no bias (each feeds a batch norm, which cancels it).
"""
from typing import Any

import flax.linen as nn
import jax
import jax.numpy as jnp

from gan_jax.models import layers, resnet

D_NORMS = ('spectral', 'none')
_ortho = nn.initializers.orthogonal()
CHUNKS = 4  # One latent chunk for the input layer, one per up-block.


def _maxpool(x):
  return nn.max_pool(x, (2, 2), strides=(2, 2))


class SelfAttention(nn.Module):
  """SAGAN's self-attention (Zhang et al. 2019) as BigGAN uses it: queries from every pixel,
  keys and values from the 2x2-max-pooled map, x + sigma * attention (sigma starts at 0)."""
  spectral: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, train):
    b, h, w, c = x.shape

    def conv(features, name, v):
      layer = nn.Conv(features, (1, 1), use_bias=False, kernel_init=_ortho, dtype=self.dtype,
                      name=name)
      return layers.spectral(layer, v, enabled=self.spectral, train=train)

    theta = conv(c // 8, 'theta', x).reshape(b, h * w, c // 8)
    phi = _maxpool(conv(c // 8, 'phi', x)).reshape(b, h * w // 4, c // 8)
    attention = jax.nn.softmax(jnp.einsum('bqc,bkc->bqk', theta, phi), axis=-1)
    g = _maxpool(conv(c // 2, 'g', x)).reshape(b, h * w // 4, c // 2)
    out = conv(c, 'out', jnp.einsum('bqk,bkc->bqc', attention, g).reshape(b, h, w, c // 2))
    sigma = self.param('sigma', nn.initializers.zeros, ())
    return x + sigma.astype(out.dtype) * out


class AffineBatchNorm(nn.Module):
  """Batch norm whose per-example gain 1 + W_g a and bias W_b a are linear in `affine`."""
  sync: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, affine, train):
    features = x.shape[-1]
    h = layers.batch_norm(train=train, sync=self.sync, dtype=self.dtype, affine=False)(x)
    dense = lambda name: nn.Dense(features, use_bias=False, kernel_init=_ortho,  # noqa: E731
                                  dtype=self.dtype, name=name)
    gain = 1.0 + layers.spectral(dense('gain'), affine, enabled=True, train=train)
    bias = layers.spectral(dense('bias'), affine, enabled=True, train=train)
    return h * gain[:, None, None, :] + bias[:, None, None, :]


class GeneratorBlock(nn.Module):
  """BN(a)-ReLU-Up-Conv3-BN(a)-ReLU-Conv3, shortcut Up-Conv1; spectrally normalised.

  The convolutions have no bias: every path from them meets a batch norm (the next one, the
  next block's or the output's), which removes any constant shift, so a bias would only get
  gradients of rounding noise that Adam amplifies to full-size steps.
  """
  features: int
  sync: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, x, affine, train):
    def conv(kernel, v):
      layer = nn.Conv(self.features, (kernel, kernel), padding='SAME', use_bias=False,
                      kernel_init=_ortho, dtype=self.dtype)
      return layers.spectral(layer, v, enabled=True, train=train)

    h = resnet.upsample(nn.relu(AffineBatchNorm(self.sync, self.dtype)(x, affine, train)))
    h = conv(3, h)
    h = conv(3, nn.relu(AffineBatchNorm(self.sync, self.dtype)(h, affine, train)))
    return h + conv(1, resnet.upsample(x))


class BigGANGenerator(nn.Module):
  """BigGAN's generator for 32x32 images."""
  channels: int
  width: int = 96
  num_classes: int = 0
  shared_dim: int = 128
  attention: int = 2
  sync_batch_stats: bool = True
  dtype: Any = None

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    chunks = jnp.split(z, CHUNKS, axis=-1)
    affines = chunks[1:]
    if self.num_classes:
      shared = nn.Embed(self.num_classes, self.shared_dim, name='shared', dtype=self.dtype)(
          labels)
      affines = [jnp.concatenate([shared, c.astype(shared.dtype)], -1) for c in affines]
    c = 4 * self.width
    h = layers.spectral(nn.Dense(4 * 4 * c, kernel_init=_ortho, dtype=self.dtype), chunks[0],
                        enabled=True, train=train).reshape(-1, 4, 4, c)
    for i, affine in enumerate(affines):
      h = GeneratorBlock(c, self.sync_batch_stats, self.dtype)(h, affine, train)
      if i + 1 == self.attention:
        h = SelfAttention(True, self.dtype)(h, train)
    h = nn.relu(layers.batch_norm(train=train, sync=self.sync_batch_stats, dtype=self.dtype)(h))
    out = layers.spectral(nn.Conv(self.channels, (3, 3), padding='SAME', kernel_init=_ortho,
                                  dtype=self.dtype), h, enabled=True, train=train)
    return layers.full_precision(jnp.tanh(out))


class BigGANDiscriminator(nn.Module):
  """BigGAN's projection critic for 32x32 images."""
  width: int = 96
  norm: str = 'spectral'
  num_classes: int = 0
  attention: int = 1
  dtype: Any = None
  fixed_statistics: bool = False  # No batch statistics: the penalties' critic is this one.

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    sn = self.norm == 'spectral'
    c = 2 * self.width
    h = x
    for i, down in enumerate((True, True, False, False)):
      h = resnet.DiscriminatorBlock(c, down, first=i == 0, spectral=sn, dtype=self.dtype,
                                    kernel_init=_ortho)(h, train)
      if i + 1 == self.attention:
        h = SelfAttention(sn, self.dtype)(h, train)
    h = jnp.sum(nn.relu(h), axis=(1, 2))
    out = layers.spectral(nn.Dense(1, kernel_init=_ortho, dtype=self.dtype), h, enabled=sn,
                          train=train)[:, 0]
    if self.num_classes:
      embed = layers.spectral(nn.Embed(self.num_classes, c, embedding_init=_ortho,
                                       dtype=self.dtype), labels, enabled=sn, train=train)
      out = out + jnp.sum(embed * h, axis=-1)
    return layers.critic_head(self, h, out, minibatch='none')


def check_data_shape(data_shape):
  """Raises ValueError unless the data are 32x32 images."""
  if len(data_shape) != 3 or tuple(data_shape[:2]) != (32, 32):
    raise ValueError(f'biggan is the 32x32 (CIFAR-10) BigGAN, the data has shape '
                     f'{tuple(data_shape)} (mnist5k32 pads the digits to 32x32)')


def build(config, data_shape):
  """(generator, critic) for 32x32 images from the config."""
  b, dtype = config.biggan, layers.compute_dtype(config)
  return (BigGANGenerator(data_shape[-1], config.g_width, config.num_classes, b.shared_dim,
                          b.attention_g, config.sync_batch_stats, dtype),
          BigGANDiscriminator(config.d_width, config.d_norm, config.num_classes,
                              b.attention_d, dtype))
