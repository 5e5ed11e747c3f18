"""TTUR optimizers (one per network, each with its own rate, betas and schedule) and EMA."""
import jax
import jax.numpy as jnp
import optax

SCHEDULES = ('constant', 'linear', 'cosine')
OPTIMIZERS = ('adam', 'rmsprop')


def learning_rate_schedule(name, lr, num_updates):
  """Returns an optax schedule: `constant`, `linear` decay to 0 or `cosine` decay to 0."""
  if name == 'constant':
    return optax.constant_schedule(lr)
  if name == 'linear':
    return optax.linear_schedule(lr, 0.0, num_updates)
  return optax.cosine_decay_schedule(lr, num_updates)


def schedule_decays(config):
  """Whether a learning rate of the run decays.

  A decaying schedule is sized by num_steps and by the optimizer's update count, so a new
  length or a reset optimizer state would change the rate of every remaining step.

  Args:
    config: a ConfigDict or a saved run's config as a JSON dict.
  Returns:
    True when g_schedule or d_schedule is not 'constant'.
  """
  return any(config.get(f'{net}_schedule', 'constant') != 'constant' for net in 'gd')


def make_optimizer(*, name, lr, betas, schedule, num_updates, grad_clip, weight_decay=0.0,
                   skip_nonfinite=False, differentiable=False):
  """One network's optimizer.

  Args:
    name: 'adam' or 'rmsprop' (the original WGAN used RMSProp).
    lr: peak learning rate.
    betas: (beta1, beta2) for Adam; RMSProp uses beta2 as its decay.
    schedule: one of SCHEDULES.
    num_updates: how many updates the schedule spans.
    grad_clip: clip the global gradient norm to this value; 0 disables clipping.
    weight_decay: L2 decay added to the (clipped) gradient before the optimizer, as
      PyTorch's Adam(weight_decay=...) couples it (not AdamW's decoupled decay).
    skip_nonfinite: drop updates whose gradients hold NaN or inf (optax.apply_if_finite);
      after 100 in a row the updates go through and the NaN guard stops the run.
    differentiable: the update will be differentiated through (an unrolled GAN's critic):
      Adam then adds 1e-12 inside its square root, whose derivative is infinite at 0.
  Returns:
    An optax.GradientTransformation.
  """
  rate = learning_rate_schedule(schedule, lr, num_updates)
  if name == 'adam':
    opt = optax.adam(rate, b1=betas[0], b2=betas[1], eps_root=1e-12 if differentiable else 0.0)
  else:
    opt = optax.rmsprop(rate, decay=betas[1])
  if weight_decay > 0:
    opt = optax.chain(optax.add_decayed_weights(weight_decay), opt)
  if grad_clip > 0:
    opt = optax.chain(optax.clip_by_global_norm(grad_clip), opt)
  if skip_nonfinite:
    opt = optax.apply_if_finite(opt, max_consecutive_errors=100)
  return opt


def build(config):
  """Returns (g_tx, d_tx); the critic's schedule spans its n_critic updates per step."""
  g_tx = make_optimizer(name=config.optimizer, lr=config.g_lr, betas=tuple(config.g_betas),
                        schedule=config.g_schedule, num_updates=config.num_steps,
                        grad_clip=config.g_grad_clip, weight_decay=config.g_weight_decay,
                        skip_nonfinite=config.skip_nonfinite_updates)
  d_tx = make_optimizer(name=config.optimizer, lr=config.d_lr, betas=tuple(config.d_betas),
                        schedule=config.d_schedule,
                        num_updates=config.num_steps * config.n_critic,
                        grad_clip=config.d_grad_clip, weight_decay=config.d_weight_decay,
                        skip_nonfinite=config.skip_nonfinite_updates,
                        differentiable=config.unrolled_steps > 0)
  return g_tx, d_tx


def ema_update(ema_params, params, *, decay, step, start):
  """Exponential moving average of the generator's weights.

  Before `start` the average simply copies the weights, so it does not remember the
  initialisation once averaging begins.
  """
  d = jnp.where(step >= start, decay, 0.0)
  return jax.tree.map(lambda e, p: d * e + (1.0 - d) * p, ema_params, params)

