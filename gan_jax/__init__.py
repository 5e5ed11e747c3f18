"""gan_jax: generative adversarial networks in JAX/Flax."""
