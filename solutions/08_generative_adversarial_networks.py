"""Instructors' solutions to notebook 08's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def lsgan_optimal_discriminator(p_data, p_g):
    # d/dD [p_data (D - 1)^2 + p_g (D + 1)^2] / 2 = p_data (D - 1) + p_g (D + 1) = 0
    return (p_data - p_g) / (p_data + p_g)


def hinge_losses(real_scores, fake_scores):
    d_loss = jnp.mean(jax.nn.relu(1 - real_scores)) + jnp.mean(jax.nn.relu(1 + fake_scores))
    return d_loss, -jnp.mean(fake_scores)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.lsgan_optimal_discriminator, (lsgan_optimal_discriminator,), (lambda p, q: p / (p + q),),
     "cross-entropy"),
    (checks.hinge_losses, (hinge_losses,),
     (lambda r, f: (jnp.mean(1 - r) + jnp.mean(1 + f), -jnp.mean(f)),), "Wasserstein"),
]
