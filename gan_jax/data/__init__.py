"""Dataset registry: a name in `config.dataset` -> an object with `batch_at(step)`.

Every dataset exposes `sample_shape` (one example, no batch axis), `num_classes` (0 when
unlabelled) and `batch_at(step)`, which returns the device-resident batch of training step
`step` as a dict with 'x' of shape (n_critic, batch_size, *sample_shape). Because a batch is a
function of (seed, step) alone, a resumed run needs no iterator state.
"""
from gan_jax.data import mixtures

DATASETS = {name: mixtures.MixtureData for name in mixtures.MIXTURES}


def build(config, mesh):
  """Builds the dataset named by `config.dataset`, sharded over `mesh`."""
  return DATASETS[config.dataset](config, mesh)
