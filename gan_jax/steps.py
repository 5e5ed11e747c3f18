"""Pure training-step functions: critic updates, generator update, the full train step.

The per-device functions are SPMD code in pmap's programming model: each device sees its
shard of the batch and averages gradients and measurements with `lax.pmean` over the 'data'
axis. `make_train_step` maps them over the mesh with `jax.shard_map` inside one `jax.jit`.
All randomness of step t is drawn from fold_in(state.key, t) for the *global* batch before it
is sharded, so a run's numbers do not depend on how many devices share it.
"""
import jax
import jax.numpy as jnp
import optax
from jax import lax
from jax.sharding import PartitionSpec as P

from gan_jax import models, objectives, optim, seeds
from gan_jax.metrics import distances
from gan_jax.models import layers, stylegan2
from gan_jax.parallel import DATA_AXIS

# How a step orders its players' updates (configs/default.py documents update_order).
UPDATE_ORDERS = ('alternating', 'simultaneous')


def _pmean(tree):
  return lax.pmean(tree, DATA_AXIS)


def _mean_output(logits, probabilistic):
  """Mean discriminator output: a probability for probabilistic losses, else the raw score."""
  return jnp.mean(jax.nn.sigmoid(logits) if probabilistic else logits)


def _apply_gradients(tx, params, opt_state, grads):
  """One optimizer update; returns (params, opt_state, the applied updates)."""
  updates, opt_state = tx.update(grads, opt_state, params)
  return optax.apply_updates(params, updates), opt_state, updates


def noise_std(config, step):
  """Instance-noise std at `step`: config.instance_noise annealed linearly to 0 over
  config.instance_noise_steps steps (constant when that is 0)."""
  if not config.instance_noise_steps:
    return jnp.float32(config.instance_noise)
  frac = jnp.clip(1.0 - step / config.instance_noise_steps, 0.0, 1.0)
  return config.instance_noise * frac


def _noise(inputs, salt):
  """The critic's dropout keys for one of its calls: the drawn key data made distinct per
  call (real, fake, penalty), or None when the critic draws no noise."""
  noise = inputs.get('d_noise')
  return None if noise is None else noise ^ jnp.uint32(salt)


def _accuracy(real_logits, fake_logits, threshold):
  """Share of real and fake examples the critic classifies right, averaged."""
  if threshold is None:  # Scores without an origin: the midpoint of the global means.
    threshold = _pmean(jnp.mean(real_logits) + jnp.mean(fake_logits)) / 2.0
  return 0.5 * (jnp.mean(real_logits > threshold) + jnp.mean(fake_logits < threshold))


def _step_keys(key):
  """The keys of one step's draws, as many as its options take: the first 16 are the split
  every run has drawn from, so a draw added after them leaves existing seeds' draws as they
  were."""
  while True:
    yield from jax.random.split(key, 16)
    key = jax.random.fold_in(key, 16)


def _when(measure, compute):
  """The measurements `compute()` returns (a dict of arrays), computed only where `measure`
  holds: a Python bool decides while tracing, a traced one at run time through `lax.cond`.
  Unmeasured values are NaN, so a figure the step did not compute cannot pass for one.

  Steps between the loop's log steps skip their diagnostics this way on CPU, where they
  were a sixth of the quickstart MLP's step (see skips_diagnostics)."""
  if measure is True:
    return compute()
  unmeasured = lambda: jax.tree.map(  # noqa: E731
      lambda s: jnp.full(s.shape, jnp.nan, s.dtype), jax.eval_shape(compute))
  return unmeasured() if measure is False else lax.cond(measure, compute, unmeasured)


def skips_diagnostics(mesh):
  """Whether a train step on `mesh` honours measure=False.

  Only XLA:CPU does: there a conditional is a branch in the host's own program. Outside
  CUDA-graph command buffers, XLA:GPU runs a conditional by copying its predicate to the
  host and waiting for it, a stall in every step, while the diagnostics are a few cheap
  reductions there; accelerators keep measuring every step until a GPU measurement says
  otherwise."""
  return mesh.devices.flat[0].platform == 'cpu'


def _mean_pairwise_distance(f):
  """Mean Euclidean distance between the feature vectors of distinct examples of the global
  batch (gathered from every device, so the figure does not depend on the device count)."""
  f = layers.global_batch(lax.stop_gradient(f))
  f = f - jnp.mean(f, axis=0)  # Centred: distances do not change, rounding errors shrink.
  sq = distances.squared_euclidean(f, f)
  n = f.shape[0]
  return jnp.sum(jnp.sqrt(sq + 1e-12) * (1.0 - jnp.eye(n))) / (n * (n - 1))


class StepFunctions:
  """The per-device update functions of one experiment.

  Attributes bound at construction (models, objective, optimizers, the config's
  stabilisation switches) are static; every method is a pure function of its arrays.
  """

  def __init__(self, config, g_model, d_model, g_tx, d_tx, label_logits=None):
    self.config = config
    # Log-probabilities of the generator's labels (a table's training-by-sampling
    # conditions); None draws them uniformly.
    self.label_logits = None if label_logits is None else jnp.asarray(label_logits)
    # CTGAN's generator sows the cross-entropy of its conditioned column's logits.
    self.condition_loss = (config.model == 'ctgan' and bool(config.num_classes)
                           and config.tabular.condition_weight > 0)
    # CTGAN's critic drops units with keys drawn here, one pair per packed example.
    self.critic_noise = config.model == 'ctgan' and config.tabular.dropout > 0
    # StyleGAN2's path-length regulariser (its noise drawn here, its pl_mean in g_model_state).
    self.path_length = config.model == 'stylegan2' and config.stylegan.pl_weight > 0
    self.g_model, self.d_model = g_model, d_model
    self.g_tx, self.d_tx = g_tx, d_tx
    self.objective = objectives.get(config.loss)
    # The penalties' critic: the same parameters, with batch-level statistics (batch norm,
    # minibatch layers) held fixed, so the gradient of its summed outputs is each example's
    # own input gradient, as the penalties are defined. Its state updates are discarded.
    self.penalty_critic = d_model.clone(fixed_statistics=True)
    # Conditional WGAN-GP interpolates real and fake examples and scores the blend with the
    # real label: the critic's fakes are generated for the real labels, so both ends of
    # every interpolate belong to that label.
    # CTGAN's own code instead pairs real rows with fakes of other conditions (a
    # permutation of the batch's) and penalises the gradient in rows and condition one-hots
    # together (config.tabular.critic_conditions='permuted').
    self.permuted_conditions = (config.model == 'ctgan' and bool(config.num_classes)
                                and config.tabular.critic_conditions == 'permuted')
    self.fakes_for_real_labels = (bool(config.num_classes) and self.objective.penalty == 'gp'
                                  and not self.permuted_conditions)
    self.targets = ({'real_target': config.real_label, 'fake_target': config.fake_label}
                    if self.objective.smoothable else {})

  def _generate(self, g_params, state, z, y_fake):
    return models.apply(self.g_model, g_params, state.g_model_state, z, y_fake, train=True)

  def _d_loss(self, d_params, d_model_state, real, fake, inputs, update, measure=True):
    """The critic's loss (with penalties) on one real and one fake batch, both already
    noised; `update` counts critic updates (lazy R1); `measure` whether to compute the
    diagnostics (see _when). Returns (loss, (new model state, measurements))."""
    c, obj, m_pack = self.config, self.objective, self.config.pac
    y, y_fake = inputs.get('y'), inputs.get('y_fake')
    real, fake = models.pack(real, m_pack), models.pack(fake, m_pack)
    real_logits, ms, real_f = models.apply_with_features(
        self.d_model, d_params, d_model_state, real, y, train=True, noise=_noise(inputs, 0))
    fake_logits, ms, fake_f = models.apply_with_features(
        self.d_model, d_params, ms, fake, y_fake, train=True, noise=_noise(inputs, 1))
    loss = obj.d_loss(real_logits, fake_logits, **self.targets)
    m = {'d_loss': loss,
         'd_real': _mean_output(real_logits, obj.probabilistic),
         'd_fake': _mean_output(fake_logits, obj.probabilistic)}
    m.update(_when(measure, lambda: {
        'd_accuracy': _accuracy(real_logits, fake_logits, obj.threshold),
        'feature_diversity': _mean_pairwise_distance(fake_f) / jnp.maximum(
            _mean_pairwise_distance(real_f), 1e-12)}))
    critic = lambda x: models.apply(self.penalty_critic, d_params, ms, x, y, train=True,
                                    noise=_noise(inputs, 2))[0]
    if obj.penalty == 'gp':
      m['gp'] = self._gradient_penalty(d_params, ms, real, fake, inputs, critic)
      loss = loss + c.gp_weight * m['gp']
    if c.r1_gamma > 0:
      # Lazy R1 (Karras et al. 2020): every r1_every-th critic update, weighted r1_every times.
      m['r1'] = lax.cond(update % c.r1_every == 0,
                         lambda: objectives.r1_penalty(critic, real),
                         lambda: jnp.zeros((), real.dtype))
      loss = loss + 0.5 * c.r1_gamma * c.r1_every * m['r1']
    if c.d_drift > 0:  # ProGAN's drift term keeps a Wasserstein critic's scores near 0.
      m['drift'] = objectives.drift_penalty(real_logits)
      loss = loss + c.d_drift * m['drift']
    if c.dragan_weight > 0:
      u = models.pack(inputs['u'], m_pack)
      # std of the global batch: the mean of squares minus the squared mean, over devices.
      data_std = jnp.sqrt(jnp.maximum(
          _pmean(jnp.mean(real ** 2)) - _pmean(jnp.mean(real)) ** 2, 0.0))
      m['dragan'] = objectives.dragan_penalty(critic, real, u, inputs['eps'], data_std)
      loss = loss + c.dragan_weight * m['dragan']
    return loss, (ms, m)

  def _gradient_penalty(self, d_params, d_model_state, real, fake, inputs, critic):
    """WGAN-GP on packed real and fake batches: in the examples, scored with the real
    labels by `critic`; with permuted conditions, in the packed rows and condition one-hots
    together, each end with its own conditions (CTGAN's code)."""
    if not self.permuted_conditions:
      return objectives.gradient_penalty(critic, real, fake, inputs['eps'])
    one_hots = lambda labels: models.pack(  # noqa: E731
        jax.nn.one_hot(labels, self.config.num_classes, dtype=real.dtype), self.config.pac)
    scores = lambda xc: models.apply(  # noqa: E731
        self.penalty_critic, d_params, d_model_state, xc[0], xc[1], train=True,
        noise=_noise(inputs, 2))[0]
    return objectives.gradient_penalty(scores, (real, one_hots(inputs['y'])),
                                       (fake, one_hots(inputs['y_fake'])), inputs['eps'])

  def _critic_step(self, d_params, d_opt_state, d_model_state, real, fake, inputs, update,
                   measure):
    """One optimizer update of the critic, the `update`-th of the run; pure, so the unrolled
    generator loss can differentiate through it. Returns (params, opt_state, model_state,
    measurements)."""
    grads, (model_state, m) = jax.grad(self._d_loss, has_aux=True)(
        d_params, d_model_state, real, fake, inputs, update, measure)
    grads = _pmean(grads)
    params, opt_state, updates = _apply_gradients(self.d_tx, d_params, d_opt_state, grads)
    if self.objective.clip_weights:
      clip = self.config.wgan_clip
      params = jax.tree.map(lambda w: jnp.clip(w, -clip, clip), params)
    m.update(_when(measure, lambda: {'d_update_norm': optax.tree.norm(updates),
                                     'd_grad_norm': optax.tree.norm(grads),
                                     'd_param_norm': optax.tree.norm(params)}))
    return params, opt_state, _pmean(model_state), m

  def _noised(self, x, noise, std):
    return x if noise is None else x + std * noise

  def _critic_batch(self, g_params, state, inputs):
    """The (real, fake) batch a critic update judges, both instance-noised where enabled;
    the fakes are generated by `g_params` (see d_update for `inputs`)."""
    fake, _ = self._generate(g_params, state, inputs['z'], inputs.get('y_fake'))
    std = noise_std(self.config, state.step)
    return (self._noised(inputs['x'], inputs.get('noise_real'), std),
            self._noised(fake, inputs.get('noise_fake'), std))

  def d_update(self, state, inputs, index=0, measure=True):
    """One critic update on a real batch and fakes generated from latents.

    Args:
      state: the GANState (replicated).
      inputs: this device's shard of 'x' (real batch), 'z' (latents), 'eps' (penalty
        interpolation weights), for conditional models 'y' (real labels) and 'y_fake'
        (labels the fakes are generated for), and when enabled 'noise_real'/'noise_fake'
        (instance noise), 'u' (DRAGAN perturbations) and 'd_noise' (the critic's dropout
        keys, one uint32 pair per packed example).
      index: which of the step's n_critic critic updates this is.
      measure: whether to compute the diagnostics (see _when); the losses always are.
    Returns:
      (state, measurements) with the critic's parameters, model state and optimizer updated.
    """
    real, fake = self._critic_batch(state.g_params, state, inputs)
    params, opt_state, model_state, m = self._critic_step(
        state.d_params, state.d_opt_state, state.d_model_state, real,
        lax.stop_gradient(fake), inputs,
        state.step * self.config.n_critic + index, measure)
    state = state.replace(d_params=params, d_opt_state=opt_state, d_model_state=model_state)
    return state, _pmean(m)

  def _unrolled_critic(self, g_params, state, inputs):
    """The critic after `unrolled_steps` more updates with its real optimizer against the
    generator `g_params`, differentiable in g_params (Metz et al. 2017). Every look-ahead
    update repeats the step's last critic update on its batch and latents (`inputs`, see
    d_update), as the authors' reference code (poolio/unrolled_gan) unrolls on the step's
    own batch: one generator pass serves them all."""
    d_params, d_opt_state, d_ms = state.d_params, state.d_opt_state, state.d_model_state
    real, fake = self._critic_batch(g_params, state, inputs)
    for i in range(self.config.unrolled_steps):  # Not lax.scan: see per_device_step.
      # Numbered as the critic updates that would follow this step's n_critic.
      d_params, d_opt_state, d_ms, _ = self._critic_step(
          d_params, d_opt_state, d_ms, real, fake, inputs,
          (state.step + 1) * self.config.n_critic + i, measure=False)
    return d_params, d_ms

  def g_loss(self, g_params, state, inputs):
    """The generator's loss against the current (or unrolled) critic.

    Args:
      g_params: the generator parameters to differentiate.
      state: the GANState.
      inputs: see g_update.
    Returns:
      (loss, (generator model state, critic model state, measurements)).
    """
    c, obj = self.config, self.objective
    y_fake = inputs.get('y_fake')
    m, loss = {}, 0.0
    if self.condition_loss:
      fake, g_ms, m['condition_loss'] = models.apply_with_intermediate(
          self.g_model, g_params, state.g_model_state, inputs['z'], y_fake, train=True,
          name='condition_loss')
      loss = c.tabular.condition_weight * m['condition_loss']
    else:
      fake, g_ms = self._generate(g_params, state, inputs['z'], y_fake)
    if c.g_ortho > 0:
      m['ortho'] = objectives.orthogonal_penalty(g_params)
      loss = loss + c.g_ortho * m['ortho']
    if self.path_length:  # Lazy: every pl_every-th step, weighted pl_every times.
      s = c.stylegan
      m['pl_penalty'], g_ms = lax.cond(
          state.step % s.pl_every == 0,
          lambda: stylegan2.path_length_penalty(self.g_model, g_params, g_ms, inputs['z'],
                                                inputs['pl_noise'], s.pl_decay, _pmean),
          lambda: (jnp.zeros((), jnp.float32), g_ms))
      loss = loss + s.pl_weight * s.pl_every * m['pl_penalty']
    d_params, d_ms = state.d_params, state.d_model_state
    if 'unroll' in inputs:
      d_params, d_ms = self._unrolled_critic(g_params, state, inputs['unroll'])
    fake = models.pack(self._noised(fake, inputs.get('noise'), noise_std(c, state.step)),
                       c.pac)
    fake_logits, new_d_ms, fake_f = models.apply_with_features(
        self.d_model, d_params, d_ms, fake, y_fake, train=True, noise=_noise(inputs, 1))
    if c.g_adversarial:
      m['g_adv_loss'] = obj.g_loss(fake_logits)
      loss = loss + m['g_adv_loss']
    if c.feature_matching > 0:
      real = models.pack(inputs['x'], c.pac)
      _, _, real_f = models.apply_with_features(self.d_model, d_params, d_ms, real,
                                                inputs.get('y'), train=True,
                                                noise=_noise(inputs, 0))
      # Means over the global batch, so a sharded step matches one device.
      m['feature_matching'] = jnp.sum(
          (_pmean(jnp.mean(real_f, 0)) - _pmean(jnp.mean(fake_f, 0))) ** 2)
      loss = loss + c.feature_matching * m['feature_matching']
    # An unrolled critic's state changes are hypothetical: the real critic keeps its own.
    return loss, (g_ms, state.d_model_state if 'unroll' in inputs else new_d_ms, m)

  def g_update(self, state, inputs, measure=True):
    """One generator update against the current (or unrolled) critic; advances the EMA.

    Args:
      state: the GANState.
      inputs: this device's shard of 'z', 'x' (a real batch, for feature matching), for
        conditional models 'y_fake' and 'y', 'noise' (instance noise) when enabled, and
        'unroll' (the inputs of the step's last critic update, see d_update) for an
        unrolled GAN.
      measure: whether to compute the norms (see _when); the loss always is.
    Returns:
      (state, measurements).
    """
    c = self.config
    (loss, (g_ms, d_ms, m)), grads = jax.value_and_grad(self.g_loss, has_aux=True)(
        state.g_params, state, inputs)
    grads = _pmean(grads)
    params, opt_state, updates = _apply_gradients(
        self.g_tx, state.g_params, state.g_opt_state, grads)
    ema = state.ema_params
    if ema is not None:
      ema = optim.ema_update(ema, params, decay=c.ema_decay, step=state.step,
                             start=c.ema_start)
    state = state.replace(g_params=params, g_opt_state=opt_state, ema_params=ema,
                          g_model_state=_pmean(g_ms), d_model_state=_pmean(d_ms))
    m['g_loss'] = loss
    m.update(_when(measure, lambda: {'g_grad_norm': optax.tree.norm(grads),
                                     'g_update_norm': optax.tree.norm(updates),
                                     'g_param_norm': optax.tree.norm(params)}))
    return state, _pmean(m)

  def per_device_step(self, state, critic_inputs, generator_inputs, measure=True):
    """n_critic critic updates then one generator update against the updated critic, or
    with update_order='simultaneous' both updates from the same point, on this device's
    shard.

    Args:
      state: the GANState.
      critic_inputs: dict of arrays with leading axis n_critic, one slice per critic update
        (see d_update).
      generator_inputs: dict of arrays for the generator update (see g_update).
      measure: whether to compute the diagnostics (a bool, traced or not; see _when).
    Returns:
      (state, measurements); critic measurements are those of the last critic update.
    """
    if self.config.update_order == 'simultaneous':
      return self._simultaneous_step(state, critic_inputs, generator_inputs, measure)
    # A Python loop, not lax.scan: inside a scan, XLA:CPU lowers the critic's weight-gradient
    # convolutions to a slow generic kernel (DCGAN64 steps ran 10x slower).
    n = self.config.n_critic
    for i in range(n):  # Only the last critic update's measurements are returned.
      state, d_m = self.d_update(state, jax.tree.map(lambda v, i=i: v[i], critic_inputs), i,
                                 measure if i == n - 1 else False)
    state, g_m = self.g_update(state, generator_inputs, measure)
    return state, {**d_m, **g_m}

  def _simultaneous_step(self, state, critic_inputs, generator_inputs, measure):
    """One critic and one generator update, both from `state`'s parameters: the ALI
    algorithm the PacGAN reference trains with, one gradient of both losses. The generator
    is judged on the critic's fakes: their latents, labels, instance noise and the critic's
    dropout keys replace its own draws. The critic keeps the model state of its own update."""
    critic = jax.tree.map(lambda v: v[0], critic_inputs)
    fakes = {'z': 'z', 'y_fake': 'y_fake', 'noise': 'noise_fake', 'd_noise': 'd_noise'}
    generator_inputs = {**generator_inputs,
                        **{g: critic[d] for g, d in fakes.items() if d in critic}}
    d_state, d_m = self.d_update(state, critic, 0, measure)
    state, g_m = self.g_update(state, generator_inputs, measure)
    state = state.replace(d_params=d_state.d_params, d_opt_state=d_state.d_opt_state,
                          d_model_state=d_state.d_model_state)
    return state, {**d_m, **g_m}

  def label_critic_fakes(self, inputs):
    """Sets the labels of the critic's fakes from the real ones, where the config asks:
    the same labels (fakes_for_real_labels) or their permutation (permuted conditions,
    popping draw_randomness's inputs['permutation']). `inputs` holds 'y' of shape
    (updates, batch_size); it is changed in place."""
    if self.fakes_for_real_labels:
      inputs['y_fake'] = inputs['y']
    if self.permuted_conditions:
      inputs['y_fake'] = jnp.take_along_axis(inputs['y'], inputs.pop('permutation'), axis=1)

  def draw_randomness(self, state, batch_size, sample_shape):
    """Latents, fake labels, penalty weights and noise of step `state.step`, global batch.

    Args:
      state: the GANState.
      batch_size: the global batch size.
      sample_shape: shape of one data sample (for instance noise and DRAGAN).
    Returns:
      (critic_inputs, generator_inputs) dicts without the real data. With permuted
      conditions, critic_inputs['permutation'] (n_critic, batch_size) orders the real labels
      into the critic's fake labels.
    """
    c = self.config
    keys = _step_keys(jax.random.fold_in(state.key, state.step))
    n_d = c.n_critic

    def labels(shape):
      if self.label_logits is None:
        return jax.random.randint(next(keys), shape, 0, c.num_classes)
      return jax.random.categorical(next(keys), self.label_logits, shape=shape)

    critic = {'z': jax.random.normal(next(keys), (n_d, batch_size, c.z_dim)),
              'eps': jax.random.uniform(next(keys), (n_d, batch_size // c.pac))}
    if c.num_classes:
      critic['y_fake'] = labels((n_d, batch_size))
    if c.dragan_weight > 0:
      critic['u'] = jax.random.uniform(next(keys), (n_d, batch_size) + sample_shape)
    if self.critic_noise:
      critic['d_noise'] = jax.random.bits(next(keys), (n_d, batch_size // c.pac, 2),
                                          jnp.uint32)
    generator = {'z': jax.random.normal(next(keys), (batch_size, c.z_dim))}
    if c.num_classes:
      generator['y_fake'] = labels((batch_size,))
    if self.critic_noise:
      generator['d_noise'] = jax.random.bits(next(keys), (batch_size // c.pac, 2), jnp.uint32)
    if self.path_length:
      generator['pl_noise'] = jax.random.normal(next(keys), (batch_size,) + sample_shape)
    if c.instance_noise > 0:
      noise = lambda shape: jax.random.normal(next(keys), shape + sample_shape)  # noqa: E731
      critic['noise_real'] = noise((n_d, batch_size))
      critic['noise_fake'] = noise((n_d, batch_size))
      generator['noise'] = noise((batch_size,))
    if self.permuted_conditions:  # Drawn late: the other draws keep their keys.
      critic['permutation'] = jax.vmap(lambda key: jax.random.permutation(key, batch_size))(
          jax.random.split(next(keys), n_d))
    return critic, generator


def make_train_step(config, g_model, d_model, g_tx, d_tx, mesh, label_logits=None,
                    schedule=None, stage=0):
  """Builds the jit-compiled, data-parallel train step.

  Args:
    config: experiment config.
    g_model, d_model: generator and critic modules.
    g_tx, d_tx: their optimizers.
    mesh: a mesh with a 'data' axis; the state is replicated over it, batches are sharded.
    label_logits: log-probabilities of the generator's labels (None: uniform).
    schedule: a progressive run's progressive.Schedule, or None.
    stage: the stage the (progressive) models are built for: the real images are shown to
      the critic at its resolution, faded in with the state's alpha.
  Returns:
    train_step(state, batch, measure=True) -> (state, measurements), with `state` donated.
    `batch['x']` has shape (n_critic, global_batch, ...); `batch['y']` (n_critic,
    global_batch) holds the labels when the models are conditional. `measure` (a bool)
    says whether the diagnostics (norms, accuracy, feature diversity) are wanted: where
    skips_diagnostics(mesh), a False step leaves them NaN; elsewhere they are always
    computed. The losses and penalties are always measured. Passing `measure`, even as True,
    compiles one program that serves both; leaving it out compiles one that measures. With
    config.num_seeds > 1 the state, the batch and the measurements have a leading seed
    axis, and the step is vmapped over it.
  """
  fns = StepFunctions(config, g_model, d_model, g_tx, d_tx, label_logits)
  # check_vma=False gives pmap's semantics: a gradient taken on one device is that device's
  # gradient, averaged explicitly with pmean. (With varying-manual-axes checking, JAX would
  # already sum gradients of replicated parameters over devices in the transpose.)
  generator_spec = {'z': P(DATA_AXIS), 'x': P(DATA_AXIS), 'y': P(DATA_AXIS),
                    'y_fake': P(DATA_AXIS), 'noise': P(DATA_AXIS), 'd_noise': P(DATA_AXIS),
                    'pl_noise': P(DATA_AXIS),
                    'unroll': P(DATA_AXIS)}

  def sharded_step(state, critic_inputs, generator_inputs, measure):
    specs = {k: generator_spec[k] for k in generator_inputs}
    return jax.shard_map(
        lambda *args: fns.per_device_step(*args, measure), mesh=mesh,
        in_specs=(P(), P(None, DATA_AXIS), specs),
        out_specs=(P(), P()), check_vma=False)(state, critic_inputs, generator_inputs)

  def one_seed_step(state, batch, measure):
    n = config.n_critic
    if schedule is not None:
      batch = {**batch, 'x': schedule.real_images(batch['x'], stage,
                                                  schedule.alpha(state.step))}
    critic_inputs, generator_inputs = fns.draw_randomness(
        state, batch['x'].shape[1], batch['x'].shape[2:])
    critic_inputs['x'] = batch['x']
    generator_inputs['x'] = batch['x'][n - 1]  # The last critic batch, for feature matching.
    if config.num_classes:
      critic_inputs['y'] = batch['y']
      generator_inputs['y'] = batch['y'][n - 1]
      fns.label_critic_fakes(critic_inputs)
    if config.unrolled_steps:
      generator_inputs['unroll'] = jax.tree.map(lambda v: v[n - 1], critic_inputs)
    state, measurements = sharded_step(state, critic_inputs, generator_inputs, measure)
    state = state.replace(step=state.step + 1)
    return (state if schedule is None else schedule.with_alpha(state)), measurements

  skips = skips_diagnostics(mesh)

  def train_step(state, batch, measure=True):
    measure = measure if skips else True
    return seeds.vmap(config, one_seed_step, in_axes=(0, 0, None))(state, batch, measure)

  return jax.jit(train_step, donate_argnums=0)
