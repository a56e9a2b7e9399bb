r"""Classical solvers for the differential equations that the physics-informed networks of notebook 09
and the neural operators of notebook 10 are checked against.

The Thomas algorithm solves a tridiagonal system :math:`a_i u_{i-1} + b_i u_i + c_i u_{i+1} = d_i` in
:math:`O(n)`; the discrete 1-D Poisson problem :math:`-u'' = f` with Dirichlet boundaries is one.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


@shaped
def thomas(a: Real[AnyArray, "*batch n"], b: Real[AnyArray, "*batch n"], c: Real[AnyArray, "*batch n"],
           d: Real[AnyArray, "*batch n"]) -> Float[Array, "*batch n"]:
    r"""Solve the tridiagonal system :math:`a_i u_{i-1} + b_i u_i + c_i u_{i+1} = d_i`, :math:`i = 0..n-1`
    (``a[0]`` and ``c[n-1]`` are ignored), by Gaussian elimination without pivoting (stable when the
    matrix is diagonally dominant), in :math:`O(n)`:

    .. math:: c'_i = \frac{c_i}{b_i - a_i c'_{i-1}},\quad
              d'_i = \frac{d_i - a_i d'_{i-1}}{b_i - a_i c'_{i-1}},\quad
              u_{n-1} = d'_{n-1},\quad u_i = d'_i - c'_i u_{i+1}.

    All four arrays ``(..., n)``; a batch of systems is solved at once; returns ``u (..., n)``."""
    a, b, c, d = (validate.finite(name, jnp.asarray(x, jnp.result_type(float, x)))
                  for name, x in (("a", a), ("b", b), ("c", c), ("d", d)))
    if a.shape[-1] == 0:
        raise ValueError("thomas: the system has n = 0 unknowns; expected n >= 1")
    move = lambda x: jnp.moveaxis(x, -1, 0)  # noqa: E731  (scan runs over the leading axis)
    a, b, c, d = map(move, (a, b, c, d))

    def forward(carry, row):
        c_prev, d_prev = carry
        a_i, b_i, c_i, d_i = row
        denominator = b_i - a_i * c_prev
        c_new, d_new = c_i / denominator, (d_i - a_i * d_prev) / denominator
        return (c_new, d_new), (c_new, d_new)

    zero = jnp.zeros_like(d[0])
    _, (c_prime, d_prime) = jax.lax.scan(forward, (zero, zero), (a.at[0].set(0.0), b, c, d))

    def backward(u_next, row):
        c_i, d_i = row
        u_i = d_i - c_i * u_next
        return u_i, u_i

    _, u = jax.lax.scan(backward, zero, (c_prime, d_prime), reverse=True)
    return jnp.moveaxis(u, 0, -1)


@shaped
def poisson_dirichlet(f: Real[AnyArray, "*batch n"], length=1.0) -> Float[Array, "*batch n"]:
    r"""The second-order finite-difference solution of :math:`-u''(x) = f(x)` on :math:`[0, L]` with
    :math:`u(0) = u(L) = 0`, on the ``n`` interior points :math:`x_i = i h`, :math:`h = L/(n+1)`:

    .. math:: \frac{-u_{i-1} + 2u_i - u_{i+1}}{h^2} = f_i,

    solved by :func:`thomas`.  ``f (..., n)`` -> ``u (..., n)``."""
    validate.positive_number(length=length)
    f = jnp.asarray(f, jnp.result_type(float, f))
    h = length / (f.shape[-1] + 1)
    ones = jnp.ones_like(f)
    return thomas(-ones, 2.0 * ones, -ones, h**2 * f)


def _heat_start(u0, dx, dt, steps, kappa):
    validate.positive_number(dx=dx, dt=dt, kappa=kappa)
    validate.positive_int(steps=steps)
    u0 = validate.finite("u0", jnp.asarray(u0, jnp.result_type(float, u0)))
    if u0.shape[-1] < 3:
        raise ValueError(f"u0 has {u0.shape[-1]} grid points; expected at least 3 (two boundaries, "
                         "one interior point)")
    return u0


@shaped
def heat_explicit(u0: Real[AnyArray, "*batch n"], dx, dt, steps, kappa=1.0) -> Float[Array, "*batch n"]:
    r"""The explicit (forward-time, centred-space) scheme for :math:`u_t = \kappa u_{xx}`,

    .. math:: u_i^{k+1} = u_i^k + \alpha\,(u_{i+1}^k - 2u_i^k + u_{i-1}^k),
              \qquad \alpha = \frac{\kappa\,\Delta t}{\Delta x^2},

    on a grid of ``n`` points that includes both ends, whose values stay fixed (Dirichlet).  Local
    error :math:`O(\Delta t) + O(\Delta x^2)`; stable only for :math:`\alpha \le 1/2`.  ``steps``
    steps under one ``lax.scan``: ``u0 (..., n)`` -> :math:`u` at :math:`t = \mathrm{steps}\,\Delta t`."""
    u0 = _heat_start(u0, dx, dt, steps, kappa)
    alpha = kappa * dt / dx**2

    def step(u, _):
        interior = u[..., 1:-1] + alpha * (u[..., 2:] - 2.0 * u[..., 1:-1] + u[..., :-2])
        return u.at[..., 1:-1].set(interior), None

    return jax.lax.scan(step, u0, None, length=steps)[0]


@shaped
def heat_implicit(u0: Real[AnyArray, "*batch n"], dx, dt, steps, kappa=1.0,
                  theta=0.5) -> Float[Array, "*batch n"]:
    r"""The :math:`\theta`-scheme for :math:`u_t = \kappa u_{xx}` (:math:`\theta = 1/2`: Crank-Nicolson,
    second order in time; :math:`\theta = 1`: backward Euler), one tridiagonal solve (:func:`thomas`)
    per step,

    .. math:: u_i^{k+1} - \theta\alpha\,\delta^2 u_i^{k+1} = u_i^k + (1 - \theta)\,\alpha\,\delta^2 u_i^k,
              \qquad \delta^2 u_i = u_{i+1} - 2u_i + u_{i-1},

    stable for every :math:`\alpha = \kappa\Delta t/\Delta x^2` when :math:`\theta \ge 1/2`.  Grid and
    boundaries as in :func:`heat_explicit`."""
    u0 = _heat_start(u0, dx, dt, steps, kappa)
    validate.fraction(theta=theta)
    alpha = kappa * dt / dx**2
    ones = jnp.ones_like(u0[..., 1:-1])
    lower, diagonal = -theta * alpha * ones, (1.0 + 2.0 * theta * alpha) * ones

    def step(u, _):
        explicit = u[..., 1:-1] + (1.0 - theta) * alpha * (u[..., 2:] - 2.0 * u[..., 1:-1] + u[..., :-2])
        rhs = explicit.at[..., 0].add(theta * alpha * u[..., 0]).at[..., -1].add(theta * alpha * u[..., -1])
        return u.at[..., 1:-1].set(thomas(lower, diagonal, lower, rhs)), None

    return jax.lax.scan(step, u0, None, length=steps)[0]
