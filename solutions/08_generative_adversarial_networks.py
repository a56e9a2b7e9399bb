"""Instructors' solutions to notebook 08's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp


def discriminator_loss(real_logits, fake_logits):
    return jnp.mean(jax.nn.softplus(-real_logits)) + jnp.mean(jax.nn.softplus(fake_logits))


def generator_loss(fake_logits):
    return jnp.mean(jax.nn.softplus(-fake_logits))
