"""Instructors' solutions to notebook 12's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp

from helpers import checks


def hydrogen_local_energy(r, a):
    """E_L of psi = exp(-a r) for H = -lap/2 - 1/r: -a^2/2 + (a - 1)/r (constant -1/2 at a = 1)."""
    dist = jnp.linalg.norm(r, axis=1)
    return -(a**2) / 2 + (a - 1) / dist


def open_chain_local_energy(log_psi, params, s, h, g, J):
    """E_L of the open chain -J sum_{i<n} s_i s_{i+1} - h sum sigma^x_i - g sum sigma^z_i."""
    n = s.shape[1]
    flipped = s[:, None, :] * (1 - 2 * jnp.eye(n, dtype=s.dtype))  # site i flipped, (batch, n, n)
    log_flipped = log_psi(params, flipped.reshape(-1, n)).reshape(s.shape[0], n)
    ratios = jnp.exp(log_flipped - log_psi(params, s)[:, None])
    diagonal = -J * jnp.sum(s[:, :-1] * s[:, 1:], axis=1) - g * jnp.sum(s, axis=1)
    return diagonal - h * jnp.sum(ratios, axis=1)


def _hydrogen_no_gradient_term(r, a):
    return (a - 1) / jnp.linalg.norm(r, axis=1)


def _hydrogen_one_dimensional(r, a):
    return -(a**2) / 2 - 1 / jnp.linalg.norm(r, axis=1)


def _open_chain_periodic(log_psi, params, s, h, g, J):
    return open_chain_local_energy(log_psi, params, s, h, g, J) - J * s[:, -1] * s[:, 0]


def _open_chain_no_g(log_psi, params, s, h, g, J):
    return open_chain_local_energy(log_psi, params, s, h, 0.0, J)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.hydrogen_local_energy, (hydrogen_local_energy,), (_hydrogen_no_gradient_term,),
     "grad log psi"),
    (checks.hydrogen_local_energy, (hydrogen_local_energy,), (_hydrogen_one_dimensional,),
     "(2/r) f'(r)"),
    (checks.open_chain_local_energy, (open_chain_local_energy,), (_open_chain_periodic,),
     "n - 1 bonds"),
    (checks.open_chain_local_energy, (open_chain_local_energy,), (_open_chain_no_g,),
     "longitudinal field"),
]
