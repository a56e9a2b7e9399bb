r"""Dynamical systems for the recurrent networks: an RK4 integrator under ``lax.scan``, the Lorenz-63
system, its largest Lyapunov exponent from the tangent dynamics, and forecast skill.

A flow :math:`\dot{\mathbf{x}} = f(\mathbf{x})` with state ``x (..., d)``; ``f`` maps ``(..., d)`` to
``(..., d)``, so a batch of trajectories integrates at once.
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped

LORENZ_LYAPUNOV = 0.9056  # largest Lyapunov exponent at sigma = 10, rho = 28, beta = 8/3 (Sprott 2003)


@shaped
def lorenz63(x: Real[AnyArray, "*batch 3"], sigma=10.0, rho=28.0, beta=8.0 / 3.0) -> Real[Array, "*batch 3"]:
    r"""Lorenz (1963): :math:`\dot x = \sigma(y - x)`, :math:`\dot y = x(\rho - z) - y`,
    :math:`\dot z = xy - \beta z`.  ``x (..., 3)`` -> ``(..., 3)``."""
    u, v, w = x[..., 0], x[..., 1], x[..., 2]
    return jnp.stack([sigma * (v - u), u * (rho - w) - v, u * v - beta * w], axis=-1)


@shaped
def rk4_step(f, x: Float[AnyArray, "*batch d"], dt) -> Float[Array, "*batch d"]:
    r"""One classical Runge-Kutta step, global error :math:`O(\Delta t^4)`:
    :math:`k_1 = f(x)`, :math:`k_2 = f(x + \tfrac{\Delta t}{2} k_1)`,
    :math:`k_3 = f(x + \tfrac{\Delta t}{2} k_2)`,
    :math:`k_4 = f(x + \Delta t\, k_3)`, :math:`x' = x + \tfrac{\Delta t}{6}(k_1 + 2k_2 + 2k_3 + k_4)`."""
    validate.positive_number(dt=dt)
    k1 = f(x)
    k2 = f(x + 0.5 * dt * k1)
    k3 = f(x + 0.5 * dt * k2)
    k4 = f(x + dt * k3)
    return x + dt / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def _initial_state(f, x0, dt, steps) -> jax.Array:
    """The flow, step size and step count checked; ``x0`` finite (also under ``jit``), as a JAX array."""
    validate.callable_("f", f)
    validate.positive_number(dt=dt)
    validate.positive_int(steps=steps)
    return validate.finite("x0", jnp.asarray(x0))


@shaped
def integrate(f, x0: Float[AnyArray, "*batch d"], dt, steps) -> Float[Array, "steps_plus_1 *batch d"]:
    """``steps`` RK4 steps from ``x0 (..., d)`` under one ``lax.scan``; returns the trajectory
    ``(steps + 1, ..., d)``, ``x0`` first."""
    x0 = _initial_state(f, x0, dt, steps)
    _, xs = jax.lax.scan(lambda x, _: (rk4_step(f, x, dt),) * 2, x0, None, length=steps)
    return jnp.concatenate([x0[None], xs])


@shaped
def lyapunov_exponent(f, x0: Float[AnyArray, "*batch d"], dt, steps, transient=0) -> Float[Array, "*batch"]:
    r"""The largest Lyapunov exponent by Benettin's method on the tangent dynamics.

    A tangent vector :math:`v` follows the linearised RK4 map, :math:`v \leftarrow J(x)\,v`
    (``jax.jvp`` of :func:`rk4_step`, no Jacobian matrix formed), and is renormalised every step:

    .. math::  \lambda_1 = \lim_{n\to\infty} \frac{1}{n\,\Delta t}
               \sum_{k=1}^{n} \ln\lVert J(x_{k-1})\,v_{k-1}\rVert ,
               \qquad v_k = \frac{J(x_{k-1})\,v_{k-1}}{\lVert J(x_{k-1})\,v_{k-1}\rVert}.

    ``x0 (..., d)`` gives one estimate per trajectory ``(...)``; the first ``transient`` steps bring
    the state onto the attractor and are not counted."""
    x0 = _initial_state(f, x0, dt, steps)
    validate.nonnegative_int(transient=transient)

    def step(x):
        return rk4_step(f, x, dt)

    if transient:
        x0 = jax.lax.fori_loop(0, transient, lambda _, x: step(x), x0)
    v0 = jnp.ones_like(x0) / jnp.sqrt(x0.shape[-1])

    def tangent(carry, _):
        x, v = carry
        x, v = jax.jvp(step, (x,), (v,))
        norm = jnp.linalg.norm(v, axis=-1, keepdims=True)
        return (x, v / norm), jnp.log(norm[..., 0])

    _, logs = jax.lax.scan(tangent, (x0, v0), None, length=steps)
    return logs.sum(axis=0) / (steps * dt)


@shaped
def normalised_error(
    prediction: Real[AnyArray, "*batch T d"], truth: Real[AnyArray, "*batch T d"],
    scale: Real[AnyArray, "#d"] | Real[AnyArray, ""] | float,
) -> Float[Array, "*batch T"]:
    r""":math:`E(t) = \sqrt{\frac1d \sum_i \big((\hat x_i(t) - x_i(t))/s_i\big)^2}`, each coordinate in
    units of its spread ``scale (d,)`` on the attractor: ``(..., T, d)`` -> ``(..., T)``."""
    return jnp.sqrt(jnp.mean(((prediction - truth) / scale) ** 2, axis=-1))


@shaped
def valid_prediction_time(error: Real[AnyArray, "*batch T"], dt, threshold=0.4) -> Real[Array, "*batch"]:
    r"""The valid prediction time, :math:`t_{\mathrm{VPT}} = \min\{t : E(t) > \text{threshold}\}`
    (Pathak et al. 2018), from errors ``(..., T)`` sampled every ``dt``; a forecast that never
    crosses gets the whole horizon ``T dt``.  Returns ``(...)``."""
    validate.positive_number(dt=dt, threshold=threshold)
    above = error > threshold
    first = jnp.where(above.any(axis=-1), jnp.argmax(above, axis=-1), error.shape[-1])
    return first * dt
