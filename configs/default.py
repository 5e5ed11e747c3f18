"""Defaults shared by every experiment; each experiment's get_config starts from these.

Fields every experiment has:
  seed: the run is a pure function of (config, seed).
  dataset: data name: ring8, grid25 (2-D mixtures), mnist5k, digits8x8 (bundled real images)
    or any TensorFlow Datasets image dataset (mnist, cifar10, celeb_a, svhn_cropped, ...).
  data_split, data_dir: the tfds split and data directory ('' for tfds's default).
  image_shape: (H, W, C) the models are built for; () takes it from the data. Image configs
    set it, so pointing one at data of another shape is an error, not a different network.
  model: mlp, dcgan (28/32/64 px) or resnet (SNGAN, 32 px).
  g_width, d_width: base widths of the image models (DCGAN 64/64, SNGAN ResNet 256/128).
  d_norm: critic normalisation: batch, layer, spectral or none (dcgan); spectral or none
    (resnet); none (mlp).
  num_classes: > 0 trains a class-conditional GAN (cGAN for dcgan, conditional BN and a
    projection critic for resnet); must equal the dataset's number of classes.
  sync_batch_stats: average batch-norm statistics over all devices (results then match one
    device); False keeps them per device.
  loss: objective: minimax, ns, wgan, wgan_gp, hinge, lsgan.
  num_steps: training steps; one step is n_critic critic updates and one generator update.
  batch_size: global batch size, split over all devices.
  n_critic: critic updates per generator update.
  g_lr, d_lr: the two learning rates (TTUR).
  g_betas, d_betas: Adam (beta1, beta2); DCGAN's (0.5, 0.999) by default.
  g_schedule, d_schedule: learning-rate schedule: constant, linear or cosine decay to 0.
  optimizer: adam or rmsprop (for both networks).
  g_grad_clip, d_grad_clip: clip each network's global gradient norm; 0 disables.
  skip_nonfinite_updates: skip optimizer updates whose gradients are NaN or inf.
  z_dim: latent dimension.
  gp_weight: lambda of the WGAN-GP gradient penalty (loss=wgan_gp).
  wgan_clip: critic weight-clipping bound (loss=wgan).
  r1_gamma: weight gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real data; 0 disables.
  ema_decay, ema_start: EMA of generator weights used for evaluation; decay 0 disables.
  log_every: steps between fetches of the measurements (the only host sync).
  eval_every: steps between evaluations (the `evals` list).
  checkpoint_every: steps between checkpoints.
  keep_checkpoints: how many of the latest checkpoints to keep.
  best_metric, best_mode, keep_best: keep the keep_best evaluated states with the lowest
    ('min') or highest ('max') value of this evaluation metric in checkpoints_best/; ''
    disables it.
  evals: evaluator names run every eval_every steps: modes (2-D mixtures), grid (a sample
    grid PNG of images, one class per row when conditional).
  num_eval_samples: generated samples per evaluation.
  mlp: width, depth and activation of the MLP generator and critic.
"""
import ml_collections


def get_config():
  """Returns the default config."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.dataset = 'ring8'
  c.data_split = 'train'
  c.data_dir = ''
  c.image_shape = ()
  c.model = 'mlp'
  c.g_width = 64
  c.d_width = 64
  c.d_norm = 'none'
  c.num_classes = 0
  c.sync_batch_stats = True
  c.loss = 'ns'
  c.num_steps = 10_000
  c.batch_size = 256
  c.n_critic = 1
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.g_betas = (0.5, 0.999)
  c.d_betas = (0.5, 0.999)
  c.g_schedule = 'constant'
  c.d_schedule = 'constant'
  c.optimizer = 'adam'
  c.g_grad_clip = 0.0
  c.d_grad_clip = 0.0
  c.skip_nonfinite_updates = False
  c.z_dim = 64
  c.gp_weight = 10.0
  c.wgan_clip = 0.01
  c.r1_gamma = 0.0
  c.ema_decay = 0.0
  c.ema_start = 0
  c.log_every = 500
  c.eval_every = 2_000
  c.checkpoint_every = 5_000
  c.keep_checkpoints = 3
  c.best_metric = ''
  c.best_mode = 'max'
  c.keep_best = 2
  c.evals = ('modes',)
  c.num_eval_samples = 2_500
  c.mlp = ml_collections.ConfigDict(dict(width=128, depth=3, activation='relu'))
  return c
