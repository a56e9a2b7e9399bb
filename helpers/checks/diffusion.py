"""The self-checking exercises of notebook 07 (diffusion models)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["ddim_step", "q_posterior"]


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
