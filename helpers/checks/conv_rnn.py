"""The self-checking exercises of notebook 02 (convolutional and recurrent networks)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Verdict, expect, f32, f32_params, run
from helpers.networks import conv, rnn

__all__ = ["conv_kernel_gradient", "leaky_rnn_unroll"]


def conv_kernel_gradient(student: Callable) -> Verdict:
    r"""``student(x, g)``: the gradient of :math:`L = \sum_{ij} g_{ij}\,y_{ij}` with respect to the kernel
    of the "valid" cross-correlation :math:`y_{ij} = \sum_{m,n} x_{i+m,j+n}w_{mn}`, given ``x (H, W)`` and
    the upstream gradient ``g = dL/dy (H', W')``; the kernel is ``(H - H' + 1, W - W' + 1)``.  Checked
    against ``jax.grad`` of the sum definition (:func:`helpers.networks.conv.correlate2d_sum`)."""
    rng = np.random.default_rng(2)

    def by_autodiff(x, g, kernel_shape):
        def loss(w):
            return jnp.sum(jnp.asarray(g, jnp.float32) * conv.correlate2d_sum(jnp.asarray(x, jnp.float32), w))

        return np.asarray(jax.grad(loss)(jnp.zeros(kernel_shape, jnp.float32)), np.float64)

    def trial():
        for shape, kernel in [((6, 7), (3, 3)), ((5, 9), (2, 4)), ((4, 4), (4, 4))]:
            x = rng.normal(size=shape)
            g = rng.normal(size=(shape[0] - kernel[0] + 1, shape[1] - kernel[1] + 1))
            want = by_autodiff(x, g, kernel)
            expect(student(*f32(x, g)), want, f"dL/dw for x {shape}, kernel {kernel}", known=[
                (want[::-1, ::-1], "your gradient is the right one flipped: w_mn multiplies x_(i+m, j+n), "
                 "so each weight's gradient collects the image entries it touched, not mirrored ones"),
                (by_autodiff(x, np.ones_like(g), kernel), "you left out g: each output y_ij enters L "
                 "weighted by g_ij = dL/dy_ij (the chain rule)")])
        return "matches jax.grad for three image and kernel shapes"

    return run("gradient of a convolution with respect to its kernel", student,
               "differentiate y_ij = sum_mn x_(i+m, j+n) w_mn with respect to one weight w_mn, then sum over "
               "every output (i, j) that weight touches, each weighted by g_ij (the chain rule)", trial)


def leaky_rnn_unroll(student: Callable) -> Verdict:
    r"""``student(params, xs, h0, alpha)``: the states of the leaky (continuous-time) recurrent cell,
    one forward-Euler step of :math:`\tau\,\dot h = -h + \tanh(W h + U x + b)` per input with
    :math:`\alpha = \Delta t/\tau`: :math:`h_t = (1-\alpha)\,h_{t-1} + \alpha\tanh(h_{t-1}W_h + x_tW_x + b)`,
    for ``xs (T, n, D)``, ``h0 (n, H)``, ``params = rnn.CellParams(Wx (D, H), Wh (H, H), b (H,))`` (the
    row layout of :func:`helpers.networks.rnn.elman_cell`) -> ``(T, n, H)``, the states
    :math:`h_1 \dots h_T`."""
    rng = np.random.default_rng(3)
    T, n, D, H, alpha = 6, 3, 2, 4, 0.3
    params = {"Wh": rng.normal(0, 0.6, (H, H)), "Wx": rng.normal(size=(D, H)), "b": rng.normal(0, 0.3, H)}
    xs, h0 = rng.normal(size=(T, n, D)), rng.normal(size=(n, H))

    def states(leak: float, keep: float, recurrent: bool = True):
        h, out = h0, []
        for x in xs:
            h_in = h if recurrent else h0
            h = keep * h_in + leak * np.tanh(h_in @ params["Wh"] + x @ params["Wx"] + params["b"])
            out.append(h)
        return np.stack(out)

    def trial():
        want = states(alpha, 1 - alpha)
        got = student(rnn.CellParams(**f32_params(params)), *f32(xs, h0), alpha)
        expect(got, want, "the state sequence", known=[
            (states(1 - alpha, alpha), "alpha and 1 - alpha are swapped: alpha = dt/tau is the fraction of "
             "the way the state moves toward tanh(...) in one step, so a small alpha means a slow, long "
             "memory"),
            (states(1.0, 0.0), "alpha is ignored: that is the Elman cell (alpha = 1); take one Euler step of "
             "tau dh/dt = -h + tanh(...) from h_(t-1)"),
            (states(alpha, 1.0), "the term -h of the ODE is missing: without it the state has no leak"),
            (states(alpha, 1 - alpha, recurrent=False), "every step used h0: feed each new state into the "
             "next step"),
            (np.concatenate([h0[None], want[:-1]]), "you returned h_0 ... h_(T-1); return h_1 ... h_T, the "
             "state after each input")])
        return f"matches the leaky recurrence over T = {T} steps, alpha = {alpha}"

    return run("leaky (continuous-time) recurrent cell, unrolled", student,
               "one forward-Euler step of tau dh/dt = -h + tanh(W h + U x + b) from h_(t-1), with "
               "alpha = dt/tau: h_t = h_(t-1) + alpha * (the right-hand side at h_(t-1) and x_t)", trial)
