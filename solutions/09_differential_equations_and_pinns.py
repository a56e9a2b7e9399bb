"""Instructors' solutions to notebook 09's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def advection_diffusion_residual(u, points, kappa, c):
    """r = u_t + c u_x - kappa u_xx at points (n, 2) of (x, t), by autodiff under vmap."""
    def r(p):
        gradient, hessian = jax.grad(u)(p), jax.hessian(u)(p)
        return gradient[1] + c * gradient[0] - kappa * hessian[0, 0]

    return jax.vmap(r)(points)


def insulated_end_trial(network, p):
    """u = sin(pi x / 2) + t g N(g, t), g = x (2 - x): g vanishes at x = 0 and is flat at x = 1, so any
    function of g times g keeps u(0, t) = 0 and u_x(1, t) = 0; the factor t keeps u(x, 0)."""
    x, t = p[0], p[1]
    g = x * (2.0 - x)
    return jnp.sin(jnp.pi * x / 2) + t * g * network(jnp.stack([g, t]))


def _residual_minus_advection(u, points, kappa, c):
    return advection_diffusion_residual(u, points, kappa, -c)  # u_t - c u_x - kappa u_xx


def _residual_plus_diffusion(u, points, kappa, c):
    def r(p):
        gradient, hessian = jax.grad(u)(p), jax.hessian(u)(p)
        return gradient[1] + c * gradient[0] + kappa * hessian[0, 0]

    return jax.vmap(r)(points)


def _trial_dirichlet_right(network, p):
    x, t = p[0], p[1]  # x (1 - x) fixes u(1, t) = 1 + 0, not the slope
    return jnp.sin(jnp.pi * x / 2) + t * x * (1.0 - x) * network(p)


def _trial_without_t(network, p):
    x = p[0]
    g = x * (2.0 - x)
    return jnp.sin(jnp.pi * x / 2) + g * network(jnp.stack([g, p[1]]))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.advection_diffusion_residual, (advection_diffusion_residual,), (_residual_minus_advection,),
     "advection term is +c"),
    (checks.advection_diffusion_residual, (advection_diffusion_residual,), (_residual_plus_diffusion,),
     "-kappa d2u/dx2"),
    (checks.insulated_end_trial, (insulated_end_trial,), (_trial_dirichlet_right,), "fixes the slope"),
    (checks.insulated_end_trial, (insulated_end_trial,), (_trial_without_t,), "multiply it by t"),
]
