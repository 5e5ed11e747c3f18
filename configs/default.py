"""Defaults shared by every experiment; each experiment's get_config starts from these.

Fields every experiment has:
  seed: the run is a pure function of (config, seed).
  num_seeds: N > 1 trains N independent runs, seeds seed .. seed+N-1, as one compiled
    program (the state carries a leading seed axis; the step is vmapped over it). Seed k's
    numbers equal a single run with seed+k; records in metrics.jsonl name their seed, one
    checkpoint holds all seeds, and the summary gives each seed's values and mean +- std.
  dataset: data name: ring8, grid25 (2-D mixtures), mnist5k, mnist5k32 (padded to 32x32),
    digits8x8 (bundled real images),
    stacked_mnist (three bundled digits as the channels of one image: 1,000 modes),
    folder:PATH (a folder of PNG/JPEG files; class subfolders become labels) or any
    TensorFlow Datasets image dataset (mnist, cifar10, celeb_a, svhn_cropped, ...).
  data_radius: ring8's radius, the distance of its modes from the origin (0: the default, 2;
    PacGAN's reference uses 1). Only ring8 has one: grid25's modes are fixed at
    {-4, -2, 0, 2, 4}^2, so a non-zero value with any other dataset is refused.
  data_std: the standard deviation of every component of ring8 or grid25 (0: the default,
    0.02 and 0.05; PacGAN's ring uses 0.01). The modes evaluator's high-quality radius,
    3 std, follows it. Refused (non-zero) for the image datasets.
  data_split, data_dir: the tfds split and data directory ('' for tfds's default).
  data_resize: folder datasets: centre-crop and resize images whose size differs from
    image_shape (or from the most common size) instead of refusing them.
  data_stream: image folders and tfds datasets: 'auto' streams them (data/stream.py: each
    process decodes only its rows of each batch, in data_workers threads, prefetched) when
    their decoded images exceed data_memory_mb or an augmentation is on, else holds them in
    device memory; 'always' or 'never' force one. The batches are the same either way.
  data_memory_mb: the decoded size above which 'auto' streams a dataset.
  data_workers: decoding threads of the stream (0: one per core, at most 8).
  data_flip: random left-right flips of the streamed images (drawn from seed and position).
  data_crop_scale: below 1, a random crop of that fraction of the largest window, resized
    back; 1 is the centre crop. Both augmentations stream the dataset.
  data_download: prepare a tfds dataset that is not in data_dir yet by downloading it
    (machines without internet: False, and prepare it elsewhere with `tfds build`).
  image_shape: (H, W, C) the models are built for; () takes it from the data. Image configs
    set it, so pointing one at data of another shape is an error, not a different network.
  model: mlp, dcgan (28/32/64 px), resnet (SNGAN, 32 px), metz (Stacked MNIST, 28 px),
    stylegan2 (square, power-of-two sizes from 8 px; see stylegan below), progan (the same
    sizes; see progan below), biggan (32 px; see biggan below) or ctgan (tables).
  g_width, d_width: base widths of the image models (DCGAN 64/64, SNGAN ResNet 256/128,
    metz 8/2 for D = 1/4 G or 8/4 for D = 1/2 G).
  d_norm: critic normalisation: batch, layer, spectral or none (dcgan); spectral or none
    (resnet); none (mlp).
  num_classes: > 0 trains a class-conditional GAN (cGAN for dcgan, conditional BN and a
    projection critic for resnet); must equal the dataset's number of classes. For ctgan it
    is set from the table: the number of categories of its categorical columns (CTGAN's
    conditional vector), or 0 with tabular.conditional=False.
  sync_batch_stats: average batch-norm statistics over all devices (results then match one
    device); False keeps them per device.
  compute_dtype: float32, or bfloat16 for mixed precision: the models compute in bfloat16
    while parameters, optimizer states, batch-norm statistics and losses stay float32.
  loss: objective: minimax, ns, wgan, wgan_gp, hinge, lsgan.
  num_steps: training steps; one step is n_critic critic updates and one generator update.
  batch_size: global batch size, split over all devices.
  n_critic: critic updates per generator update.
  update_order: alternating (n_critic critic updates, then the generator's against the
    updated critic) or simultaneous (one critic and one generator update computed from the
    same parameters on the same fakes, the ALI algorithm PacGAN's reference code trains
    with; needs n_critic=1 and unrolled_steps=0).
  g_lr, d_lr: the two learning rates (TTUR).
  g_betas, d_betas: Adam (beta1, beta2); DCGAN's (0.5, 0.999) by default.
  g_schedule, d_schedule: learning-rate schedule: constant, linear or cosine decay to 0.
  optimizer: adam or rmsprop (for both networks).
  g_grad_clip, d_grad_clip: clip each network's global gradient norm; 0 disables.
  g_weight_decay, d_weight_decay: L2 weight decay added to each network's gradients before
    Adam, as PyTorch's Adam(weight_decay=...) does (CTGAN: 1e-6); 0 disables.
  skip_nonfinite_updates: skip optimizer updates whose gradients are NaN or inf.
  z_dim: latent dimension.
  gp_weight: lambda of the WGAN-GP gradient penalty (loss=wgan_gp).
  wgan_clip: critic weight-clipping bound (loss=wgan).
  r1_gamma: weight gamma of the R1 penalty gamma/2 E||grad D(x)||^2 on real data; 0 disables.
  ema_decay, ema_start: EMA of generator weights used for evaluation; decay 0 disables.
  ema_standing_batches: before each evaluation or sampling of an EMA generator with batch
    norm, its statistics are recomputed for the EMA weights over this many batches of
    batch_size fixed latents (standing statistics; the running averages belong to the live
    weights).
  Stabilisation (each off by default; all compose with every objective and model):
  real_label, fake_label: the critic's targets (minimax, ns, lsgan): label smoothing is
    one-sided with real_label=0.9, two-sided with fake_label=0.1 too.
  instance_noise, instance_noise_steps: Gaussian noise of this std added to every critic
    input, real and fake, annealed linearly to 0 over instance_noise_steps (0: constant).
  feature_matching: weight of the feature-matching generator loss ||E f(x) - E f(G(z))||^2
    on the critic's penultimate features; g_adversarial=False drops the adversarial term.
  d_minibatch: none, discrimination (Salimans et al. 2016; minibatch_kernels x
    minibatch_dim tensor; its cost grows as batch^2 x kernels x dim: 32 x 8 at batch 128
    makes the quickstart's MLP step 20x slower, 8 x 4 about 2x) or stddev (ProGAN: the
    mean standard deviation within groups of minibatch_group examples, appended as a
    feature map before the critic's last layers; the critic batch must divide by the group).
    The gradient penalties (gp, r1, dragan) hold batch-level statistics (batch norm,
    minibatch layers) fixed, so they penalise each example's own input gradient.
  unrolled_steps: k > 0 takes the generator's loss against the critic updated k steps
    ahead with its optimizer, differentiating through the updates (Metz et al. 2017); each
    look-ahead update repeats the step's last critic update's batch and latents, as the
    authors' reference code does.
  r1_every: lazy R1, applied every N-th critic update (counting the n_critic updates of
    every step) with weight x N.
  dragan_weight: lambda of the DRAGAN penalty around the real data; 0 disables.
  pac: PacGAN packing: the critic judges this many samples at once.
  diagnostics: the warnings' thresholds, chosen on a labelled corpus of short runs
    (benchmarks/DIAGNOSTICS.md; gan_jax/diagnostics.py states each rule):
    patience: consecutive log steps a train-record condition must hold.
    vanishing_norm, vanishing_ratio: vanishing_generator_gradient when g_grad_norm is below
      this absolute norm or this fraction of its peak.
    overpowering_accuracy, overpowering_loss: discriminator_overpowering when d_accuracy is
      at least this and d_loss at most this fraction of the critic's loss at chance (not
      judged for wgan, wgan_gp).
    oscillation_window, oscillation_std: oscillation when the std of d_loss or g_loss over
      this many log steps exceeds this fraction of the loss at chance (not for wgan, wgan_gp).
    collapse_diversity, collapse_patience: mode_collapse when feature_diversity stays below
      this for this many log steps (longer than patience: a fresh generator reads as collapsed).
    collapse_min_samples, collapse_modes, collapse_evals: on ring8/grid25, mode_collapse when
      this many evaluations in a row, each with at least collapse_min_samples high-quality
      samples per mode, capture at most collapse_modes x the dataset's modes.
  log_every: steps between fetches of the measurements (the only host sync); on CPU the
    steps in between skip the diagnostics (norms, d_accuracy, feature_diversity).
  eval_every: steps between evaluations (the `evals` list).
  checkpoint_every: steps between checkpoints.
  keep_checkpoints: how many of the latest checkpoints to keep.
  best_metric, best_mode, keep_best: keep the keep_best evaluated states with the lowest
    ('min') or highest ('max') value of this evaluation metric in checkpoints_best/; ''
    disables it.
  evals: evaluator names run every eval_every steps: modes (2-D mixtures), stacked_modes
    (Stacked MNIST: modes among the 1,000 digit triples and KL to uniform), grid (a sample
    grid PNG of images, one class per row when conditional), class_accuracy (conditional
    digits, mnist5k or mnist5k32: the share of samples the bundled digit classifier puts in
    the class they were generated for; chance 0.1), and, from one pass of the
    on-device Inception pipeline against the training images: fid, kid, pr (precision and
    recall), is (Inception Score; on 28x28 digits without Inception logits, the bundled
    digit classifier's score).
  num_eval_samples: generated samples per evaluation.
  mlp: the MLP generator and critic (model=mlp):
    width, depth, activation: the generator's hidden layers, and the critic's unless set
      apart below.
    d_width, d_depth: the critic's hidden units and layers (0: width and depth).
    d_maxout: K >= 2 makes each critic hidden layer d_width maxout units of K affine pieces
      (Goodfellow et al. 2013; activation is then unused); 0 keeps dense + activation.
    g_norm: batch (batch norm before each generator activation, its hidden layers then
      without bias), batch_pac (the same, with the statistics of each pac position apart:
      the generator batch as PacGAN's reference code draws it, pac calls each normalised
      on its own; needs pac >= 2) or none.
    init_std: > 0 draws every dense kernel of both networks from N(0, init_std) (ALI and
      PacGAN's 0.02); 0 keeps flax's LeCun normal. Biases start at 0 either way.
  tabular: the tables and CTGAN (model=ctgan, a table dataset):
    target: the column the ML-efficacy models predict ('' : the registered table's; a
      csv:PATH table's last column).
    categorical: comma-separated categorical columns of a csv:PATH table ('' : inferred and
      logged: non-numeric, boolean, or integer with at most 10 distinct values).
    test_fraction, split_seed: the held-out share of rows and the seed of the fixed split
      (and of the transformer's fit), the same for every training seed.
    missing: error (a one-line error naming the columns with missing values) or drop (drop
      those rows, logging how many).
    epochs: > 0 sets num_steps to this many of CTGAN's epochs (training rows // batch_size
      steps each); 0 keeps num_steps.
    max_modes, weight_threshold: the variational Gaussian mixture of each continuous column
      (CTGAN: 10 modes, weights above 0.005 kept).
    conditional: condition the generator on one category of one categorical column, drawn
      by training-by-sampling (log-frequency), and add the cross-entropy of that column to
      the generator's loss, weighted condition_weight.
    g_widths, d_widths: the generator's residual blocks and the critic's hidden layers.
    tau: the Gumbel-softmax temperature of the generator's one-hots.
    dropout: the critic's dropout rate after each hidden layer.
    critic_conditions: with a conditional WGAN-GP, shared (the critic's fakes are generated
      for the real rows' conditions, so both ends of every interpolate share one, and the
      penalty differentiates the rows) or permuted (CTGAN's code: the fakes' conditions are
      a permutation of the real rows', and the penalty interpolates and differentiates the
      rows and their condition one-hots together).
    weight_init: the networks' Linear layers start as flax's (lecun: truncated-normal weights
      of variance 1 / fan_in, zero biases) or as PyTorch's, which CTGAN's code inherits
      (pytorch: weights and biases uniform in +-1 / sqrt(fan_in)).
    eval_rows: synthetic rows per tabular evaluation (0: as many as the training rows).
    efficacy_max_rows: rows the ML-efficacy models train on (a fixed random subset of real
      and of synthetic rows when larger; 0: all).
  g_ortho: weight beta of BigGAN's orthogonal regulariser on the generator,
    beta sum_W ||W^T W * (1 - I)||_F^2 over its kernels (filters as columns; embeddings and
    biases left out); 0 disables. BigGAN used 1e-4 at ImageNet scale.
  biggan: BigGAN (model=biggan, 32x32; g_width and d_width are StudioGAN's g_conv_dim and
    d_conv_dim: 4x and 2x them channels):
    shared_dim: the shared class embedding each block's batch norm reads with its z chunk.
    attention_g, attention_d: self-attention after this generator / critic block (1-3 and
      1-4; 0: none).
  d_drift: weight epsilon of ProGAN's drift term epsilon E[D(x)^2] on the critic's scores of
    real data (ProGAN: 0.001 with WGAN-GP); 0 disables.
  progan: progressive growing (model=progan: 4x4 up to the data's resolution, doubling per
    stage; g_width and d_width are the most feature maps, kept up to 32x32 and halved above):
    stable_steps: steps of stage 0, and of each later stage once it has faded in (the last
      stage trains on until num_steps).
    fade_steps: steps over which each new stage's alpha rises from 0 to 1 (0: no fade-in).
    reset_optimizer: restart both Adam states at the start of every fade-in and stable phase,
      as the authors' training loop does.
  stylegan: StyleGAN2's generator (model=stylegan2; g_width is its most feature maps, d_width
    the critic's):
    w_dim, mapping_layers, mapping_lr_mul: the mapping network z -> w (StyleGAN2: 512, 8,
      0.01, the learning-rate multiplier of its equalized layers).
    mixing_prob: style mixing regularisation: the share of training examples whose layers
      from a random crossover on take a second latent's w (0.9; 0 disables).
    w_avg_beta: decay of w_avg, the moving average of w the truncation trick pulls towards.
    truncation_psi: evaluation and sampling use w_avg + psi (w - w_avg) (1: no truncation;
      0: the w_avg image); training never truncates.
    pl_weight, pl_every, pl_decay: path-length regularisation (StyleGAN2: 2, lazily every 4
      generator steps, weighted x 4; its running mean moves 0.01 towards each batch's mean
      length); pl_weight 0 disables it.
  fid: settings of the Inception evaluators (fid, kid, pr, is):
    num_samples: generated samples per evaluation.
    num_reference: training images in the reference statistics (a fixed random subset when
      the dataset is larger); computed once and cached in the cache directory
      ($GAN_JAX_CACHE, else ~/.cache/gan_jax).
    batch_size: global images per pipeline step (memory: ~3 MB per image on the network).
    inception_weights: a weights file ('' = fetch once, then the cache; see README).
    reference: a statistics .npz from scripts/fid_stats.py to use instead of the training
      images ('' = the training images).
    kid_subsets, kid_subset_size: KID's subsets (StyleGAN2-ADA: 100 of 1000).
    pr_k: the neighbourhood size of precision/recall.
    is_splits: Inception Score splits.
    classifier: the digit classifier file for 'is' and 'stacked_modes' ('' = the cached one,
      trained on first use).
"""
import ml_collections


def get_config():
  """Returns the default config."""
  c = ml_collections.ConfigDict()
  c.seed = 0
  c.num_seeds = 1
  c.dataset = 'ring8'
  c.data_radius = 0.0
  c.data_std = 0.0
  c.data_split = 'train'
  c.data_dir = ''
  c.data_download = True
  c.data_resize = False
  c.data_stream = 'auto'
  c.data_memory_mb = 4096.0
  c.data_workers = 0
  c.data_flip = False
  c.data_crop_scale = 1.0
  c.image_shape = ()
  c.model = 'mlp'
  c.g_width = 64
  c.d_width = 64
  c.d_norm = 'none'
  c.num_classes = 0
  c.sync_batch_stats = True
  c.compute_dtype = 'float32'
  c.loss = 'ns'
  c.num_steps = 10_000
  c.batch_size = 256
  c.n_critic = 1
  c.update_order = 'alternating'
  c.g_lr = 2e-4
  c.d_lr = 2e-4
  c.g_betas = (0.5, 0.999)
  c.d_betas = (0.5, 0.999)
  c.g_schedule = 'constant'
  c.d_schedule = 'constant'
  c.optimizer = 'adam'
  c.g_grad_clip = 0.0
  c.d_grad_clip = 0.0
  c.g_weight_decay = 0.0
  c.d_weight_decay = 0.0
  c.skip_nonfinite_updates = False
  c.z_dim = 64
  c.gp_weight = 10.0
  c.wgan_clip = 0.01
  c.r1_gamma = 0.0
  c.ema_decay = 0.0
  c.ema_start = 0
  c.ema_standing_batches = 16
  c.real_label = 1.0
  c.fake_label = 0.0
  c.instance_noise = 0.0
  c.instance_noise_steps = 0
  c.feature_matching = 0.0
  c.g_adversarial = True
  c.d_minibatch = 'none'
  c.minibatch_kernels = 32
  c.minibatch_dim = 8
  c.minibatch_group = 4
  c.unrolled_steps = 0
  c.r1_every = 1
  c.dragan_weight = 0.0
  c.pac = 1
  c.diagnostics = ml_collections.ConfigDict(dict(
      patience=3, vanishing_norm=5e-5, vanishing_ratio=0.01, overpowering_accuracy=0.9,
      overpowering_loss=0.4, oscillation_window=10, oscillation_std=0.4,
      collapse_diversity=0.25, collapse_patience=8, collapse_min_samples=4.0, collapse_modes=0.6,
      collapse_evals=2))
  c.log_every = 500
  c.eval_every = 2_000
  c.checkpoint_every = 5_000
  c.keep_checkpoints = 3
  c.best_metric = ''
  c.best_mode = 'max'
  c.keep_best = 2
  c.evals = ('modes',)
  c.num_eval_samples = 2_500
  c.mlp = ml_collections.ConfigDict(dict(width=128, depth=3, activation='relu', d_width=0,
                                         d_depth=0, d_maxout=0, g_norm='none', init_std=0.0))
  c.tabular = ml_collections.ConfigDict(dict(
      target='', categorical='', test_fraction=0.2, split_seed=0, missing='error', epochs=0,
      max_modes=10, weight_threshold=0.005, conditional=True, condition_weight=1.0,
      g_widths=(256, 256), d_widths=(256, 256), tau=0.2, dropout=0.5, eval_rows=0,
      efficacy_max_rows=0, critic_conditions='shared',
      weight_init='lecun'))
  c.g_ortho = 0.0
  c.biggan = ml_collections.ConfigDict(dict(shared_dim=128, attention_g=2, attention_d=1))
  c.d_drift = 0.0
  c.progan = ml_collections.ConfigDict(dict(stable_steps=2_000, fade_steps=2_000,
                                            reset_optimizer=True))
  c.stylegan = ml_collections.ConfigDict(dict(
      w_dim=512, mapping_layers=8, mapping_lr_mul=0.01, mixing_prob=0.9, w_avg_beta=0.995,
      truncation_psi=1.0, pl_weight=0.0, pl_every=4, pl_decay=0.01))
  c.fid = ml_collections.ConfigDict(dict(
      num_samples=10_000, num_reference=50_000, batch_size=100, inception_weights='',
      reference='', kid_subsets=100, kid_subset_size=1_000, pr_k=3, is_splits=10,
      classifier=''))
  return c
