"""Progressive GAN: the fade-in against its definition, the schedule in closed form, the
critic's real images against numpy, the drift term, exact mid-stage resume, one compile per
stage, and the config's refusals."""
import json
import math
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from configs import progan as progan_config
from gan_jax import models, objectives, progressive, train, validation
from gan_jax.models import progan
from tests.helpers import apply, init, restored_state


def _config(**overrides):
  c = progan_config.get_config('mnist32,smoke')
  for k, v in overrides.items():
    c[k] = v
  return c


def _init(stage, resolution=16, channels=1, width=8):
  """A 16x16 ProGAN pair at `stage`, with the parameters of every stage."""
  c = _config()
  c.g_width = c.d_width = width
  full_g, full_d = progan.build(c, (resolution, resolution, channels))
  key_g, key_d = jax.random.split(jax.random.key(0))
  g_params, g_state = init(full_g, key_g, jnp.zeros((1, c.z_dim)))
  d_params, d_state = init(full_d, key_d, jnp.zeros((4, resolution, resolution, channels)))
  return (full_g.clone(stage=stage), g_params, g_state,
          full_d.clone(stage=stage), d_params, d_state, c.z_dim)


def _with_alpha(model_state, alpha):
  return {**model_state, progan.FADE: {'alpha': jnp.float32(alpha)}}


def _rng_images(n=8, size=16, channels=1, seed=1):
  return jnp.asarray(np.random.default_rng(seed).uniform(-1, 1, (n, size, size, channels)),
                     jnp.float32)


def test_every_stage_uses_the_parameters_created_at_initialisation():
  full = _init(stage=2)
  g, g_params, g_state, d, d_params, d_state, _ = full
  for stage in range(3):
    # Applying any stage to the full tree must neither need nor create parameters.
    x = jax.jit(lambda p, m: g.clone(stage=m).apply({'params': p, **g_state},
                                                    jnp.ones((2, full[-1]))),
                static_argnums=1)(g_params, stage)
    assert x.shape == (2, 16, 16, 1)
    out = jax.jit(lambda p, x, m: d.clone(stage=m).apply({'params': p, **d_state}, x),
                  static_argnums=2)(d_params, x, stage)
    assert out.shape == (2,)
  assert {'b4_torgb', 'b8_torgb', 'b16_torgb'} <= set(g_params)
  assert {'b4_fromrgb', 'b8_fromrgb', 'b16_fromrgb'} <= set(d_params)


@pytest.mark.parametrize('stage', [1, 2])
def test_fade_in_at_alpha_0_is_the_smaller_network_and_linear_in_alpha(stage):
  g, g_params, g_state, d, d_params, d_state, z_dim = _init(stage)
  z = jax.random.normal(jax.random.key(3), (8, z_dim))
  images = _rng_images()
  smaller_g, smaller_d = g.clone(stage=stage - 1), d.clone(stage=stage - 1)
  gen = lambda m, a: apply(m, g_params, _with_alpha(g_state, a), z, train=False)[0]
  crit = lambda m, a: apply(m, d_params, _with_alpha(d_state, a), images, train=False)[0]
  np.testing.assert_allclose(gen(g, 0.0), gen(smaller_g, 1.0), rtol=1e-5, atol=1e-5)
  np.testing.assert_allclose(crit(d, 0.0), crit(smaller_d, 1.0), rtol=1e-4, atol=1e-4)
  # The image and the critic's blended features are linear in alpha.
  np.testing.assert_allclose(gen(g, 0.3), 0.7 * gen(g, 0.0) + 0.3 * gen(g, 1.0),
                             rtol=1e-5, atol=1e-5)


@pytest.mark.parametrize('stage', [1, 2])
def test_at_alpha_1_the_previous_stage_no_longer_counts(stage):
  g, g_params, g_state, d, d_params, d_state, z_dim = _init(stage)
  z = jax.random.normal(jax.random.key(4), (8, z_dim))
  images = _rng_images(seed=2)
  prev = f'b{4 * 2 ** (stage - 1)}'
  scramble = lambda p, name: {**p, name: jax.tree.map(lambda w: w + 1.0, p[name])}
  g_state1, d_state1 = _with_alpha(g_state, 1.0), _with_alpha(d_state, 1.0)
  gen = lambda p: apply(g, p, g_state1, z, train=False)[0]
  crit = lambda p: apply(d, p, d_state1, images, train=False)[0]
  np.testing.assert_array_equal(gen(g_params), gen(scramble(g_params, f'{prev}_torgb')))
  np.testing.assert_array_equal(crit(d_params), crit(scramble(d_params, f'{prev}_fromrgb')))
  # ... while at alpha 0.5 both stages count.
  g_half = _with_alpha(g_state, 0.5)
  assert not np.allclose(
      apply(g, g_params, g_half, z, train=False)[0],
      apply(g, scramble(g_params, f'{prev}_torgb'), g_half, z, train=False)[0])


def test_generator_features_are_pixel_normalised_and_layers_he_scaled():
  g, g_params, g_state, *_, z_dim = _init(stage=1)
  z = jax.random.normal(jax.random.key(5), (4, z_dim))
  _, inter = g.apply({'params': g_params, **_with_alpha(g_state, 1.0)}, z,
                     capture_intermediates=True)
  out = lambda name: np.asarray(inter['intermediates'][name]['__call__'][0], np.float64)
  # The last convolution's output -> leaky ReLU -> pixel norm -> toRGB (1x1, gain 1).
  h = np.where(out('b8_conv1') > 0, 1.0, 0.2) * out('b8_conv1')
  normed = h / np.sqrt(np.mean(h ** 2, axis=-1, keepdims=True) + 1e-8)
  rgb = g_params['b8_torgb']
  want = normed @ (np.asarray(rgb['kernel'], np.float64)[0, 0] / math.sqrt(h.shape[-1]))
  np.testing.assert_allclose(out('b8_torgb'), want + np.asarray(rgb['bias']), rtol=1e-4,
                             atol=1e-5)
  # The 4x4 dense layer's run-time gain: sqrt(2) / 4 / sqrt(z_dim), ProGAN's, on the
  # pixel-normalised latents.
  zn = np.asarray(z, np.float64)
  zn = zn / np.sqrt(np.mean(zn ** 2, axis=-1, keepdims=True) + 1e-8)
  kernel = np.asarray(g_params['b4_dense']['kernel'], np.float64)
  np.testing.assert_allclose(out('b4_dense'), zn @ kernel * math.sqrt(2) / 4 / math.sqrt(z_dim),
                             rtol=1e-4, atol=1e-5)


def test_schedule_stages_alphas_and_phase_starts_in_closed_form():
  c = _config()
  c.progan.stable_steps, c.progan.fade_steps = 10, 4
  s = progressive.Schedule(c, 32)  # Stages 4, 8, 16, 32: stage k fades at 10 + 14 (k - 1).
  stages = [s.stage(t) for t in range(60)]
  assert stages == [0] * 10 + [1] * 14 + [2] * 14 + [3] * 22
  want = np.ones(60)
  for start in (10, 24, 38):
    want[start:start + 4] = np.arange(4) / 4
  np.testing.assert_allclose(np.asarray(jax.vmap(s.alpha)(jnp.arange(60))), want, rtol=1e-6)
  assert s.phase_starts == (10, 14, 24, 28, 38, 42)
  c.progan.fade_steps = 0
  s = progressive.Schedule(c, 32)
  assert s.phase_starts == (10, 20, 30)
  assert float(s.alpha(10)) == 1.0 and s.stage(10) == 1


def _box(x, f):
  n, h, w, c = x.shape
  return x.reshape(n, h // f, f, w // f, f, c).mean(axis=(2, 4))


def _nearest(x, f):
  return x.repeat(f, axis=1).repeat(f, axis=2)


@pytest.mark.parametrize('alpha', [0.0, 0.25, 1.0])
def test_the_critics_real_images_are_box_filtered_and_faded_as_process_reals(alpha):
  x = np.random.default_rng(6).uniform(-1, 1, (3, 16, 16, 2))
  s = progressive.Schedule(_config(), 16)
  got = s.real_images(jnp.asarray(x[None], jnp.float32), 1, jnp.float32(alpha))[0]
  at8 = _box(x, 2)
  want = _nearest((1 - alpha) * _nearest(_box(at8, 2), 2) + alpha * at8, 2)
  np.testing.assert_allclose(got, want, rtol=1e-5, atol=1e-6)
  np.testing.assert_allclose(s.real_images(jnp.asarray(x, jnp.float32), 2, jnp.float32(alpha)),
                             x if alpha == 1.0 else
                             (1 - alpha) * _nearest(_box(x, 2), 2) + alpha * x,
                             rtol=1e-5, atol=1e-6)


def test_drift_penalty_is_the_mean_squared_real_score():
  logits = np.array([0.5, -2.0, 3.0, 0.0])
  assert float(objectives.drift_penalty(jnp.asarray(logits))) == pytest.approx(
      np.mean(logits ** 2))


def _digits_config(**overrides):
  """ProGAN on the 8x8 digits: stages 4 and 8, two steps each phase."""
  settings = dict(dataset='digits8x8', image_shape=(8, 8, 1), num_steps=8, log_every=1,
                  eval_every=8, checkpoint_every=8, evals=())
  c = _config(**{**settings, **overrides})
  c.progan.stable_steps = c.progan.fade_steps = 2
  c.g_width = c.d_width = 8
  return c


def _events(workdir):
  with open(os.path.join(workdir, 'metrics.jsonl'), encoding='utf-8') as f:
    records = [json.loads(line) for line in f]
  for r in records:
    r.pop('steps_per_sec', None)
  return ([r for r in records if r['event'] == 'train'],
          [(r['step'], r['stage'], r['resolution']) for r in records if r['event'] == 'stage'])


def test_a_run_stopped_mid_stage_resumes_exactly_and_compiles_once_per_stage(tmp_path):
  # Stage 1 fades in over steps 2-3 and is stable from 4: the stop at 4 falls between its
  # phases, where both optimizers are reset.
  resumed, straight = str(tmp_path / 'resumed'), str(tmp_path / 'straight')
  train.train_and_evaluate(_digits_config(num_steps=4), resumed)
  train.train_and_evaluate(_digits_config(), resumed)
  train.train_and_evaluate(_digits_config(), straight)
  a, b = restored_state(_digits_config(), resumed), restored_state(_digits_config(), straight)
  for x, y in zip(jax.tree.leaves(a), jax.tree.leaves(b)):
    np.testing.assert_array_equal(np.asarray(x), np.asarray(y))
  assert float(b.g_model_state[progan.FADE]['alpha']) == 1.0
  records_a, stages_a = _events(resumed)
  records_b, stages_b = _events(straight)
  assert records_a == records_b
  # 1-based step numbers: stage 1 trains from step 3 (0-based 2); the resumed segment
  # compiles its stage again at its first step.
  assert stages_b == [(1, 0, 4), (3, 1, 8)]
  assert stages_a == [(1, 0, 4), (3, 1, 8), (5, 1, 8)]


def _adam_count(opt_state):
  """The optimizer's update count (Adam's and its schedule's, which agree)."""
  counts = {int(v) for _, v in optax.tree_utils.tree_get_all_with_path(opt_state, 'count')}
  assert len(counts) == 1
  return counts.pop()


def test_each_stage_step_compiles_once_and_optimizers_reset_at_phase_starts():
  c = _digits_config(num_steps=6)
  run = train.Run(c)
  compiled = {}
  for step in range(c.num_steps):
    run.begin_step(step)
    if step in run.schedule.phase_starts:
      assert _adam_count(run.state.g_opt_state) == _adam_count(run.state.d_opt_state) == 0
    run.state, _ = run.train_step(run.state, run.dataset.batch_at(step))
    compiled[run.stage] = run.train_step
  assert [f._cache_size() for f in compiled.values()] == [1, 1]  # pylint: disable=protected-access
  # Adam counts the updates since the last phase start (step 4).
  assert _adam_count(run.state.g_opt_state) == 2


@pytest.mark.parametrize('overrides, message', [
    ({'num_classes': 10}, 'unconditional'),
    ({'d_minibatch': 'stddev'}, 'own minibatch std-dev'),
    ({'g_schedule': 'linear'}, 'reset'),
    ({'progan.fade_steps': -1}, 'progan.fade_steps'),
    ({'progan.stable_steps': 0}, 'progan.stable_steps'),
    ({'d_drift': -0.1}, 'd_drift'),
])
def test_bad_progan_settings_are_one_line_errors(overrides, message):
  c = _config()
  for k, v in overrides.items():
    if '.' in k:
      group, field = k.split('.')
      c[group][field] = v
    else:
      c[k] = v
  with pytest.raises(validation.ConfigError, match=message) as e:
    validation.validate(c)
  assert '\n' not in str(e.value)


def test_progan_refuses_images_that_do_not_double_from_4x4():
  with pytest.raises(ValueError, match='power-of-two'):
    models.check_data_shape('progan', (28, 28, 1))
