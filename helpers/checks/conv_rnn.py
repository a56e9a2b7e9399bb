"""The self-checking exercises of notebook 02 (convolutional and recurrent networks)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np

from helpers.checks._core import Verdict, expect, f32, f32_params, run
from helpers.networks import rnn

__all__ = ["correlate2d", "elman_unroll"]


def correlate2d(student: Callable) -> Verdict:
    r"""``student(x, w)``: the "valid" cross-correlation :math:`y_{ij} = \sum_{m,n} x_{i+m,j+n}w_{mn}`,
    ``x (H, W)``, ``w (k, l)`` -> ``(H-k+1, W-l+1)``, against the sum written out in NumPy."""
    rng = np.random.default_rng(2)

    def reference(x, w):
        k, l = w.shape
        out = np.zeros((x.shape[0] - k + 1, x.shape[1] - l + 1))
        for i, j in itertools.product(*map(range, out.shape)):
            out[i, j] = np.sum(x[i : i + k, j : j + l] * w)
        return out

    def trial():
        for shape, kernel in [((6, 7), (3, 3)), ((5, 9), (2, 4)), ((4, 4), (4, 4))]:
            x, w = rng.normal(size=shape), rng.normal(size=kernel)
            flipped = "you flipped the kernel: that is the mathematical convolution; a layer computes the "
            expect(student(*f32(x, w)), reference(x, w), f"the output for x {shape}, w {kernel}",
                    known=[(reference(x, w[::-1, ::-1]), flipped + "cross-correlation, x_{i+m, j+n} w_{mn}")])
        return "matches the sum definition for three image and kernel shapes"

    return run("2-D cross-correlation", student, "slide the kernel over every position where it fits "
                "entirely inside the image; no padding", trial)


def elman_unroll(student: Callable) -> Verdict:
    r"""``student(params, xs, h0)``: the Elman states :math:`h_t = \tanh(h_{t-1}W_h + x_tW_x + b)` for
    ``xs (T, n, D)``, ``h0 (n, H)``, ``params = rnn.CellParams(Wx (D, H), Wh (H, H), b (H,))`` ->
    ``(T, n, H)``,
    the states :math:`h_1 \dots h_T` (the convention of :func:`helpers.networks.rnn.elman_cell`)."""
    rng = np.random.default_rng(3)
    T, n, D, H = 6, 3, 2, 4
    params = {"Wh": rng.normal(0, 0.6, (H, H)), "Wx": rng.normal(size=(D, H)), "b": rng.normal(0, 0.3, H)}
    xs, h0 = rng.normal(size=(T, n, D)), rng.normal(size=(n, H))

    def states(recurrent: bool):
        h, out = h0, []
        for x in xs:
            h = np.tanh((h if recurrent else h0) @ params["Wh"] + x @ params["Wx"] + params["b"])
            out.append(h)
        return np.stack(out)

    def trial():
        want = states(True)
        got = student(rnn.CellParams(**f32_params(params)), *f32(xs, h0))
        expect(got, want, "the states", known=[
            (states(False), "every step used h0: feed each new state into the next step"),
            (np.concatenate([h0[None], want[:-1]]), "you returned h_0 ... h_(T-1); return h_1 ... h_T, the "
             "state after each input")])
        return f"matches the recurrence over T = {T} steps"

    return run("Elman network, unrolled", student, "carry h through the sequence (a Python loop or "
                "jax.lax.scan); each step is tanh(h @ Wh + x_t @ Wx + b)", trial)
