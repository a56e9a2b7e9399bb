"""Instructors' solutions to notebook 04's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def gaussian_free_energy(params, sigma, x):
    """F(x) = sum_i (x_i - a_i)^2 / (2 sigma_i^2) - sum_j softplus(b_j + sum_i x_i w_ij / sigma_i^2)."""
    quadratic = jnp.sum((x - params.a) ** 2 / (2 * sigma**2), axis=1)
    return quadratic - jnp.sum(jax.nn.softplus(params.b + (x / sigma**2) @ params.W), axis=1)


def sigma_gradient(params, sigma, x_pos, x_neg):
    """-dF/dsigma_i = (x_i - a_i)^2 / sigma_i^3 - 2 x_i sum_j w_ij p(h_j = 1 | x) / sigma_i^3, positive phase
    minus negative phase."""

    def phase(x):
        ph = jax.nn.sigmoid(params.b + (x / sigma**2) @ params.W)  # p(h_j = 1 | x), (n, n_h)
        return jnp.mean(((x - params.a) ** 2 - 2 * x * (ph @ params.W.T)) / sigma**3, axis=0)

    return phase(x_pos) - phase(x_neg)


def _binary_free_energy(params, sigma, x):  # the binary RBM's formula, the widths ignored
    return -x @ params.a - jnp.sum(jax.nn.softplus(params.b + x @ params.W), axis=1)


def _sigma_gradient_visible_term_only(params, sigma, x_pos, x_neg):  # forgets sigma in the hidden input
    def phase(x):
        return jnp.mean((x - params.a) ** 2 / sigma**3, axis=0)

    return phase(x_pos) - phase(x_neg)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.gaussian_rbm_free_energy, (gaussian_free_energy,), (_binary_free_energy,), "binary RBM"),
    (checks.gaussian_rbm_free_energy, (gaussian_free_energy,),
     (lambda p, s, x: -gaussian_free_energy(p, s, x),), "the sign"),
    (checks.gaussian_rbm_sigma_gradient, (sigma_gradient,),
     (lambda p, s, xp, xn: -sigma_gradient(p, s, xp, xn),), "positive phase minus the negative"),
    (checks.gaussian_rbm_sigma_gradient, (sigma_gradient,), (_sigma_gradient_visible_term_only,),
     "hidden units' input"),
]
