"""Progressive GAN's generator and critic (Karras et al. 2018, "Progressive Growing of GANs for
Improved Quality, Stability, and Variation"), as G_paper and D_paper of the authors'
progressive_growing_of_gans networks.py.

Both networks grow from 4x4: stage s works at resolution 4 x 2^s. Generator: z -> pixel norm
-> an equalized dense layer to 4x4 maps (gain sqrt(2)/4) -> a 3x3 convolution; each later
stage doubles the resolution (nearest neighbour) and adds two 3x3 convolutions; every
convolution is followed by leaky ReLU (0.2) and pixel norm; a linear 1x1 toRGB per stage.
Critic, the mirror image: a 1x1 fromRGB per stage, blocks of two 3x3 convolutions and a 2x2
average pool, and at 4x4 the minibatch standard deviation (groups of 4), a 3x3 convolution,
a dense layer over the 4x4 maps and a linear output. Every weight is N(0, 1) scaled at run
time by He's constant (equalized learning rate).

While stage s fades in, the generator's image is (1 - alpha) x the previous stage's toRGB,
upsampled, plus alpha x the new one, and the critic blends the new block's output with the
previous stage's fromRGB of the 2x2-pooled input the same way; alpha is read from the
collection 'fade', which the train step sets from the schedule (gan_jax/progressive.py). At
alpha 0 a stage is exactly the previous one; at alpha 1 the previous stage's toRGB and
fromRGB no longer count.

The stage is a static attribute (one compiled step per stage), while the parameters of every
stage exist from the start (initialisation builds every toRGB and fromRGB), so the state,
its checkpoints and the optimizers keep one shape for the whole run. The generator's output
is nearest-upsampled to the data's resolution and the critic average-pools its input down
to the stage's, so data, evaluators and samplers see full-size images throughout.
"""
import math
from typing import Any

import flax.linen as nn
import jax.numpy as jnp

from gan_jax.models import layers

D_NORMS = ('none',)
FADE = 'fade'  # The collection holding alpha, the fade-in weight of the newest stage.
_HE = math.sqrt(2.0)  # ProGAN's gain of every layer followed by leaky ReLU.


def num_stages(resolution):
  """Stages of a network for `resolution` x `resolution` images: 4x4, 8x8, ..."""
  return int(math.log2(resolution)) - 1


def stage_resolution(stage):
  """The side of stage `stage`'s images: 4 x 2^stage."""
  return 4 * 2 ** stage


def feature_maps(width, resolution):
  """Channels at `resolution`: `width` up to 32x32, halved for every doubling above
  (ProGAN's nf with fmap_base = 32 x fmap_max)."""
  return max(min(width, width * 32 // resolution), 1)


def upscale(x, factor):
  """Nearest-neighbour upsampling of (B, H, W, C) by an integer factor."""
  if factor == 1:
    return x
  return jnp.repeat(jnp.repeat(x, factor, axis=1), factor, axis=2)


def downscale(x, factor):
  """Average pooling of (B, H, W, C) over factor x factor windows (a box filter)."""
  if factor == 1:
    return x
  b, h, w, c = x.shape
  return jnp.mean(x.reshape(b, h // factor, factor, w // factor, factor, c), axis=(2, 4))


def blend(old, new, alpha):
  """(1 - alpha) old + alpha new, exactly `old` at alpha 0 and exactly `new` at alpha 1."""
  alpha = alpha.astype(new.dtype)
  return (1.0 - alpha) * old + alpha * new


def _act(x):
  return nn.leaky_relu(x, 0.2)


def _conv(features, kernel, name, gain=_HE):
  return layers.EqualConv(features, kernel, gain=gain, name=name)


def _alpha(module):
  return module.variable(FADE, 'alpha', lambda: jnp.ones((), jnp.float32)).value


class ProGANGenerator(nn.Module):
  """ProGAN's generator at `stage`, called as (z, labels=None, train)."""
  resolution: int
  channels: int
  width: int
  stage: int
  dtype: Any = None

  def _block(self, x, s):
    """Stage s's convolutions: from z at 4x4, else upsampling and two 3x3 convolutions."""
    res = stage_resolution(s)
    ch = feature_maps(self.width, res)
    if s == 0:
      x = layers.EqualDense(16 * ch, gain=_HE / 4, use_bias=False, name='b4_dense')(
          layers.pixel_norm(x))
      x = x.reshape(x.shape[0], 4, 4, ch)
      x = layers.pixel_norm(_act(x + self.param('b4_bias', nn.initializers.zeros, (ch,))))
      return layers.pixel_norm(_act(_conv(ch, 3, 'b4_conv')(x)))
    x = upscale(x, 2)
    x = layers.pixel_norm(_act(_conv(ch, 3, f'b{res}_conv0')(x)))
    return layers.pixel_norm(_act(_conv(ch, 3, f'b{res}_conv1')(x)))

  @nn.compact
  def __call__(self, z, labels=None, train: bool = False):
    """Images (B, H, W, C), the stage's resolution nearest-upsampled to H."""
    del labels, train  # Unconditional; no batch statistics.
    alpha = _alpha(self)
    features = [self._block(z.astype(self.dtype or jnp.float32), 0)]
    for s in range(1, self.stage + 1):
      features.append(self._block(features[-1], s))
    to_rgb = {s: _conv(self.channels, 1, f'b{stage_resolution(s)}_torgb', gain=1.0)
              for s in range(self.stage + 1)}
    if self.is_initializing():  # Every stage's toRGB, so the parameters never change shape.
      for s in range(self.stage - 1):
        to_rgb[s](features[s])
    img = to_rgb[self.stage](features[-1])
    if self.stage > 0:
      previous = upscale(to_rgb[self.stage - 1](features[-2]), 2)
      img = blend(previous, img, alpha)
    img = upscale(img, self.resolution // stage_resolution(self.stage))
    return layers.full_precision(img)


class ProGANCritic(nn.Module):
  """ProGAN's critic at `stage`, called as (x, labels=None, train)."""
  resolution: int
  width: int
  stage: int
  minibatch_group: int = 4
  sync: bool = True
  dtype: Any = None
  fixed_statistics: bool = False

  def _block(self, h, s):
    """Stage s's two 3x3 convolutions and 2x2 average pool (s >= 1)."""
    res = stage_resolution(s)
    h = _act(_conv(feature_maps(self.width, res), 3, f'b{res}_conv0')(h))
    h = _act(_conv(feature_maps(self.width, res // 2), 3, f'b{res}_conv1')(h))
    return downscale(h, 2)

  @nn.compact
  def __call__(self, x, labels=None, train: bool = False):
    del labels, train  # Unconditional; no state but alpha.
    alpha = _alpha(self)
    x = x.astype(self.dtype or jnp.float32)
    from_rgb = {s: _conv(feature_maps(self.width, stage_resolution(s)), 1,
                         f'b{stage_resolution(s)}_fromrgb') for s in range(self.stage + 1)}
    if self.is_initializing():  # Every stage's fromRGB (see the generator).
      for s in range(self.stage - 1):
        from_rgb[s](downscale(x, self.resolution // stage_resolution(s)))
    x = downscale(x, self.resolution // stage_resolution(self.stage))
    h = _act(from_rgb[self.stage](x))
    if self.stage > 0:
      h = self._block(h, self.stage)
      previous = _act(from_rgb[self.stage - 1](downscale(x, 2)))
      h = blend(previous, h, alpha)
    for s in range(self.stage - 1, 0, -1):
      h = self._block(h, s)
    h = layers.minibatch_stddev(h, group_size=self.minibatch_group, sync=self.sync,
                                fixed_statistics=self.fixed_statistics)
    ch = feature_maps(self.width, 4)
    h = _act(_conv(ch, 3, 'b4_conv')(h))
    h = _act(layers.EqualDense(ch, gain=_HE, name='b4_fc')(h.reshape(h.shape[0], -1)))
    out = layers.EqualDense(1, name='out')(h)[:, 0]
    return layers.critic_head(self, h, out, minibatch='none')


def build(config, data_shape, stage=None):
  """(generator, critic) for images of shape (H, H, C) at `stage` (None: the last one)."""
  resolution, dtype = data_shape[0], layers.compute_dtype(config)
  stage = num_stages(resolution) - 1 if stage is None else stage
  return (ProGANGenerator(resolution, data_shape[-1], config.g_width, stage, dtype),
          ProGANCritic(resolution, config.d_width, stage, config.minibatch_group,
                       config.sync_batch_stats, dtype))
