"""The self-checking exercises of notebook 05 (energy-based models)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["tempered_langevin_step", "score_matching_loss"]


def tempered_langevin_step(student: Callable) -> Verdict:
    r"""``student(key, grad_energy, x, eps, mass, temperature)`` -> one unadjusted Langevin step for
    :math:`p_T \propto e^{-E/T}` with a diagonal preconditioner :math:`m`, i.e. the plain step in
    :math:`y_i = x_i/\sqrt{m_i}` on :math:`E/T`, written in :math:`x`:
    :math:`x_i - \frac{\epsilon}{2}\frac{m_i}{T}\partial_iE + \sqrt{\epsilon m_i}\,\xi_i`.  On
    :math:`E = \frac12\sum_i\kappa_ix_i^2` one step from a fixed point has mean
    :math:`x_i(1 - \epsilon m_i\kappa_i/(2T))` and variance :math:`\epsilon m_i` exactly; 20 000 chains must
    reproduce both within five standard errors."""
    kappa, mass, x0 = np.array([1.0, 4.0]), np.array([0.5, 2.0]), np.array([1.0, -0.5])
    eps, temperature, n = 0.2, 2.0, 20_000

    def trial():
        x = jnp.tile(jnp.asarray(x0, jnp.float32), (n, 1))
        out = student(jax.random.key(0), lambda y: y * jnp.asarray(kappa, jnp.float32), x, eps,
                      jnp.asarray(mass, jnp.float32), temperature)
        if out is None:
            raise Mismatch("the step is None: the function returns nothing",
                           "end the function with `return ...`")
        out = np.asarray(out, np.float64)
        if out.shape != (n, 2):
            raise Mismatch(f"returned shape {out.shape}; expected the shape of x, {(n, 2)}")
        mean, var = out.mean(0), out.var(0)
        tol_mean, tol_var = 5 * np.sqrt(eps * mass / n), 5 * eps * mass * np.sqrt(2 / n)

        def drift(m, t):
            return x0 * (1 - eps * m * kappa / (2 * t))

        if np.any(np.abs(mean - drift(mass, temperature)) > tol_mean):
            known = [
                (drift(mass, 1.0), "the chain samples e^{-E/T}: the energy the step in y sees is E/T"),
                (drift(np.sqrt(mass), temperature), "the chain rule acts twice: once in the gradient with "
                 "respect to y, once when y' is mapped back to x"),
                (x0 * (1 + eps * mass * kappa / (2 * temperature)),
                 "the sign: the drift goes down the energy"),
                (drift(1.0, temperature), "the preconditioner is missing from the drift")]
            for wrong, hint in known:
                if np.all(np.abs(mean - wrong) < tol_mean):
                    raise Mismatch("the mean of one step is wrong", hint)
            raise Mismatch(f"the mean of one step is {mean.round(4)}; expected {drift(mass, temperature)}")
        if np.any(np.abs(var - eps * mass) > tol_var):
            if np.all(var < eps * mass.min() / 100):
                raise Mismatch("every chain got the same noise (or none)", "draw xi with the shape of x")
            known = [(eps * np.ones(2), "the noise sqrt(eps) xi lives in y; what is its variance in x?"),
                     (eps * mass * temperature, "in this step the temperature enters the drift only"),
                     (eps * mass**2, "x = sqrt(m) y: the variance scales with m, not m^2")]
            for wrong, hint in known:
                if np.all(np.abs(var - wrong) < tol_var):
                    raise Mismatch(f"the variance of one step is {var.round(4)}", hint)
            raise Mismatch(f"the variance of one step is {var.round(4)}; expected {eps * mass}")
        return (f"mean and variance of one step from {n} chains agree with the exact ones "
                f"(eps = {eps}, T = {temperature}, m = {mass.tolist()})")

    return run("tempered, preconditioned Langevin step", student,
               "write section 1's step in y for the energy E(x(y))/T, apply the chain rule to its "
               "gradient, then map y' back with x_i = sqrt(m_i) y_i", trial)


def score_matching_loss(student: Callable) -> Verdict:
    r"""``student(energy_fn, x)`` -> Hyvärinen's score-matching objective for :math:`p \propto e^{-E}`,
    :math:`J = \big\langle \tfrac12|\nabla_\mathbf{x}E|^2 - \nabla^2_\mathbf{x}E \big\rangle_{\rm data}`,
    with ``energy_fn`` mapping one point ``(d,)`` to a scalar and ``x (n, d)``; checked against the closed
    forms for a Gaussian energy and for a non-Gaussian one."""
    rng = np.random.default_rng(5)
    d, n = 3, 40
    x = rng.normal(size=(n, d))
    mu, a = rng.normal(size=d), rng.uniform(0.5, 2.0, size=d)
    root = rng.normal(size=(d, d))
    precision = root @ root.T / d + np.eye(d)

    def gaussian(y):
        z = y - jnp.asarray(mu, y.dtype)
        return 0.5 * z @ jnp.asarray(precision, y.dtype) @ z

    def quartic(y):
        return jnp.sum(jnp.log(jnp.cosh(jnp.asarray(a, y.dtype) * y)) + 0.25 * y**4)

    cases = {
        "Gaussian energy": (gaussian, (x - mu) @ precision, np.full(n, np.trace(precision))),
        "log cosh + quartic energy": (quartic, a * np.tanh(a * x) + x**3,
                                      np.sum(a**2 * (1 - np.tanh(a * x) ** 2) + 3 * x**2, axis=1)),
    }

    def trial():
        for name, (energy, grad, laplacian) in cases.items():
            half_sq = 0.5 * np.sum(grad**2, axis=1)
            want = np.mean(half_sq - laplacian)
            expect(student(energy, *f32(x)), want, f"J for the {name}", known=[
                (np.mean(half_sq + laplacian),
                 "log p = -E - log Z: the Laplacian of log p is minus that of E"),
                (np.mean(2 * half_sq - laplacian), "the first term is half the squared score"),
                (np.sum(half_sq - laplacian), "average over the data points, do not sum"),
                (np.mean(half_sq), "the second term, the Laplacian, is missing")])
        return "matches the closed forms for a Gaussian and a log cosh + quartic energy"

    return run("score-matching loss", student,
               "Hyvärinen's J = E_data[1/2 |grad_x log p|^2 + Laplacian_x log p] with log p = -E - log Z; "
               "the Laplacian is the trace of the Hessian in x", trial)
