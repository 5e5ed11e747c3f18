"""Quickstart: a GAN on the 8-Gaussian ring that captures all eight modes in about a minute on CPU.

  python -m gan_jax.main --config=configs/quickstart.py --workdir=runs/quickstart
  python -m gan_jax.main --config=configs/quickstart.py:smoke --workdir=runs/smoke   # 20 steps

Why these settings: TODO after sweep.
"""
from configs import default


def get_config(arg=None):
  """Returns the quickstart config; `arg='smoke'` gives a seconds-long variant for tests."""
  c = default.get_config()
  c.dataset = 'ring8'
  c.model = 'mlp'
  c.loss = 'ns'
  c.num_steps = 10_000
  c.batch_size = 256
  c.ema_decay = 0.999
  c.log_every = 1_000
  c.eval_every = 2_500
  c.checkpoint_every = 5_000
  if arg == 'smoke':
    c.num_steps = 20
    c.batch_size = 32
    c.log_every = 5
    c.eval_every = 10
    c.checkpoint_every = 10
    c.num_eval_samples = 256
  elif arg:
    raise ValueError(f"unknown config argument {arg!r}; allowed: 'smoke' or none")
  return c
