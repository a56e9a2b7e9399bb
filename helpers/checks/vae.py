"""The self-checking exercises of notebook 06 (variational autoencoders)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
from scipy.integrate import quad
from scipy.special import expit, softplus

from helpers.checks._core import Verdict, expect, f32, run

__all__ = ["diagonal_gaussian_kl", "continuous_bernoulli_log_likelihood"]


def _kl(mu_q, logvar_q, mu_p, logvar_p):
    return 0.5 * np.sum(logvar_p - logvar_q + (np.exp(logvar_q) + (mu_q - mu_p) ** 2) / np.exp(logvar_p) - 1,
                        axis=-1)


def diagonal_gaussian_kl(student: Callable) -> Verdict:
    r"""``student(mu_q, logvar_q, mu_p, logvar_p)`` ->
    :math:`D_{KL}(\mathcal{N}(\boldsymbol\mu_q, \mathrm{diag}\,\boldsymbol\sigma_q^2) \Vert
    \mathcal{N}(\boldsymbol\mu_p, \mathrm{diag}\,\boldsymbol\sigma_p^2))
    = \frac12\sum_j\big(\log\sigma_{p,j}^2 - \log\sigma_{q,j}^2
    + (\sigma_{q,j}^2 + (\mu_{q,j} - \mu_{p,j})^2)/\sigma_{p,j}^2 - 1\big)`, ``(n, k)`` -> ``(n,)``, for a
    learned prior shared by every input (``(k,)``) and for one per input (``(n, k)``); the closed form is
    itself checked here against a Monte Carlo estimate of :math:`\mathbb{E}_q[\log q - \log p]`."""
    rng = np.random.default_rng(10)
    mu_q, logvar_q = rng.normal(size=(6, 4)), rng.normal(0, 0.8, size=(6, 4))
    priors = {"a prior shared by every input, (k,)": (rng.normal(size=4), rng.normal(0, 0.8, size=4)),
              "a prior per input, (n, k)": (rng.normal(size=(6, 4)), rng.normal(0, 0.8, size=(6, 4)))}
    mu_p, logvar_p = priors["a prior per input, (n, k)"]
    h = mu_q[0] + np.exp(logvar_q[0] / 2) * rng.normal(size=(200_000, 4))
    log_ratio = np.sum(-0.5 * ((h - mu_q[0]) ** 2 / np.exp(logvar_q[0]) + logvar_q[0])
                       + 0.5 * ((h - mu_p[0]) ** 2 / np.exp(logvar_p[0]) + logvar_p[0]), axis=1)
    mc, mc_se = log_ratio.mean(), log_ratio.std() / np.sqrt(len(log_ratio))
    reference = _kl(mu_q, logvar_q, mu_p, logvar_p)[0]
    assert abs(mc - reference) < 5 * mc_se  # the reference itself, against E_q[log q - log p]

    def trial():
        for name, (m_p, lv_p) in priors.items():
            want = _kl(mu_q, logvar_q, m_p, lv_p)
            expect(student(*f32(mu_q, logvar_q, m_p, lv_p)), want, f"the KL divergence, {name}", known=[
                (_kl(np.broadcast_to(m_p, mu_q.shape), np.broadcast_to(lv_p, mu_q.shape), mu_q, logvar_q),
                 "that is D_KL(p || q): the divergence from q to the prior is an expectation under q"),
                (_kl(mu_q, logvar_q, 0.0, lv_p), "the prior's mean enters the expected squared distance"),
                (_kl(mu_q, logvar_q, m_p, 0.0), "the prior's variance is not one any more: it scales the "
                 "quadratic term and adds its own log-variance"),
                (_kl(mu_q, logvar_q, m_p, lv_p) / 4, "sum over the latent dimensions, do not average")])
        return (f"matches the closed form for both priors; for row 0 a Monte Carlo estimate gives {mc:.3f} ± "
                f"{mc_se:.3f} against the closed form's {reference:.3f}")

    return run("KL divergence to a learned prior", student, "D_KL(q || p) = E_q[log q(h) - log p(h)]: write "
               "both diagonal Gaussian log-densities and take the expectation under q term by term; "
               "E_q[(h - m)^2] = sigma_q^2 + (mu_q - m)^2", trial)


def _cb_log_normaliser(eta):
    """log C(eta) = log(eta / tanh(eta / 2)), -> log 2 at eta = 0 (its series near there)."""
    eta = np.asarray(eta, np.float64)
    small = np.abs(eta) < 1e-3
    safe = np.where(small, 1.0, eta)
    return np.where(small, np.log(2.0) + eta**2 / 24, np.log(safe / np.tanh(safe / 2)))


def continuous_bernoulli_log_likelihood(student: Callable) -> Verdict:
    r"""``student(logits, x)`` -> :math:`\sum_i \log p(x_i|\lambda_i)` for the continuous Bernoulli
    distribution on :math:`x\in[0, 1]`, :math:`p(x|\lambda) = C(\lambda)\,\lambda^x(1-\lambda)^{1-x}`
    (Loaiza-Ganem and Cunningham, NeurIPS 2019), :math:`\lambda = \sigma(\eta)`: in the logit,
    :math:`\log p = x\eta - \log(1 + e^\eta) + \log C`, :math:`C = \eta/\tanh(\eta/2)` (2 at
    :math:`\eta = 0`).  ``logits, x (n, d)`` -> ``(n,)``; logits exactly 0 included.  The reference's
    normalisation is itself checked by quadrature."""
    rng = np.random.default_rng(11)
    n, d = 5, 7
    logits = rng.uniform(-6, 6, size=(n, d))
    logits[0, :3] = 0.0
    logits[1, 0] = 0.05
    x = rng.uniform(0, 1, size=(n, d))
    x[2, :2] = 0.0, 1.0
    bernoulli = x * logits - softplus(logits)
    log_c = _cb_log_normaliser(logits)
    want = np.sum(bernoulli + log_c, axis=1)
    for eta in (0.0, 0.05, -3.0, 6.0):  # the reference integrates to one over [0, 1]
        lam = expit(eta)
        integral = quad(lambda t, lam=lam: lam**t * (1 - lam) ** (1 - t), 0, 1)[0]
        mass = integral * np.exp(_cb_log_normaliser(eta))
        assert abs(mass - 1) < 1e-8

    def trial():
        expect(student(*f32(logits, x)), want, "the log-likelihood", rtol=1e-4, known=[
            (np.sum(bernoulli, axis=1), "that is the Bernoulli log-likelihood: for x in [0, 1] it does not "
             "integrate to one; find C(lambda) from the integral over x"),
            (np.sum(bernoulli - log_c, axis=1), "C multiplies the density: log C enters with a plus sign"),
            (np.mean(bernoulli + log_c, axis=1), "sum over the pixels, do not average")],
            nonfinite_hint="C(lambda) has a finite limit at lambda = 1/2 (logit 0): find it, and use it "
                           "(or its series) there")
        return "matches the closed form, logits of exactly 0 included; the reference integrates to one"

    return run("continuous Bernoulli log-likelihood", student,
               "the normaliser: 1 / C(lambda) = integral over x in [0, 1] of lambda^x (1 - lambda)^(1 - x), "
               "an exponential in x; write it in the logit eta = log(lambda / (1 - lambda)) and take its "
               "limit at eta = 0", trial)
