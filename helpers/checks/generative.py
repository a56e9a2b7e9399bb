"""Self-checking exercises of notebooks 04-08: Boltzmann machines, energy-based models, VAEs,
diffusion models and GANs."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from scipy.special import expit, logsumexp

from helpers.checks._core import Mismatch, Verdict, expect, f32, f32_params, run
from helpers.generative import rbm

# ---------------------------------------------------------------- 04 Boltzmann machines

_N_V, _N_H = 4, 3
_STATES_V = np.array(list(itertools.product([0, 1], repeat=_N_V)), np.float64)
_STATES_H = np.array(list(itertools.product([0, 1], repeat=_N_H)), np.float64)


def _rbm(seed: int):
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0, 0.5, _N_V), "b": rng.normal(0, 0.5, _N_H),
            "W": rng.normal(0, 1.5, (_N_V, _N_H))}


def _student_params(p) -> rbm.RBMParams:
    """The NumPy parameters as the student's functions receive them: float32 :class:`rbm.RBMParams`."""
    return rbm.RBMParams(**f32_params(p))


def _joint_log_weights(p):
    """-E(x, h) for every pair of states, ``(16, 8)``."""
    return (_STATES_V @ p["a"])[:, None] + (_STATES_H @ p["b"])[None] + _STATES_V @ p["W"] @ _STATES_H.T


def rbm_free_energy(student: Callable) -> Verdict:
    r"""``student(params, x)`` -> :math:`F(\mathbf{x}) = -\log\sum_\mathbf{h}e^{-E(\mathbf{x},\mathbf{h})}`
    ``(n,)`` for a binary RBM, params ``rbm.RBMParams(a (4,), b (3,), W (4, 3))``, against enumeration of all
    8 hidden states for all 16 visible ones (the convention of :mod:`helpers.generative.rbm`)."""

    def trial():
        for seed in (6, 7):
            p = _rbm(seed)
            want = -logsumexp(_joint_log_weights(p), axis=1)
            got = student(_student_params(p), *f32(_STATES_V))
            expect(got, want, "F(x)", known=[
                (-want, "the sign: p(x) = e^(-F(x)) / Z, so F = -log sum_h e^(-E(x, h))"),
                (want + _STATES_V @ p["a"], "the visible bias term -a^T x is missing")])
        return "equals -log sum_h e^(-E) by enumeration for all 16 visible states of two RBMs"

    return run("RBM free energy", student, "sum out each hidden unit: sum over h_j in {0, 1} of "
                "e^(h_j (b_j + (x^T W)_j)) = 1 + e^(b_j + (x^T W)_j)", trial)


def _cd1_expectation(p, x):
    """By enumeration: the exact expectation of the CD-1 estimator, the exact log-likelihood gradient,
    and CD-1 with its sign flipped (a known mistake), each a dict like the parameters."""
    ph = expit(p["b"] + x @ p["W"])  # (n, 3): p(h_j = 1 | x)
    pos = {"a": x.mean(0), "b": ph.mean(0), "W": x.T @ ph / len(x)}
    log_px_h = _STATES_H @ p["W"].T + p["a"]  # (8, 4) visible logits given each h
    p_x_given_h = np.exp(_STATES_V @ log_px_h.T - np.logaddexp(0, log_px_h).sum(1))  # (16, 8)
    p_h_given_x = np.prod(np.where(_STATES_H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)  # (n, 8)
    weights = (p_h_given_x @ p_x_given_h.T).mean(0)  # (16,): p(x') after one Gibbs step, averaged over data
    model = np.exp(logsumexp(_joint_log_weights(p), axis=1))
    model /= model.sum()
    ph_states = expit(p["b"] + _STATES_V @ p["W"])

    def phase(w):
        return {"a": w @ _STATES_V, "b": w @ ph_states, "W": (_STATES_V * w[:, None]).T @ ph_states}

    neg, exact = phase(weights), phase(model)
    return ({k: pos[k] - neg[k] for k in pos}, {k: pos[k] - exact[k] for k in pos},
            {k: neg[k] - pos[k] for k in pos})


def cd1_gradient(student: Callable) -> Verdict:
    r"""``student(key, params, x)`` -> the CD-1 estimate of the log-likelihood gradient (the ascent
    direction, an ``rbm.RBMParams`` like params, averaged over the batch): positive phase at the data,
    negative phase at :math:`\mathbf{x}'` from one Gibbs step :math:`\mathbf{x}\to\mathbf{h}\to\mathbf{x}'`,
    with :math:`p(h_j{=}1|\mathbf{x}')` in the hidden terms.  Its average over 16 384 chains from four data
    vectors must match the exact expectation of CD-1 (enumerated) within five standard errors."""
    p = _rbm(8)
    data = _STATES_V[[3, 5, 10, 15]]
    x = np.repeat(data, 4096, axis=0)
    want, exact, flipped = _cd1_expectation(p, x)
    tol = 2.5 / np.sqrt(len(x))  # five standard errors: each chain's term lies in [0, 1], so its std <= 1/2

    def trial():
        got = student(jax.random.key(0), _student_params(p), *f32(x))
        if not isinstance(got, rbm.RBMParams):
            raise Mismatch(f"expected rbm.RBMParams(a=..., b=..., W=...); got {type(got).__name__}")
        for name in ("a", "b", "W"):
            g = np.asarray(getattr(got, name), np.float64)
            if g.shape != want[name].shape:
                raise Mismatch(f"the gradient for {name} has shape {g.shape}; expected {want[name].shape}")
            error = np.max(np.abs(g - want[name]))
            if error < tol:
                continue
            for wrong, why in [(flipped, "the sign: the ascent direction is positive minus negative phase"),
                               (exact, "that is the exact gradient (the model average); CD-1 uses x' from "
                                "one Gibbs step started at the data")]:
                if np.max(np.abs(g - wrong[name])) < tol:
                    raise Mismatch(f"the gradient for {name} differs from CD-1's", why)
            raise Mismatch(f"the gradient for {name} differs from CD-1's expectation by {error:.3f}, more "
                            f"than five standard errors ({tol:.3f})")
        return "matches the exact expectation of CD-1 (by enumeration) within five standard errors"

    return run("CD-1 gradient", student, "sample h ~ p(h|x), then x' ~ p(x'|h); gradient = <x p(h|x)^T> "
                "- <x' p(h|x')^T> and likewise for a and b, averaged over the batch", trial)


# ---------------------------------------------------------------- 05 energy-based models


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


# ---------------------------------------------------------------- 06 variational autoencoders


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


# ---------------------------------------------------------------- 07 diffusion models


def ddim_step(student: Callable) -> Verdict:
    r"""``student(x_t, eps_hat, alpha_bar_t, alpha_bar_prev)`` -> the deterministic (:math:`\eta = 0`) DDIM
    step :math:`\sqrt{\bar\alpha_{t'}}\,\hat{\mathbf{x}}_0
    + \sqrt{1 - \bar\alpha_{t'}}\,\hat{\boldsymbol\epsilon}`, where
    :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t - \sqrt{1 - \bar\alpha_t}\,\hat{\boldsymbol\epsilon})
    /\sqrt{\bar\alpha_t}`.
    Checked by the closed form: when ``x_t`` was made from :math:`\mathbf{x}_0` with noise
    :math:`\boldsymbol\epsilon` and :math:`\hat{\boldsymbol\epsilon} = \boldsymbol\epsilon`, the step lands
    exactly on :math:`\sqrt{\bar\alpha_{t'}}\mathbf{x}_0 + \sqrt{1 - \bar\alpha_{t'}}\boldsymbol\epsilon`."""
    rng = np.random.default_rng(11)

    def trial():
        for ab, ab_prev in [(0.3, 0.5), (0.02, 0.9), (0.7, 0.71)]:
            x0, eps = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
            x_t = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
            want = np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps
            expect(student(*f32(x_t, eps), ab, ab_prev), want, f"the step from alpha_bar = {ab}",
                    rtol=1e-3, known=[(np.sqrt(ab_prev) * x0, "add the predicted noise back, scaled by "
                                       "sqrt(1 - alpha_bar_prev): the step keeps the direction of eps_hat")])
        return "lands on the closed form sqrt(abar') x0 + sqrt(1 - abar') eps for three pairs of times"

    return run("DDIM step", student, "first estimate x0 from x_t and eps_hat, then re-noise it to the "
                "earlier time with the same eps_hat", trial)


def q_posterior(student: Callable) -> Verdict:
    r"""``student(x_t, x0, alpha_t, alpha_bar_t, alpha_bar_prev)`` -> ``(mean, variance)`` of
    :math:`q(\mathbf{x}_{t-1}|\mathbf{x}_t, \mathbf{x}_0)`, against Bayes' rule for the product of the
    Gaussians :math:`q(\mathbf{x}_{t-1}|\mathbf{x}_0)\,q(\mathbf{x}_t|\mathbf{x}_{t-1})` (precisions add).
    The variance may be a scalar or an array like ``x_t``."""
    rng = np.random.default_rng(12)

    def trial():
        for alpha, ab_prev in [(0.98, 0.6), (0.9, 0.05)]:
            ab = alpha * ab_prev
            x0, x_t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
            precision = 1 / (1 - ab_prev) + alpha / (1 - alpha)
            var = 1 / precision
            mean = var * (np.sqrt(ab_prev) * x0 / (1 - ab_prev) + np.sqrt(alpha) * x_t / (1 - alpha))
            got = student(*f32(x_t, x0), alpha, ab, ab_prev)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise Mismatch("expected a pair (mean, variance)")
            expect(got[0], mean, f"the mean (alpha_t = {alpha})", rtol=1e-3)
            got_var = np.broadcast_to(np.asarray(got[1], np.float64), mean.shape)
            expect(got_var, np.full(mean.shape, var), f"the variance (alpha_t = {alpha})", rtol=1e-3, known=[
                (np.full(mean.shape, 1 - alpha), "beta_t is the forward step's variance; the posterior's is "
                 "beta_t (1 - alpha_bar_(t-1)) / (1 - alpha_bar_t)")])
        return "mean and variance agree with Bayes' rule for two steps of a schedule"

    return run("forward-process posterior", student, "complete the square in x_(t-1) in log q(x_(t-1)|x0) + "
                "log q(x_t|x_(t-1)); the precisions 1/(1 - abar_(t-1)) and alpha_t/(1 - alpha_t) add", trial)


# ---------------------------------------------------------------- 08 generative adversarial networks

_LOGITS = np.concatenate([np.random.default_rng(13).normal(0, 3, 30), [-200.0, 200.0]])


def discriminator_loss(student: Callable) -> Verdict:
    r"""``student(real_logits, fake_logits)`` -> :math:`-V = -\langle\log\sigma(l_r)\rangle
    - \langle\log(1 - \sigma(l_f))\rangle`, finite for logits of :math:`\pm 200`."""
    real, fake = _LOGITS, _LOGITS[::-1] * 0.7

    def trial():
        want = np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))
        swapped = np.mean(np.logaddexp(0, real)) + np.mean(np.logaddexp(0, -fake))
        expect(student(*f32(real, fake)), want, "the loss", known=[
            (swapped, "the roles are swapped: the discriminator calls data real (label 1) and samples fake")],
                nonfinite_hint="log(sigmoid(l)) underflows for large |l|: use -jax.nn.softplus(-l) and "
                "log(1 - sigmoid(l)) = -jax.nn.softplus(l)")
        return "matches -V on 32 logits, finite at ±200"

    return run("discriminator loss", student, "binary cross-entropy from logits, data labelled 1 and "
                "samples 0, averaged over each batch", trial)


def generator_loss(student: Callable) -> Verdict:
    r"""``student(fake_logits)`` -> the non-saturating loss :math:`-\langle\log\sigma(l_f)\rangle`, finite for
    logits of :math:`\pm 200`, whose gradient does not vanish where the discriminator rejects the samples."""

    def trial():
        want = np.mean(np.logaddexp(0, -_LOGITS))
        expect(student(*f32(_LOGITS)), want, "the loss", known=[
            (-np.mean(np.logaddexp(0, _LOGITS)), "that is the saturating loss, mean log(1 - D(G(z))): its "
             "gradient vanishes when D rejects the samples; minimise -log D(G(z)) instead")],
                nonfinite_hint="log(sigmoid(l)) underflows for very negative l: use -jax.nn.softplus(-l)")
        return "matches -mean log D(G(z)) on 32 logits, finite at ±200"

    return run("non-saturating generator loss", student, "the generator wants D(G(z)) -> 1: minimise "
                "-log sigmoid(l_f) = softplus(-l_f), averaged", trial)
