"""The self-checking exercises of notebook 07 (diffusion models)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["ddim_step", "q_posterior"]


def ddim_step(student: Callable) -> Verdict:
    r"""``student(x_t, v_hat, alpha_bar_t, alpha_bar_prev)`` -> the deterministic (:math:`\eta = 0`) DDIM
    step to the earlier time :math:`t'`, from a *velocity* prediction
    :math:`\hat{\mathbf{v}} = \sqrt{\bar\alpha_t}\,\hat{\boldsymbol\epsilon}
    - \sqrt{1 - \bar\alpha_t}\,\hat{\mathbf{x}}_0` (notebook 07 shows the step from a noise prediction):

    .. math:: \mathbf{x}_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat{\mathbf{x}}_0 + \sqrt{1 - \bar\alpha_{t'}}\,
              \hat{\boldsymbol\epsilon},\qquad
              \hat{\mathbf{x}}_0 = \sqrt{\bar\alpha_t}\,\mathbf{x}_t
              - \sqrt{1 - \bar\alpha_t}\,\hat{\mathbf{v}},\quad
              \hat{\boldsymbol\epsilon} = \sqrt{1 - \bar\alpha_t}\,\mathbf{x}_t
              + \sqrt{\bar\alpha_t}\,\hat{\mathbf{v}}.

    Checked by the closed form: when ``x_t`` was made from :math:`\mathbf{x}_0` with noise
    :math:`\boldsymbol\epsilon` and ``v_hat`` is the true velocity, the step lands exactly on
    :math:`\sqrt{\bar\alpha_{t'}}\mathbf{x}_0 + \sqrt{1 - \bar\alpha_{t'}}\boldsymbol\epsilon`
    (:math:`\bar\alpha_{t'} = 1` is the step to the data)."""
    rng = np.random.default_rng(11)

    def trial():
        for ab, ab_prev in [(0.3, 0.5), (0.02, 0.9), (0.7, 0.71), (0.5, 1.0)]:
            x0, eps = rng.normal(size=(5, 3)), rng.normal(size=(5, 3))
            x_t = np.sqrt(ab) * x0 + np.sqrt(1 - ab) * eps
            v = np.sqrt(ab) * eps - np.sqrt(1 - ab) * x0
            want = np.sqrt(ab_prev) * x0 + np.sqrt(1 - ab_prev) * eps
            as_noise = np.sqrt(ab_prev) * (x_t - np.sqrt(1 - ab) * v) / np.sqrt(ab) + np.sqrt(1 - ab_prev) * v
            x0_flipped = np.sqrt(ab) * x_t + np.sqrt(1 - ab) * v  # the sign of x0 in v flipped
            eps_flipped = (x_t - np.sqrt(ab) * x0_flipped) / np.sqrt(1 - ab)
            flipped = np.sqrt(ab_prev) * x0_flipped + np.sqrt(1 - ab_prev) * eps_flipped
            expect(student(*f32(x_t, v), ab, ab_prev), want, f"the step from alpha_bar = {ab} to {ab_prev}",
                   rtol=1e-3, known=[
                       (as_noise, "v_hat is not the predicted noise: recover both x0_hat and eps_hat "
                        "from the pair (x_t, v_hat) first"),
                       (flipped, "mind the sign of x0 in v = sqrt(abar_t) eps - sqrt(1 - abar_t) x0")])
        return "lands on the closed form sqrt(abar') x0 + sqrt(1 - abar') eps for four pairs of times"

    return run("DDIM step from a velocity", student, "with cos(phi_t) = sqrt(abar_t) and sin(phi_t) = "
               "sqrt(1 - abar_t), the pair (x_t, v) is the pair (x0, eps) rotated by the angle phi_t; the "
               "deterministic step keeps x0_hat and eps_hat and moves the angle to phi_t'", trial)


def q_posterior(student: Callable) -> Verdict:
    r"""``student(x_t, x0, alpha_bar_t, alpha_bar_s)`` -> ``(mean, variance)`` of the forward process's
    posterior at any earlier time :math:`s < t`, :math:`q(\mathbf{x}_s|\mathbf{x}_t, \mathbf{x}_0)`
    (notebook 07 shows :math:`s = t - 1`), against Bayes' rule for the product of the Gaussians
    :math:`q(\mathbf{x}_s|\mathbf{x}_0) = \mathcal{N}(\sqrt{\bar\alpha_s}\mathbf{x}_0,
    (1 - \bar\alpha_s)I)` and
    :math:`q(\mathbf{x}_t|\mathbf{x}_s) = \mathcal{N}(\sqrt{\bar\alpha_t/\bar\alpha_s}\,\mathbf{x}_s,
    (1 - \bar\alpha_t/\bar\alpha_s)I)` (precisions add):

    .. math:: \boldsymbol\mu = \frac{\sqrt{\bar\alpha_t/\bar\alpha_s}\,(1 - \bar\alpha_s)\,\mathbf{x}_t
              + \sqrt{\bar\alpha_s}\,(1 - \bar\alpha_t/\bar\alpha_s)\,\mathbf{x}_0}{1 - \bar\alpha_t},\qquad
              \sigma^2 = \frac{(1 - \bar\alpha_t/\bar\alpha_s)(1 - \bar\alpha_s)}{1 - \bar\alpha_t}.

    The variance may be a scalar or an array like ``x_t``."""
    rng = np.random.default_rng(12)

    def trial():
        for ab, ab_s in [(0.5, 0.6), (0.05, 0.9), (0.3, 0.31)]:
            jump = ab / ab_s  # from s to t the forward process is one Gaussian step, alpha = jump
            x0, x_t = rng.normal(size=(4, 3)), rng.normal(size=(4, 3))
            precision = 1 / (1 - ab_s) + jump / (1 - jump)
            var = 1 / precision
            mean = var * (np.sqrt(ab_s) * x0 / (1 - ab_s) + np.sqrt(jump) * x_t / (1 - jump))
            got = student(*f32(x_t, x0), ab, ab_s)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise Mismatch("expected a pair (mean, variance)")
            from_x0 = (np.sqrt(ab) * (1 - ab_s) * x_t + np.sqrt(ab_s) * (1 - ab) * x0) / (1 - ab)
            expect(got[0], mean, f"the mean (alpha_bar_t = {ab}, alpha_bar_s = {ab_s})", rtol=1e-3, known=[
                (from_x0, "the forward process from x_s to x_t scales by sqrt(abar_t / abar_s), not by "
                 "sqrt(abar_t): abar_t carries x_t all the way from x0")])
            got_var = np.broadcast_to(np.asarray(got[1], np.float64), mean.shape)
            expect(got_var, np.full(mean.shape, var),
                   f"the variance (alpha_bar_t = {ab}, alpha_bar_s = {ab_s})", rtol=1e-3, known=[
                       (np.full(mean.shape, 1 - jump), "1 - abar_t / abar_s is the variance of the "
                        "forward jump q(x_t|x_s); the posterior also knows x0, so its variance is "
                        "smaller")])
        return "mean and variance agree with Bayes' rule for three pairs of times"

    return run("forward-process posterior, any earlier time", student, "from x_s to x_t the forward process "
               "is a single Gaussian step (section 1's closed form, started at s): combine it with "
               "q(x_s|x0) by Bayes' rule, as section 2 does for s = t - 1", trial)
