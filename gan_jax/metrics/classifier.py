"""A small digit classifier trained on the bundled real MNIST digits, for an offline
class-conditional Inception Score ("MNIST score"): the Inception network has no class
logits unless pytorch-fid's fc weights are supplied.

The score it gives is *not* the Inception Score of the literature: it measures how
confidently and how evenly a digit classifier recognises the samples (at most 10).
"""
import json
import os

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import linen as nn

from gan_jax.data import bundled
from gan_jax.metrics import inception_weights, param_files

DATASET = 'mnist5k'
IMAGE_SHAPE = (28, 28, 1)
HELD_OUT = 1_000


class DigitClassifier(nn.Module):
  """uint8 (n, 28, 28, 1) digits -> 10 logits."""

  @nn.compact
  def __call__(self, images):
    x = images.astype(jnp.float32) / 127.5 - 1.0
    for width in (32, 64):
      x = nn.relu(nn.Conv(width, (3, 3))(x))
      x = nn.avg_pool(x, (2, 2), (2, 2))
    x = nn.relu(nn.Dense(128)(x.reshape(x.shape[0], -1)))
    return nn.Dense(10)(x)


def default_path():
  """Where the trained classifier is cached."""
  return os.path.join(inception_weights.cache_dir(), f'classifier_{DATASET}.npz')


def split(seed=0):
  """(train images, train labels, held-out images, held-out labels) of mnist5k, shuffled
  (the file is sorted by label) with a fixed seed; the last HELD_OUT are held out."""
  images, labels, _ = bundled.mnist5k()
  order = np.random.default_rng(seed).permutation(len(images))
  images, labels = images[order], labels[order]
  return (images[:-HELD_OUT], labels[:-HELD_OUT], images[-HELD_OUT:], labels[-HELD_OUT:])


def train(*, epochs=8, batch_size=64, lr=1e-3, seed=0, log=print):
  """Trains the classifier on mnist5k's training part.

  Returns:
    (params, held-out accuracy).
  """
  x_train, y_train, x_test, y_test = split()
  model = DigitClassifier()
  params = model.init(jax.random.PRNGKey(seed), x_train[:1])['params']
  tx = optax.adam(lr)
  opt_state = tx.init(params)

  @jax.jit
  def step(params, opt_state, x, y):
    def loss_fn(p):
      logits = model.apply({'params': p}, x)
      return optax.softmax_cross_entropy_with_integer_labels(logits, y).mean()
    loss, grads = jax.value_and_grad(loss_fn)(params)
    updates, opt_state = tx.update(grads, opt_state)
    return optax.apply_updates(params, updates), opt_state, loss

  rng = np.random.default_rng(seed)
  for epoch in range(epochs):
    order = rng.permutation(len(x_train))
    for i in range(0, len(order) - batch_size + 1, batch_size):
      idx = order[i:i + batch_size]
      params, opt_state, loss = step(params, opt_state, x_train[idx], y_train[idx])
    log(f'classifier epoch {epoch + 1}/{epochs}: loss {float(loss):.4f}')
  return params, accuracy(params, x_test, y_test)


def accuracy(params, images, labels):
  """Share of `images` classified as `labels`."""
  logits = jax.jit(DigitClassifier().apply)({'params': params}, images)
  return float(np.mean(np.argmax(np.asarray(logits), -1) == labels))


def save(path, params, held_out_accuracy):
  """Writes the classifier's weights and its held-out accuracy."""
  arrays = param_files.flatten(params)
  arrays['held_out_accuracy'] = np.float64(held_out_accuracy)
  arrays['metadata'] = np.array(json.dumps({'dataset': DATASET, 'held_out': HELD_OUT}))
  param_files.save_npz(path, arrays)


def load_or_train(path=None, log=print):
  """The classifier's params and held-out accuracy, training and caching it if needed.

  Args:
    path: the classifier file; None for the default cache path.
    log: where progress lines go.
  Returns:
    (params, held_out_accuracy).
  """
  path = path or default_path()
  if not os.path.isfile(path):
    log(f'training the {DATASET} digit classifier for the Inception Score -> {path}')
    params, acc = train(log=log)
    save(path, params, acc)
  with np.load(path) as f:
    flat = {k: f[k] for k in f.files if k not in ('held_out_accuracy', 'metadata')}
    acc = float(f['held_out_accuracy'])
  return param_files.unflatten(flat), acc
