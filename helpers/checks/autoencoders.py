"""The self-checking exercises of notebook 03 (autoencoders and PCA)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["principal_components", "reconstruction_error"]


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
