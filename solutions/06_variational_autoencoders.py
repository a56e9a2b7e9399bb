"""Instructors' solutions to notebook 06's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def diagonal_gaussian_kl(mu_q, logvar_q, mu_p, logvar_p):
    # E_q[log q - log p]; E_q[(h - mu_p)^2] = sigma_q^2 + (mu_q - mu_p)^2.
    return 0.5 * jnp.sum(logvar_p - logvar_q + (jnp.exp(logvar_q) + (mu_q - mu_p) ** 2) / jnp.exp(logvar_p)
                         - 1.0, axis=-1)


def continuous_bernoulli_log_likelihood(logits, x):
    # 1/C = int_0^1 lam^x (1 - lam)^(1 - x) dx = (2 lam - 1) / eta = tanh(eta / 2) / eta; C -> 2 at 0.
    small = jnp.abs(logits) < 1e-3
    safe = jnp.where(small, 1.0, logits)
    log_c = jnp.where(small, jnp.log(2.0) + logits**2 / 24, jnp.log(safe / jnp.tanh(safe / 2)))
    return jnp.sum(x * logits - jax.nn.softplus(logits) + log_c, axis=-1)


def _kl_reversed(mu_q, logvar_q, mu_p, logvar_p):
    shape = jnp.broadcast_shapes(mu_q.shape, mu_p.shape)
    mu_p, logvar_p = jnp.broadcast_to(mu_p, shape), jnp.broadcast_to(logvar_p, shape)
    return diagonal_gaussian_kl(mu_p, logvar_p, mu_q, logvar_q)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.diagonal_gaussian_kl, (diagonal_gaussian_kl,), (_kl_reversed,), "expectation under q"),
    (checks.diagonal_gaussian_kl, (diagonal_gaussian_kl,),
     (lambda mq, lq, mp, lp: diagonal_gaussian_kl(mq, lq, 0.0 * mp, lp),), "prior's mean"),
    (checks.continuous_bernoulli_log_likelihood, (continuous_bernoulli_log_likelihood,),
     (lambda eta, x: jnp.sum(x * eta - jax.nn.softplus(eta), axis=-1),), "does not integrate to one"),
    (checks.continuous_bernoulli_log_likelihood, (continuous_bernoulli_log_likelihood,),
     (lambda eta, x: jnp.sum(x * eta - jax.nn.softplus(eta) + jnp.log(eta / jnp.tanh(eta / 2)), axis=-1),),
     "finite limit"),
]
