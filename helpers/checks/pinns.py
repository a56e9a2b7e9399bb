"""The self-checking exercises of notebook 09 (differential equations and physics-informed networks)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, run

__all__ = ["advection_diffusion_residual", "insulated_end_trial"]


def _random_fields(count: int):
    """Smooth test fields of (x, t): one-hidden-layer tanh networks with fixed random weights."""
    rng = np.random.default_rng(9)
    fields = []
    for _ in range(count):
        w, b, v = rng.normal(size=(2, 6)), rng.normal(size=6), rng.normal(size=6)
        fields.append(lambda p, w=w, b=b, v=v: jnp.tanh(p @ w + b) @ v)
    return fields


def advection_diffusion_residual(student: Callable) -> Verdict:
    r"""``student(u, points, kappa, c)`` -> the residual :math:`r = u_t + c\,u_x - \kappa u_{xx}` of the
    advection-diffusion equation at ``points (n, 2)`` of :math:`(x, t)`, for a field ``u`` of one
    point ``(2,)`` -> scalar; shape ``(n,)``.  Compared (float64) with ``jax.grad``/``jax.hessian`` on three
    random smooth fields, and required to vanish on the exact solution
    :math:`e^{-\kappa\pi^2 t}\sin(\pi(x - ct))`."""
    points = np.random.default_rng(4).uniform(0.0, 1.0, (25, 2))

    def reference(u, kappa, c):
        def r(p):
            g, h = jax.grad(u)(p), jax.hessian(u)(p)
            return g[1] + c * g[0] - kappa * h[0, 0]
        return jax.vmap(r)(jnp.asarray(points))

    def trial():
        with jax.enable_x64(True):
            for kappa, c in [(0.5, 1.5), (0.1, -2.0)]:
                for k, u in enumerate(_random_fields(3)):
                    want = np.asarray(reference(u, kappa, c))
                    parts = [np.asarray(reference(u, *args)) for args in ((0.0, 0.0), (0.0, c), (kappa, 0.0))]
                    u_t, advection, diffusion = parts[0], parts[1] - parts[0], parts[2] - parts[0]
                    known = [(u_t - advection + diffusion, "the advection term is +c du/dx: the profile "
                              "moves towards larger x for c > 0"),
                             (u_t + advection - diffusion, "the diffusion term enters as -kappa d2u/dx2 "
                              "(on the left-hand side)"),
                             (u_t + advection + diffusion / kappa, "multiply d2u/dx2 by kappa")]
                    got = student(u, jnp.asarray(points), kappa, c)
                    expect(got, want, f"the residual of test field {k + 1} (kappa = {kappa}, c = {c})",
                           known=known, rtol=1e-6)

                def wave(p, kappa=kappa, c=c):
                    return jnp.exp(-kappa * jnp.pi**2 * p[1]) * jnp.sin(jnp.pi * (p[0] - c * p[1]))

                exact = np.asarray(student(wave, jnp.asarray(points), kappa, c), np.float64)
                if not np.max(np.abs(exact)) < 1e-8:
                    worst = np.max(np.abs(exact))
                    raise Mismatch(f"the residual of the exact solution is up to {worst:.2g}; expected 0")
        return "equals the autodiff residual on random fields and vanishes on the exact travelling wave"

    return run("advection-diffusion residual", student, "r = du/dt + c du/dx - kappa d2u/dx2: take the "
               "gradient of u at one point (x, t) and the second derivative in x, then vmap over points",
               trial)


def insulated_end_trial(student: Callable) -> Verdict:
    r"""``student(network, p)`` -> a trial function :math:`\hat u(x, t)` for :math:`u_t = u_{xx}` on
    :math:`[0, 1]` with :math:`u(0, t) = 0`, an insulated end :math:`u_x(1, t) = 0` and
    :math:`u(x, 0) = \sin(\pi x / 2)`, built from ``network`` (a function of ``p = (x, t)``, shape
    ``(2,)``, to a scalar) so that all three conditions hold for *every* network.  Checked on four random
    networks at 11 points of each boundary; the trial must also depend on the network inside."""
    edge = np.linspace(0.0, 1.0, 11)

    def trial():
        with jax.enable_x64(True):
            networks = _random_fields(4)
            for k, network in enumerate(networks):
                u = lambda p, network=network: student(network, p)  # noqa: E731
                start = np.asarray(jax.vmap(u)(jnp.stack([edge, 0 * edge], 1)), np.float64)
                gap = np.max(np.abs(start - np.sin(np.pi * edge / 2)))
                if not gap < 1e-8:
                    raise Mismatch(f"u(x, 0) differs from sin(pi x / 2) by up to {gap:.2g} (network {k + 1})",
                                   "the network's term must vanish at t = 0: multiply it by t")
                left = np.asarray(jax.vmap(u)(jnp.stack([0 * edge, edge], 1)), np.float64)
                if not np.max(np.abs(left)) < 1e-8:
                    raise Mismatch(f"u(0, t) is up to {np.max(np.abs(left)):.2g}; expected 0 "
                                   f"(network {k + 1})",
                                   "the network's term must vanish at x = 0 too")
                right = jnp.stack([0 * edge + 1, edge], 1)
                slope = np.asarray(jax.vmap(jax.grad(u))(right)[:, 0], np.float64)
                if not np.max(np.abs(slope)) < 1e-8:
                    raise Mismatch(f"the slope u_x(1, t) is up to {np.max(np.abs(slope)):.2g}; expected 0 "
                                   f"for every network (network {k + 1})",
                                   "an insulated end fixes the slope, not the value: a factor that vanishes "
                                   "at x = 1 sets u(1, t), not u_x(1, t). Use a function of g = x(2 - x), "
                                   "whose slope vanishes at x = 1, for the whole network term")
            inside = jnp.asarray([[0.3, 0.4], [0.7, 0.8]])
            values = [np.asarray(jax.vmap(lambda p, n=n: student(n, p))(inside)) for n in networks[:2]]
            if np.allclose(values[0], values[1], atol=1e-6):
                raise Mismatch("the trial function is the same for two different networks inside the domain",
                               "the network must be free to change the solution where no condition holds")
        return "meets u(x, 0) = sin(pi x / 2), u(0, t) = 0 and u_x(1, t) = 0 exactly for every network"

    return run("trial function with an insulated end", student, "u = A + D N with A meeting the three "
               "conditions and D N vanishing at t = 0 and x = 0 and flat at x = 1 for every N", trial)
