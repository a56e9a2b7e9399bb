"""The self-checking exercises of notebook 06 (variational autoencoders)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["gaussian_kl", "reparameterize"]


def gaussian_kl(student: Callable) -> Verdict:
    r"""``student(mu, logvar)`` ->
    :math:`D_{KL}(\mathcal{N}(\boldsymbol\mu, \mathrm{diag}\,\boldsymbol\sigma^2) \Vert \mathcal{N}(0, I))
    = \frac12\sum_j(\mu_j^2 + \sigma_j^2 - 1 - \log\sigma_j^2)`, ``(n, k)`` ->
    ``(n,)``; the closed form is itself checked here against a Monte Carlo estimate."""
    rng = np.random.default_rng(10)
    mu, logvar = rng.normal(size=(6, 4)), rng.normal(0, 0.8, size=(6, 4))
    want = 0.5 * np.sum(mu**2 + np.exp(logvar) - 1 - logvar, axis=1)
    h = mu[0] + np.exp(logvar[0] / 2) * rng.normal(size=(200_000, 4))
    log_ratio = np.sum(-0.5 * ((h - mu[0]) ** 2 / np.exp(logvar[0]) + logvar[0]) + 0.5 * h**2, axis=1)
    mc, mc_se = log_ratio.mean(), log_ratio.std() / np.sqrt(len(log_ratio))
    assert abs(mc - want[0]) < 5 * mc_se  # the reference itself, against E_q[log q - log p]

    def trial():
        expect(student(*f32(mu, logvar)), want, "the KL divergence", known=[
            (0.5 * np.sum(mu**2 + np.exp(logvar / 2) - 1 - logvar / 2, axis=1),
             "logvar is log sigma^2: sigma^2 = exp(logvar)"),
            (want / 4, "sum over the latent dimensions, do not average")])
        return (f"matches the closed form on 6 rows; for row 0 a Monte Carlo estimate gives {mc:.3f} ± "
                f"{mc_se:.3f} against the closed form's {want[0]:.3f}")

    return run("Gaussian KL term", student, "sigma^2 = exp(logvar); sum 0.5 * (mu^2 + sigma^2 - 1 - logvar) "
                "over the last axis", trial)


def reparameterize(student: Callable) -> Verdict:
    r"""``student(key, mu, logvar)`` ->
    :math:`\mathbf{h} = \boldsymbol\mu + e^{\log\sigma^2/2}\boldsymbol\epsilon`,
    :math:`\boldsymbol\epsilon\sim\mathcal{N}(0, I)`: mean and spread over 20 000 draws within five standard
    errors, and the path derivatives :math:`\partial h/\partial\mu = 1`,
    :math:`\partial h/\partial\log\sigma^2 = (h - \mu)/2` through ``jax.grad``."""
    n = 20_000
    mu = np.tile([0.5, -1.0, 2.0], (n, 1))
    logvar = np.tile([0.0, np.log(4.0), np.log(0.25)], (n, 1))
    sigma = np.exp(logvar[0] / 2)

    def trial():
        key, (m, lv) = jax.random.key(0), f32(mu, logvar)
        h = np.asarray(student(key, m, lv), np.float64)
        if h.shape != mu.shape:
            raise Mismatch(f"returned shape {h.shape}; expected the shape of mu, {mu.shape}")
        if np.max(np.abs(h.mean(0) - mu[0]) / sigma) > 5 / np.sqrt(n):
            raise Mismatch(f"the samples' mean is {h.mean(0).round(3)}; expected mu = {mu[0]}")
        spread = h.std(0)
        if np.max(np.abs(spread / sigma - 1)) > 5 / np.sqrt(2 * n):
            hint = ("the standard deviation is exp(logvar / 2), not exp(logvar)"
                    if np.allclose(spread, sigma**2, rtol=0.05) else None)
            raise Mismatch(f"the samples' spread is {spread.round(3)}; expected {sigma.round(3)}", hint)
        d_mu = jax.grad(lambda a: jnp.sum(student(key, a, lv)))(m)
        d_lv = jax.grad(lambda b: jnp.sum(student(key, m, b)))(lv)
        expect(d_mu, np.ones_like(mu), "dh/dmu")
        expect(d_lv, (h - mu) / 2, "dh/dlogvar", rtol=1e-3)
        return "mean, spread and the path derivatives through jax.grad are right"

    return run("reparameterisation", student, "sigma = exp(logvar / 2); draw eps ~ N(0, I) from the key, so "
                "that the randomness does not depend on mu or logvar", trial)
