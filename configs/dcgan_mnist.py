"""DCGAN on MNIST from TensorFlow Datasets (needs the dataset prepared, or internet).

  python -m gan_jax.main --config=configs/dcgan_mnist.py --workdir=runs/dcgan_mnist
  python -m gan_jax.main --config=configs/dcgan_mnist.py:smoke --workdir=runs/smoke
"""
from configs import image_common


def get_config(arg=None):
  """DCGAN at 28x28x1 on tfds mnist; `arg='smoke'` runs 2 steps."""
  return image_common.dcgan('mnist', (28, 28, 1), arg=arg)
