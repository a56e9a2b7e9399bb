"""Instructors' solutions to notebook 07's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp

from helpers import checks


def ddim_step(x_t, v_hat, alpha_bar_t, alpha_bar_prev):
    # (x_t, v) is (x0, eps) rotated by phi_t, cos(phi_t) = sqrt(abar_t): rotate back, then re-noise to t'.
    c, s = jnp.sqrt(alpha_bar_t), jnp.sqrt(1 - alpha_bar_t)
    x0_hat, eps_hat = c * x_t - s * v_hat, s * x_t + c * v_hat
    return jnp.sqrt(alpha_bar_prev) * x0_hat + jnp.sqrt(1 - alpha_bar_prev) * eps_hat


def q_posterior(x_t, x0, alpha_bar_t, alpha_bar_s):
    alpha = alpha_bar_t / alpha_bar_s  # the forward process from s to t as one Gaussian step
    mean = (jnp.sqrt(alpha) * (1 - alpha_bar_s) * x_t + jnp.sqrt(alpha_bar_s) * (1 - alpha) * x0) / (
        1 - alpha_bar_t)
    return mean, (1 - alpha) * (1 - alpha_bar_s) / (1 - alpha_bar_t)


def _v_as_noise(x_t, v_hat, alpha_bar_t, alpha_bar_prev):  # the shown DDIM step with v_hat taken for eps_hat
    x0_hat = (x_t - jnp.sqrt(1 - alpha_bar_t) * v_hat) / jnp.sqrt(alpha_bar_t)
    return jnp.sqrt(alpha_bar_prev) * x0_hat + jnp.sqrt(1 - alpha_bar_prev) * v_hat


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.ddim_step, (ddim_step,), (_v_as_noise,), "not the predicted noise"),
    (checks.q_posterior, (q_posterior,),
     (lambda xt, x0, ab, ab_s: (q_posterior(xt, x0, ab, ab_s)[0], 1 - ab / ab_s),), "forward jump"),
]
