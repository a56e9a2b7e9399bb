"""Instructors' solutions to notebook 00's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp
import numpy as np

from helpers import checks


def lennard_jones_force(r, epsilon, sigma):
    """F(r) = -dV/dr for V = 4 epsilon [(sigma/r)^12 - (sigma/r)^6]: positive (repulsive) at short range."""
    s6 = (sigma / r) ** 6
    return 24 * epsilon * (2 * s6**2 - s6) / r


def random_walks(key, n_walkers, n_steps):
    """End points of n_walkers independent walks of n_steps steps of +-1, all from one key."""
    keys = jax.random.split(key, n_walkers)  # one stream per walker

    def walk(k):
        return jnp.sum(jax.random.rademacher(k, (n_steps,)))

    return jax.vmap(walk)(keys)


def _lj_pulling(r, epsilon, sigma):
    return -lennard_jones_force(r, epsilon, sigma)


def _lj_without_1_over_r(r, epsilon, sigma):
    s6 = (sigma / r) ** 6
    return 24 * epsilon * (2 * s6**2 - s6)


def _walks_one_key(key, n_walkers, n_steps):
    steps = jax.random.rademacher(key, (n_steps,))  # the same steps for every walker
    return jnp.full((n_walkers,), jnp.sum(steps))


_GLOBAL_RNG = np.random.default_rng()  # hidden state shared by every call


def _walks_global_seed(key, n_walkers, n_steps):
    return _GLOBAL_RNG.choice([-1, 1], size=(n_walkers, n_steps)).sum(axis=1)  # ignores the key


def _walks_coin(key, n_walkers, n_steps):
    return jax.random.bernoulli(key, 0.5, (n_walkers, n_steps)).sum(axis=1)  # steps 0 or 1


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.lennard_jones_force, (lennard_jones_force,), (_lj_pulling,), "minus the derivative"),
    (checks.lennard_jones_force, (lennard_jones_force,), (_lj_without_1_over_r,), "1/r is missing"),
    (checks.random_walks, (random_walks,), (_walks_one_key,), "same point"),
    (checks.random_walks, (random_walks,), (_walks_global_seed,), "same key gave different walks"),
    (checks.random_walks, (random_walks,), (_walks_coin,), "the steps are 0 or 1"),
]
