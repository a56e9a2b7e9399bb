"""The self-checking exercises of notebook 05 (energy-based models)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["langevin_step", "ebm_loss"]


def langevin_step(student: Callable) -> Verdict:
    r"""``student(key, grad_energy, x, eps)`` -> :math:`\mathbf{x} - \frac{\epsilon}{2}\nabla E(\mathbf{x})
    + \sqrt{\epsilon}\,\boldsymbol\xi`, ``x (n, d)``.  On :math:`E = \frac12\sum_i\kappa_ix_i^2` one step from
    a fixed point has mean :math:`x_i(1 - \epsilon\kappa_i/2)` and variance :math:`\epsilon` exactly;
    20 000 chains must reproduce both within five standard errors."""
    kappa, x0, eps, n = np.array([1.0, 4.0]), np.array([1.0, -0.5]), 0.1, 20_000

    def trial():
        x = jnp.tile(jnp.asarray(x0, jnp.float32), (n, 1))
        out = np.asarray(student(jax.random.key(0), lambda y: y * jnp.asarray(kappa, jnp.float32), x, eps),
                         np.float64)
        if out.shape != (n, 2):
            raise Mismatch(f"returned shape {out.shape}; expected the shape of x, {(n, 2)}")
        mean, var = out.mean(0), out.var(0)
        tol_mean, tol_var = 5 * np.sqrt(eps / n), 5 * eps * np.sqrt(2 / n)
        drift = {"ok": x0 * (1 - eps * kappa / 2), "full": x0 * (1 - eps * kappa),
                 "up": x0 * (1 + eps * kappa / 2)}
        if np.max(np.abs(mean - drift["ok"])) > tol_mean:
            why = {"full": "the drift is (eps/2) grad E, half the step",
                   "up": "the sign: go down the energy, x - (eps/2) grad E"}
            for name, hint in why.items():
                if np.max(np.abs(mean - drift[name])) < tol_mean:
                    raise Mismatch("the mean of one step is wrong", hint)
            raise Mismatch(f"the mean of one step is {mean.round(4)}, not x(1 - eps kappa / 2)")
        if np.max(np.abs(var - eps)) > tol_var:
            if np.all(var < eps / 100):
                raise Mismatch("every chain got the same noise (or none)", "draw xi with the shape of x")
            raise Mismatch(f"the variance of one step is {var.round(4)}; expected eps = {eps}",
                            "the noise is sqrt(eps) xi with xi ~ N(0, I): its variance is eps")
        return f"mean and variance of one step from 20 000 chains agree with the exact ones (eps = {eps})"

    return run("Langevin step", student, "compare your code term by term with the equation; draw the noise "
                "from the key with the shape of x", trial)


def ebm_loss(student: Callable) -> Verdict:
    r"""``student(energy_fn, x_data, x_model, alpha)`` -> the loss of
    :func:`helpers.generative.ebm.contrastive_divergence_loss`,
    :math:`\langle E(\mathbf{x}^+)\rangle - \langle E(\mathbf{x}^-)\rangle + \alpha\langle E(\mathbf{x}^+)^2
    + E(\mathbf{x}^-)^2\rangle`, with no gradient flowing into the model samples."""
    rng = np.random.default_rng(9)
    xp, xm, c = rng.normal(size=(64, 3)), rng.normal(1, 2, size=(48, 3)), rng.normal(size=3)

    def energy(x):
        return jnp.sin(x) @ jnp.asarray(c, jnp.float32) + 0.5 * jnp.sum(x**2, axis=1)

    def trial():
        ep, em = (np.sin(v) @ c + 0.5 * np.sum(v**2, axis=1) for v in (xp, xm))
        for alpha in (0.0, 0.3):
            want = ep.mean() - em.mean() + alpha * (np.mean(ep**2) + np.mean(em**2))
            expect(student(energy, *f32(xp, xm), alpha), want, f"the loss (alpha = {alpha})", known=[
                (-want + 2 * alpha * (np.mean(ep**2) + np.mean(em**2)), "the sign: the data's energy enters "
                 "with +, so minimising pushes it down"),
                (ep.mean() - em.mean() + alpha * (ep.mean() ** 2 + em.mean() ** 2), "the regulariser is the "
                 "mean of the squared energies, not the square of the mean")])
        grad = jax.grad(lambda m: student(energy, *f32(xp), m, 0.3))(*f32(xm))
        if np.any(np.asarray(grad) != 0):
            raise Mismatch("a gradient flows into x_model", "wrap the model samples in "
                            "jax.lax.stop_gradient: the sampler is not part of the model")
        return "value matches for two alphas, and no gradient reaches x_model"

    return run("EBM contrastive loss", student, "evaluate energy_fn on both batches; the regulariser is "
                "alpha times the mean squared energy of each batch", trial)
