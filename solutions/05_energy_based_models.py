"""Instructors' solutions to notebook 05's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp


def langevin_step(key, grad_energy, x, eps):
    return x - eps / 2 * grad_energy(x) + jnp.sqrt(eps) * jax.random.normal(key, x.shape)


def contrastive_loss(energy_fn, x_data, x_model, alpha):
    e_pos, e_neg = energy_fn(x_data), energy_fn(jax.lax.stop_gradient(x_model))
    return e_pos.mean() - e_neg.mean() + alpha * (jnp.mean(e_pos**2) + jnp.mean(e_neg**2))
