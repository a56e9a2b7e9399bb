"""Instructors' solutions to notebook 08's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def discriminator_loss(real_logits, fake_logits):
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss(fake_logits):
    return jnp.mean(jax.nn.softplus(-fake_logits))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.discriminator_loss, (discriminator_loss,),
     (lambda r, f: -jnp.mean(jnp.log(jax.nn.sigmoid(r))) - jnp.mean(jnp.log(1 - jax.nn.sigmoid(f))),),
     "underflows"),
    (checks.generator_loss, (generator_loss,), (lambda f: -jnp.mean(jax.nn.softplus(f)),), "saturating"),
]
