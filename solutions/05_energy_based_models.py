"""Instructors' solutions to notebook 05's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def langevin_step(key, grad_energy, x, eps):
    return x - eps / 2 * grad_energy(x) + jnp.sqrt(eps) * jax.random.normal(key, x.shape)


def contrastive_loss(energy_fn, x_data, x_model, alpha):
    e_pos, e_neg = energy_fn(x_data), energy_fn(jax.lax.stop_gradient(x_model))
    return e_pos.mean() - e_neg.mean() + alpha * (jnp.mean(e_pos**2) + jnp.mean(e_neg**2))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.langevin_step, (langevin_step,),
     (lambda k, g, x, e: x - e * g(x) + jnp.sqrt(e) * jax.random.normal(k, x.shape),), "half the step"),
    (checks.langevin_step, (langevin_step,),
     (lambda k, g, x, e: x - e / 2 * g(x) + e * jax.random.normal(k, x.shape),), "its variance is eps"),
    (checks.ebm_loss, (contrastive_loss,),
     (lambda f, xd, xm, a: -contrastive_loss(f, xd, xm, 0.0) + a * (
         jnp.mean(f(xd) ** 2) + jnp.mean(f(xm) ** 2)),), "the sign"),
    (checks.ebm_loss, (contrastive_loss,),
     (lambda f, xd, xm, a: jnp.mean(f(xd)) - jnp.mean(f(xm))
      + a * (jnp.mean(f(xd) ** 2) + jnp.mean(f(xm) ** 2)),),
     "stop_gradient"),
]
