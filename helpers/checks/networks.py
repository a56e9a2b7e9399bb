"""Self-checking exercises of notebooks 01-03: feed-forward, convolutional and recurrent networks, PCA."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import numpy as np
from scipy.special import expit

from helpers.checks._core import Mismatch, Verdict, expect, f32, f32_params, run
from helpers.core import validate
from helpers.networks import ffnn, rnn

# ---------------------------------------------------------------- 01 feed-forward networks


def softplus(sigma: Callable, sigma_prime: Callable) -> Verdict:
    r""":math:`\sigma(z) = \log(1 + e^z)` and its derivative, on 60 values of z including
    :math:`\pm 30` and :math:`\pm 100`, where a naive formula overflows.  ``z (n,)`` -> ``(n,)``."""
    validate.callable_("sigma_prime", sigma_prime)
    z = np.concatenate([np.random.default_rng(1).normal(0, 3, 55), [-100, -30, 0, 30, 100]])

    def trial():
        (zj,) = f32(z)
        expect(sigma(zj), np.logaddexp(0, z), "sigma(z)",
                nonfinite_hint="log(1 + e^z) overflows for large z in float32: use jnp.logaddexp(0, z) "
                "or jax.nn.softplus")
        s = expit(z)
        expect(sigma_prime(zj), s, "sigma_prime(z)",
                known=[(s * (1 - s), "that is the derivative of the logistic sigmoid; the derivative of "
                        "softplus is the logistic sigmoid itself")],
                nonfinite_hint="1 / (1 + e^(-z)) is safe, e^z / (1 + e^z) overflows: use jax.nn.sigmoid")
        return "matches log(1 + e^z) and its derivative at 60 points, finite at z = ±100"

    return run("softplus and its derivative", sigma, "differentiate log(1 + e^z) by the chain rule", trial)


def backprop(student: Callable) -> Verdict:
    r"""``student(params, x, y)`` -> the gradients of :func:`helpers.networks.ffnn.cost` (sigmoid hidden
    layers,
    linear output, :math:`C = \frac1n\sum_i\lVert\mathbf{a}^L_i - \mathbf{y}_i\rVert^2`) as a list of
    ``ffnn.Layer(W, b)`` records, layer 1 first; compared with ``jax.grad`` on two random networks."""

    def trial():
        for case, (sizes, n) in enumerate([([3, 5, 2], 7), ([4, 6, 6, 1], 5)]):
            k_p, k_x, k_y = jax.random.split(jax.random.key(case), 3)
            params = ffnn.init_params(k_p, sizes)
            x = jax.random.normal(k_x, (n, sizes[0]))
            y = jax.random.normal(k_y, (n, sizes[-1]))
            want = jax.grad(ffnn.cost)(params, x, y)
            got = student(params, x, y)
            if not isinstance(got, (list, tuple)) or len(got) != len(want):
                raise Mismatch(f"returned {type(got).__name__}; expected a list of {len(want)} "
                                "ffnn.Layer(W=..., b=...), layer 1 first")
            for l, (g, w) in enumerate(zip(got, want, strict=True), start=1):
                if not all(hasattr(g, name) for name in ("W", "b")):
                    raise Mismatch(f"layer {l}: returned {type(g).__name__}; "
                                   "expected ffnn.Layer(W=..., b=...)")
                for name in ("W", "b"):
                    expect(getattr(g, name), getattr(w, name), f"dC/d{name}^{l} (network {sizes})")
        return "equals jax.grad of the cost on networks [3, 5, 2] and [4, 6, 6, 1]"

    return run("back-propagation", student, "delta^L = (2/n)(a^L - y) for this cost; then "
                "delta^l = (delta^(l+1) W^(l+1)) * sigma'(z^l), dC/dW^l = delta^l^T a^(l-1)", trial)


# ---------------------------------------------------------------- 02 convolutional and recurrent networks


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


# ---------------------------------------------------------------- 03 autoencoders and PCA


def _pca_data(seed: int):
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    return rng.normal(size=(200, 5)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5]) @ rotation.T + 3.0


def _eigh_desc(c):
    values, vectors = np.linalg.eigh(c)
    return values[::-1], vectors[:, ::-1].T


def principal_components(student: Callable) -> Verdict:
    r"""``student(x, k)`` -> ``(components (k, d), variances (k,))``: the top-k unit eigenvectors of
    :math:`C = \frac1n X_c^TX_c` as rows (any sign) and their eigenvalues, largest first."""

    def trial():
        x = _pca_data(4)
        n, k = len(x), 3
        xc = x - x.mean(0)
        values, vectors = _eigh_desc(xc.T @ xc / n)
        got = student(*f32(x), k)
        if not isinstance(got, (tuple, list)) or len(got) != 2:
            raise Mismatch("expected a pair (components, variances)")
        components, variances = np.asarray(got[0], np.float64), got[1]
        expect(variances, values[:k], "the variances", known=[
            (values[:k] * n / (n - 1), "you divided by n - 1; the lecture's covariance divides by n"),
            (_eigh_desc(x.T @ x / n)[0][:k], "centre the data first: subtract the mean of each column")])
        if components.shape == (k, 5):  # eigenvectors are defined up to sign: align before comparing
            components = components * np.sign(np.sum(components * vectors[:k], axis=1, keepdims=True))
        expect(components, vectors[:k], "the components (rows, up to sign)",
                known=[(vectors[:k].T, "return one component per row (shape (k, d)), not per column")])
        return "top 3 eigenpairs of the covariance of 200 correlated 5-D samples"

    return run("principal components", student, "centre the data, form C = X_c^T X_c / n, and use "
                "jnp.linalg.eigh (it sorts eigenvalues ascending)", trial)


def reconstruction_error(student: Callable) -> Verdict:
    r"""``student(x, k)`` -> :math:`\frac1n\sum_i\lVert\mathbf{x}_i - \hat{\mathbf{x}}_i\rVert^2` with
    :math:`\hat{\mathbf{x}} = \boldsymbol\mu + V_k^TV_k(\mathbf{x} - \boldsymbol\mu)`; must equal the
    sum of the discarded eigenvalues :math:`\sum_{i>k}\lambda_i` (the invariant tested), for k = 1..4."""

    def trial():
        x = _pca_data(5)
        n, d = x.shape
        values, vectors = _eigh_desc((x - x.mean(0)).T @ (x - x.mean(0)) / n)
        for k in range(1, 5):
            want = values[k:].sum()
            v = vectors[:k]
            uncentred = np.mean(np.sum((x - x @ v.T @ v) ** 2, axis=1))
            expect(student(*f32(x), k), want, f"the error for k = {k}", known=[
                (want / d, "sum the squared error over the d coordinates; average only over the samples"),
                (uncentred, "subtract the mean before projecting and add it back after")])
        return "equals the sum of the discarded eigenvalues for k = 1, 2, 3, 4"

    return run("PCA reconstruction error", student, "project the centred data onto the top-k "
                "components, map back, add the mean, and average the squared error over samples", trial)
