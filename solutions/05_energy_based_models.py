"""Instructors' solutions to notebook 05's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def tempered_langevin_step(key, grad_energy, x, eps, mass, temperature):
    # Section 1's step in y = x / sqrt(m) on E/T: grad_y = sqrt(m) grad_x E / T; back in x = sqrt(m) y.
    noise = jax.random.normal(key, x.shape)
    return x - eps / 2 * mass * grad_energy(x) / temperature + jnp.sqrt(eps * mass) * noise


def score_matching_loss(energy_fn, x):
    # J = < 1/2 |grad log p|^2 + Laplacian log p > with log p = -E - log Z.
    grad = jax.vmap(jax.grad(energy_fn))(x)
    laplacian = jax.vmap(lambda y: jnp.trace(jax.hessian(energy_fn)(y)))(x)
    return jnp.mean(0.5 * jnp.sum(grad**2, axis=1) - laplacian)


def _score_matching_wrong_sign(energy_fn, x):
    grad = jax.vmap(jax.grad(energy_fn))(x)
    laplacian = jax.vmap(lambda y: jnp.trace(jax.hessian(energy_fn)(y)))(x)
    return jnp.mean(0.5 * jnp.sum(grad**2, axis=1) + laplacian)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.tempered_langevin_step, (tempered_langevin_step,),
     (lambda k, g, x, e, m, t: x - e / 2 * m * g(x) + jnp.sqrt(e * m) * jax.random.normal(k, x.shape),),
     "E/T"),
    (checks.tempered_langevin_step, (tempered_langevin_step,),
     (lambda k, g, x, e, m, t: x - e / 2 * m * g(x) / t + jnp.sqrt(e) * jax.random.normal(k, x.shape),),
     "lives in y"),
    (checks.score_matching_loss, (score_matching_loss,), (_score_matching_wrong_sign,), "minus that of E"),
]
