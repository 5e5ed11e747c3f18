"""Progressive growing's schedule (model=progan): which stage trains at each step, how far its
new layers have faded in, and what the critic's real images look like at that point.

Stage 0 (4x4) trains for `progan.stable_steps`; every later stage first fades in over
`progan.fade_steps` (alpha rising linearly from 0 to 1), then trains stable for
`progan.stable_steps`; the last stage stays until num_steps. Stage and alpha are pure
functions of the step, so a resumed run picks up mid-stage exactly. The state carries alpha
(the models' 'fade' collection) equal to alpha(state.step) at every step boundary, so
evaluators and samplers read the right blend from the state alone. At alpha 0 a stage is the
previous one exactly, which makes every stage change continuous.
"""
import jax.numpy as jnp
import numpy as np

from gan_jax.models import progan


class Schedule:
  """The stage and fade-in weight of every step of a progressive run.

  Args:
    config: the experiment config (config.progan).
    resolution: the images' side.
  """

  def __init__(self, config, resolution):
    self.stable = config.progan.stable_steps
    self.fade = config.progan.fade_steps
    self.last = progan.num_stages(resolution) - 1
    self.resolution = resolution
    # The steps where a phase begins after stage 0: each fade-in and each stable phase.
    self.phase_starts = tuple(
        start for s in range(1, self.last + 1)
        for start in ((self._fade_start(s), self._fade_start(s) + self.fade) if self.fade
                      else (self._fade_start(s),)))

  def _fade_start(self, stage):
    """The first step of `stage` (>= 1), where its fade-in begins."""
    return self.stable + (stage - 1) * (self.fade + self.stable)

  def _stage(self, step, clip):
    # Before stage 1, (step - stable) // period is -1 (stable <= period): stage 0.
    return clip(1 + (step - self.stable) // (self.fade + self.stable), 0, self.last)

  def stage(self, step):
    """The stage step `step` (0-based, a Python int) trains."""
    return int(self._stage(step, np.clip))

  def alpha(self, step):
    """The newest stage's fade-in weight at `step` (an int or a traced array): 0 when its
    fade starts, 1 from its stable phase on (and throughout stage 0)."""
    step = jnp.asarray(step)
    stage = self._stage(step, jnp.clip)
    faded = (jnp.clip((step - self._fade_start(stage)) / self.fade, 0.0, 1.0) if self.fade
             else jnp.ones((), jnp.float32))
    return jnp.where(stage == 0, 1.0, faded).astype(jnp.float32)

  def real_images(self, x, stage, alpha):
    """The critic's real images at `stage`: box-filtered to its resolution and, while it
    fades in, blended with their 2x2-pooled version as the generator's image is, then
    nearest-upsampled back to full size (ProGAN's process_reals).

    Args:
      x: (..., H, W, C) full-resolution images.
      stage: the stage (static).
      alpha: the fade-in weight (a scalar array).
    Returns:
      Images of x's shape.
    """
    lead, (h, w, c) = x.shape[:-3], x.shape[-3:]
    x = x.reshape((-1, h, w, c))
    factor = self.resolution // progan.stage_resolution(stage)
    small = progan.downscale(x, factor)
    if stage > 0:
      coarse = progan.upscale(progan.downscale(small, 2), 2)
      small = progan.blend(coarse, small, alpha)
    return progan.upscale(small, factor).reshape(lead + (h, w, c))

  def with_alpha(self, state):
    """`state` with both models' alpha set to alpha(state.step)."""
    alpha = self.alpha(state.step)
    put = lambda model_state: {**model_state, progan.FADE: {'alpha': alpha}}  # noqa: E731
    return state.replace(g_model_state=put(state.g_model_state),
                         d_model_state=put(state.d_model_state))
