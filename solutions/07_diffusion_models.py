"""Instructors' solutions to notebook 07's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp

from helpers import checks


def ddim_step(x_t, eps_hat, alpha_bar_t, alpha_bar_prev):
    x0_hat = (x_t - jnp.sqrt(1 - alpha_bar_t) * eps_hat) / jnp.sqrt(alpha_bar_t)
    return jnp.sqrt(alpha_bar_prev) * x0_hat + jnp.sqrt(1 - alpha_bar_prev) * eps_hat


def q_posterior(x_t, x0, alpha_t, alpha_bar_t, alpha_bar_prev):
    beta_t = 1 - alpha_t
    mean = (jnp.sqrt(alpha_bar_prev) * beta_t * x0 + jnp.sqrt(alpha_t) * (1 - alpha_bar_prev) * x_t) / (
        1 - alpha_bar_t)
    return mean, beta_t * (1 - alpha_bar_prev) / (1 - alpha_bar_t)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.ddim_step, (ddim_step,),
     (lambda xt, e, ab, abp: jnp.sqrt(abp) * (xt - jnp.sqrt(1 - ab) * e) / jnp.sqrt(ab),),
     "add the predicted"),
    (checks.q_posterior, (q_posterior,),
     (lambda xt, x0, a, ab, abp: (q_posterior(xt, x0, a, ab, abp)[0], 1 - a),), "forward step's variance"),
]
