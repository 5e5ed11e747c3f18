"""Quickstart: a GAN on the 8-Gaussian ring that captures all 8 modes in about a minute on CPU.

  python -m gan_jax.main --config=configs/quickstart.py --workdir=runs/quickstart
  python -m gan_jax.main --config=configs/quickstart.py:smoke --workdir=runs/smoke  # 20 steps

Why these settings (chosen by a sweep over 10k-20k steps on the 2-core CPU, see the note of
the foundation issue): a plain non-saturating GAN collapses to one mode here, hinge and LSGAN
to two or four, and WGAN-GP covers the ring only as a blur (about 0% of samples within 3 std).
- R1 on real data (r1_gamma=0.1) keeps the discriminator from growing steep walls around the
  modes it has seen, which is what pushes the non-saturating generator onto a single mode;
  with it every mode is captured within the first few thousand steps.
- A 2-D latent (z_dim=2) for 2-D data leaves the generator no spare directions to scatter
  samples off the modes: 95% high-quality samples against 91% with z_dim=8.
- Batch 128 with learning rates 5e-4 gives more updates per second than batch 256 at 2e-4
  and reaches higher quality in the same time.
- EMA of the generator (0.999) averages out the last oscillations of the game; evaluation
  uses the EMA weights.
"""
from configs import default


def get_config(arg=None):
  """Returns the quickstart config; `arg='smoke'` gives a seconds-long variant for tests."""
  c = default.get_config()
  c.dataset = 'ring8'
  c.model = 'mlp'
  c.loss = 'ns'
  c.r1_gamma = 0.1
  c.z_dim = 2
  c.num_steps = 20_000
  c.batch_size = 128
  c.g_lr = 5e-4
  c.d_lr = 5e-4
  c.ema_decay = 0.999
  c.log_every = 1_000
  c.eval_every = 5_000
  c.checkpoint_every = 5_000
  c.best_metric = 'hq_fraction'
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
