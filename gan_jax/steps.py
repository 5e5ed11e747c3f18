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
    self.num_classes = config.num_classes

  def d_update(self, state, inputs):
    """One critic update on a real batch and fakes generated from latents.

    Args:
      state: the GANState (replicated).
      inputs: this device's shard of 'x' (real batch), 'z' (latents), 'eps' (gradient-
        penalty interpolation weights) and, for conditional models, 'y' (real labels) and
        'y_fake' (labels the fakes are generated for).
    Returns:
      (state, measurements) with the critic's parameters, model state and optimizer updated.
    """
    obj = self.objective
    real, y, y_fake = inputs['x'], inputs.get('y'), inputs.get('y_fake')
    fake, _ = models.apply(self.g_model, state.g_params, state.g_model_state, inputs['z'],
                           y_fake, train=True)
    fake = lax.stop_gradient(fake)

    def loss_fn(d_params):
      real_logits, ms = models.apply(self.d_model, d_params, state.d_model_state, real, y,
                                     train=True)
      fake_logits, ms = models.apply(self.d_model, d_params, ms, fake, y_fake, train=True)
      loss = obj.d_loss(real_logits, fake_logits)
      m = {'d_loss': loss,
           'd_real': _mean_output(real_logits, obj.probabilistic),
           'd_fake': _mean_output(fake_logits, obj.probabilistic)}
      critic = lambda x: models.apply(self.d_model, d_params, ms, x, y, train=True)[0]
      if obj.penalty == 'gp':
        m['gp'] = objectives.gradient_penalty(critic, real, fake, inputs['eps'])
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

  def g_update(self, state, inputs):
    """One generator update against the current critic; also advances the EMA weights.

    Args:
      state: the GANState.
      inputs: this device's shard of 'z' and, for conditional models, 'y_fake'.
    Returns:
      (state, measurements).
    """
    obj = self.objective
    y_fake = inputs.get('y_fake')

    def loss_fn(g_params):
      fake, g_ms = models.apply(self.g_model, g_params, state.g_model_state, inputs['z'],
                                y_fake, train=True)
      fake_logits, d_ms = models.apply(self.d_model, state.d_params, state.d_model_state,
                                       fake, y_fake, train=True)
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

  def per_device_step(self, state, critic_inputs, generator_inputs):
    """n_critic critic updates then one generator update, on this device's shard.

    Args:
      state: the GANState.
      critic_inputs: dict of arrays with leading axis n_critic, one slice per critic update
        (see d_update).
      generator_inputs: dict of arrays for the generator update (see g_update).
    Returns:
      (state, measurements); critic measurements are those of the last critic update.
    """
    state, d_m = lax.scan(self.d_update, state, critic_inputs)
    state, g_m = self.g_update(state, generator_inputs)
    return state, {**jax.tree.map(lambda v: v[-1], d_m), **g_m}

  def draw_randomness(self, state, batch_size):
    """Latents, fake labels and interpolation weights of step `state.step`, global batch.

    Returns:
      (critic_inputs, generator_inputs) dicts without the real data.
    """
    k_d, k_g, k_eps, k_yd, k_yg = jax.random.split(
        jax.random.fold_in(state.key, state.step), 5)
    critic = {'z': jax.random.normal(k_d, (self.n_critic, batch_size, self.z_dim)),
              'eps': jax.random.uniform(k_eps, (self.n_critic, batch_size))}
    generator = {'z': jax.random.normal(k_g, (batch_size, self.z_dim))}
    if self.num_classes:
      critic['y_fake'] = jax.random.randint(k_yd, (self.n_critic, batch_size), 0,
                                            self.num_classes)
      generator['y_fake'] = jax.random.randint(k_yg, (batch_size,), 0, self.num_classes)
    return critic, generator


def make_train_step(config, g_model, d_model, g_tx, d_tx, mesh):
  """Builds the jit-compiled, data-parallel train step.

  Args:
    config: experiment config.
    g_model, d_model: generator and critic modules.
    g_tx, d_tx: their optimizers.
    mesh: a mesh with a 'data' axis; the state is replicated over it, batches are sharded.
  Returns:
    train_step(state, batch) -> (state, measurements), with `state` donated. `batch['x']`
    has shape (n_critic, global_batch, ...); `batch['y']` (n_critic, global_batch) holds the
    labels when the models are conditional.
  """
  fns = StepFunctions(config, g_model, d_model, g_tx, d_tx)
  # check_vma=False gives pmap's semantics: a gradient taken on one device is that device's
  # gradient, averaged explicitly with pmean. (With varying-manual-axes checking, JAX would
  # already sum gradients of replicated parameters over devices in the transpose.)
  sharded_step = jax.shard_map(
      fns.per_device_step, mesh=mesh,
      in_specs=(P(), P(None, DATA_AXIS), P(DATA_AXIS)),
      out_specs=(P(), P()), check_vma=False)

  @functools.partial(jax.jit, donate_argnums=0)
  def train_step(state, batch):
    critic_inputs, generator_inputs = fns.draw_randomness(state, batch['x'].shape[1])
    critic_inputs['x'] = batch['x']
    if config.num_classes:
      critic_inputs['y'] = batch['y']
    state, measurements = sharded_step(state, critic_inputs, generator_inputs)
    return state.replace(step=state.step + 1), measurements

  return train_step
