"""Pure training-step functions: critic updates, generator update, the full train step.

The per-device functions are SPMD code in pmap's programming model: each device sees its
shard of the batch and averages gradients and measurements with `lax.pmean` over the 'data'
axis. `make_train_step` maps them over the mesh with `jax.shard_map` inside one `jax.jit`.
All randomness of step t is drawn from fold_in(state.key, t) for the *global* batch before it
is sharded, so a run's numbers do not depend on how many devices share it.
"""
import functools

import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.sharding import PartitionSpec as P

from gan_jax import models, objectives, optim
from gan_jax.parallel import DATA_AXIS


def _pmean(tree):
  return lax.pmean(tree, DATA_AXIS)


def _mean_output(logits, probabilistic):
  """Mean discriminator output: a probability for probabilistic losses, else the raw score."""
  return jnp.mean(jax.nn.sigmoid(logits) if probabilistic else logits)


def _apply_gradients(tx, params, opt_state, grads):
  """One optimizer update; returns (params, opt_state, global norm of the applied update)."""
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, optax.tree.norm(updates)


class StepFunctions:
  """The per-device update functions of one experiment.

  Attributes bound at construction (models, objective, optimizers, penalty weights) are
  static; every method is a pure function of its array arguments.
  """

  def __init__(self, config, g_model, d_model, g_tx, d_tx):
    self.g_model, self.d_model = g_model, d_model
    self.g_tx, self.d_tx = g_tx, d_tx
    self.objective = objectives.get(config.loss)
    self.gp_weight = config.gp_weight
    self.r1_gamma = config.r1_gamma
    self.wgan_clip = config.wgan_clip
    self.ema_decay = config.ema_decay
    self.ema_start = config.ema_start
    self.n_critic = config.n_critic
    self.z_dim = config.z_dim

  def d_update(self, state, real, z, eps):
    """One critic update on a real batch and fakes generated from `z`.

    Args:
      state: the GANState (replicated).
      real: this device's real batch.
      z: this device's latent batch.
      eps: interpolation weights for the gradient penalty, one per example.
    Returns:
      (state, measurements) with the critic's parameters, model state and optimizer updated.
    """
    obj = self.objective
    fake, _ = models.apply(self.g_model, state.g_params, state.g_model_state, z, train=True)
    fake = lax.stop_gradient(fake)

    def loss_fn(d_params):
      real_logits, ms = models.apply(self.d_model, d_params, state.d_model_state, real,
                                     train=True)
      fake_logits, ms = models.apply(self.d_model, d_params, ms, fake, train=True)
      loss = obj.d_loss(real_logits, fake_logits)
      m = {'d_loss': loss,
           'd_real': _mean_output(real_logits, obj.probabilistic),
           'd_fake': _mean_output(fake_logits, obj.probabilistic)}
      critic = lambda x: models.apply(self.d_model, d_params, ms, x, train=True)[0]
      if obj.penalty == 'gp':
        m['gp'] = objectives.gradient_penalty(critic, real, fake, eps)
        loss = loss + self.gp_weight * m['gp']
      if self.r1_gamma > 0:
        m['r1'] = objectives.r1_penalty(critic, real)
        loss = loss + 0.5 * self.r1_gamma * m['r1']
      return loss, (ms, m)

    grads, (model_state, m) = jax.grad(loss_fn, has_aux=True)(state.d_params)
    grads = _pmean(grads)
    params, opt_state, m['d_update_norm'] = _apply_gradients(
        self.d_tx, state.d_params, state.d_opt_state, grads)
    if obj.clip_weights:
      params = jax.tree.map(lambda w: jnp.clip(w, -self.wgan_clip, self.wgan_clip), params)
    m['d_grad_norm'] = optax.tree.norm(grads)
    m['d_param_norm'] = optax.tree.norm(params)
    state = state.replace(d_params=params, d_opt_state=opt_state,
                          d_model_state=_pmean(model_state))
    return state, _pmean(m)

  def g_update(self, state, z):
    """One generator update against the current critic; also advances the EMA weights."""
    obj = self.objective

    def loss_fn(g_params):
      fake, g_ms = models.apply(self.g_model, g_params, state.g_model_state, z, train=True)
      fake_logits, d_ms = models.apply(self.d_model, state.d_params, state.d_model_state,
                                       fake, train=True)
      return obj.g_loss(fake_logits), (g_ms, d_ms)

    (loss, (g_ms, d_ms)), grads = jax.value_and_grad(loss_fn, has_aux=True)(state.g_params)
    grads = _pmean(grads)
    params, opt_state, update_norm = _apply_gradients(
        self.g_tx, state.g_params, state.g_opt_state, grads)
    ema = state.ema_params
    if ema is not None:
      ema = optim.ema_update(ema, params, decay=self.ema_decay, step=state.step,
                             start=self.ema_start)
    state = state.replace(g_params=params, g_opt_state=opt_state, ema_params=ema,
                          g_model_state=_pmean(g_ms), d_model_state=_pmean(d_ms))
    m = {'g_loss': loss, 'g_grad_norm': optax.tree.norm(grads),
         'g_update_norm': update_norm, 'g_param_norm': optax.tree.norm(params)}
    return state, _pmean(m)

  def per_device_step(self, state, real, z_d, z_g, eps):
    """n_critic critic updates then one generator update, on this device's shard.

    Args:
      state: the GANState.
      real: (n_critic, local_batch, ...) real data, one batch per critic update.
      z_d: (n_critic, local_batch, z_dim) latents for the critic updates.
      z_g: (local_batch, z_dim) latents for the generator update.
      eps: (n_critic, local_batch) gradient-penalty interpolation weights.
    Returns:
      (state, measurements); critic measurements are those of the last critic update.
    """
    def critic_body(st, xs):
      return self.d_update(st, *xs)

    state, d_m = lax.scan(critic_body, state, (real, z_d, eps))
    state, g_m = self.g_update(state, z_g)
    return state, {**jax.tree.map(lambda v: v[-1], d_m), **g_m}

  def draw_randomness(self, state, batch_size):
    """Latents and interpolation weights of step `state.step` for the global batch."""
    k_d, k_g, k_eps = jax.random.split(jax.random.fold_in(state.key, state.step), 3)
    z_d = jax.random.normal(k_d, (self.n_critic, batch_size, self.z_dim))
    z_g = jax.random.normal(k_g, (batch_size, self.z_dim))
    eps = jax.random.uniform(k_eps, (self.n_critic, batch_size))
    return z_d, z_g, eps


def make_train_step(config, g_model, d_model, g_tx, d_tx, mesh):
  """Builds the jit-compiled, data-parallel train step.

  Args:
    config: experiment config.
    g_model, d_model: generator and critic modules.
    g_tx, d_tx: their optimizers.
    mesh: a mesh with a 'data' axis; the state is replicated over it, batches are sharded.
  Returns:
    train_step(state, batch) -> (state, measurements), with `state` donated. `batch['x']`
    has shape (n_critic, global_batch, ...).
  """
  fns = StepFunctions(config, g_model, d_model, g_tx, d_tx)
  batched = P(None, DATA_AXIS)
  sharded_step = jax.shard_map(
      fns.per_device_step, mesh=mesh,
      in_specs=(P(), batched, batched, P(DATA_AXIS), batched),
      out_specs=(P(), P()))

  @functools.partial(jax.jit, donate_argnums=0)
  def train_step(state, batch):
    z_d, z_g, eps = fns.draw_randomness(state, batch['x'].shape[1])
    state, measurements = sharded_step(state, batch['x'], z_d, z_g, eps)
    return state.replace(step=state.step + 1), measurements

  return train_step
