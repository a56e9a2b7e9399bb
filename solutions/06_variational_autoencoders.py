"""Instructors' solutions to notebook 06's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def gaussian_kl(mu, logvar):
    return 0.5 * jnp.sum(mu**2 + jnp.exp(logvar) - 1 - logvar, axis=-1)


def reparameterize(key, mu, logvar):
    return mu + jnp.exp(0.5 * logvar) * jax.random.normal(key, mu.shape)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.gaussian_kl, (gaussian_kl,),
     (lambda m, lv: 0.5 * jnp.mean(m**2 + jnp.exp(lv) - 1 - lv, axis=-1),), "do not average"),
    (checks.reparameterize, (reparameterize,),
     (lambda k, m, lv: m + jnp.exp(lv) * jax.random.normal(k, m.shape),), "not exp(logvar)"),
]
