"""The modules and shared inputs of the bad-input cases (``tests/bad_input_*.py``, run by
``tests/test_bad_input.py``)."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers import checks, notebook, results
from helpers.analysis import distances, metrics, pca
from helpers.core import arrays, cache, optim, parallel, rng, train, validate
from helpers.data import datasets, toy
from helpers.generative import ais, autoencoder, denoisers, diffusion, diffusion_sampling, ebm, gan, rbm, vae
from helpers.networks import conv, ffnn, layers, rnn
from helpers.physics import dynamics, ising, ising_data, ising_mc

KEY = jax.random.key(0)
X = jnp.ones((3, 4))
SCHEDULE = diffusion.linear_schedule(10)
RBM = rbm.init_params(KEY, 4, 3)
SPINS = jnp.ones((2, 4, 4), jnp.int8)


def energy(x):
    return jnp.sum(x**2, axis=1)


def eps_model(x, t):
    return jnp.zeros_like(x)


def small_vae():
    return vae.VAE(4, [8], 2, rngs=nnx.Rngs(0))


def mislabelled_generator():  # a generator whose stated latent size is not its network's
    g = gan.Generator(2, [4], 2, rngs=nnx.Rngs(0))
    g.latent_dim = 5
    return g


def null_step(carry, batch, key):
    return carry, {}
