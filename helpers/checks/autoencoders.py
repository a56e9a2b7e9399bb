"""The self-checking exercises of notebook 03 (autoencoders and PCA): two variants of section 1's
PCA that the notebook does not show, the whitening transform and PCA through the Gram matrix."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["whitening", "gram_pca"]


def _pca_data(seed: int):
    """200 correlated 5-D samples with well separated variances and a nonzero mean."""
    rng = np.random.default_rng(seed)
    rotation, _ = np.linalg.qr(rng.normal(size=(5, 5)))
    return rng.normal(size=(200, 5)) * np.array([5.0, 3.0, 2.0, 1.0, 0.5]) @ rotation.T + 3.0


def _wide_data(seed: int):
    """12 samples of 40 features (n < d): six latent directions of decreasing variance, a little
    noise, and a nonzero mean."""
    rng = np.random.default_rng(seed)
    directions, _ = np.linalg.qr(rng.normal(size=(40, 6)))
    latent = rng.normal(size=(12, 6)) * np.array([8.0, 5.0, 3.0, 2.0, 1.0, 0.5])
    return latent @ directions.T + 0.1 * rng.normal(size=(12, 40)) + 1.5


def _eigh_desc(c):
    values, vectors = np.linalg.eigh(c)
    return values[::-1], vectors[:, ::-1].T


def _pair(got, what: str):
    if not isinstance(got, (tuple, list)) or len(got) != 2:
        raise Mismatch(f"expected a pair ({what})")
    return got


def _align_rows(rows, reference):
    """Eigenvectors are defined up to sign: flip each row of ``rows`` to agree with ``reference``."""
    rows = np.asarray(rows, np.float64)
    if rows.shape != reference.shape:
        return rows
    return rows * np.where(np.sum(rows * reference, axis=1, keepdims=True) < 0, -1.0, 1.0)


def whitening(student: Callable) -> Verdict:
    r"""``student(x, k)`` -> ``z (n, k)``: the whitened PCA code
    :math:`\mathbf{z}_i = \Lambda_k^{-1/2} W_k(\mathbf{x}_i - \boldsymbol\mu)`, whose covariance
    :math:`\frac1n\sum_i \mathbf{z}_i\mathbf{z}_i^T` is the identity (each column up to sign)."""

    def trial():
        x = _pca_data(4)
        n, k = len(x), 3
        xc = x - x.mean(0)
        values, vectors = _eigh_desc(xc.T @ xc / n)
        codes = xc @ vectors[:k].T  # h = W_k (x - mu), covariance diag(lambda)
        want = codes / np.sqrt(values[:k])
        got = student(*f32(x), k)
        if got is not None and np.shape(got) == (k, n):
            raise Mismatch(f"the codes have shape {np.shape(got)}; expected {(n, k)}",
                           "return one row per sample and one column per component")
        if got is not None and np.shape(got) == (n, k):  # each column up to sign
            got = _align_rows(np.asarray(got, np.float64).T, want.T).T
        expect(got, want, "the whitened code matrix (columns up to sign)", known=[
            (codes, "these are the PCA codes h = W_k(x - mu); their covariance is diag(lambda_1..lambda_k), "
                    "not the identity"),
            (codes / values[:k],
             "their covariance is diag(1 / lambda): scale by the inverse standard deviation"),
            (want * np.sqrt((n - 1) / n), "you divided by n - 1; the lecture's covariance divides by n"),
            (want + x.mean(0) @ vectors[:k].T / np.sqrt(values[:k]),
             "centre the data first: subtract the mean of each column")])
        return f"the {k} whitened codes of {n} correlated 5-D samples have unit covariance"

    return run("whitening", student, "section 1's code h = W_k(x - mu) has covariance W_k C W_k^T = "
                "diag(lambda_1..lambda_k): which scaling of each code number turns that into the identity?",
                trial)


LENGTH_HINT = "X_c^T u_j points the right way; work out its length from G u_j = lambda_j u_j"


def gram_pca(student: Callable) -> Verdict:
    r"""``student(x, k)`` -> ``(components (k, d), variances (k,))`` for n < d, through the n x n
    Gram matrix :math:`G = X_cX_c^T/n`: :math:`G\mathbf{u}_j = \lambda_j\mathbf{u}_j` gives
    :math:`C X_c^T\mathbf{u}_j = \lambda_j X_c^T\mathbf{u}_j`, and the unit component is
    :math:`\mathbf{w}_j = X_c^T\mathbf{u}_j/\sqrt{n\lambda_j}` (rows, any sign; largest first)."""

    def trial():
        x = _wide_data(7)
        n, d = x.shape
        k = 4
        xc = x - x.mean(0)
        values, vectors = _eigh_desc(xc.T @ xc / n)
        got = _pair(student(*f32(x), k), "components, variances")
        variances = got[1]
        expect(variances, values[:k], "the vector of variances", known=[
            (values[:k] * n, "the eigenvalues of X_c X_c^T are n lambda_j: divide the Gram matrix by n"),
            (values[:k] * n / (n - 1), "you divided by n - 1; the lecture's covariance divides by n"),
            (_eigh_desc(x.T @ x / n)[0][:k], "centre the data first: subtract the mean of each column")])
        components = got[0]
        if np.shape(components) == (d, k):
            raise Mismatch(f"the components have shape {(d, k)}; expected {(k, d)}",
                           "return one component per row (shape (k, d)), not per column")
        if np.shape(components) == (k, d):
            components = _align_rows(components, vectors[:k])
            norms = np.linalg.norm(np.asarray(got[0], np.float64), axis=1)
            if np.allclose(norms, np.sqrt(n * values[:k]), rtol=1e-3):
                raise Mismatch("the components are not unit vectors: their lengths are sqrt(n lambda_j)",
                               LENGTH_HINT)
            if not np.allclose(norms, 1.0, rtol=1e-3):
                raise Mismatch(f"the components are not unit vectors (lengths {np.round(norms, 3)})",
                               LENGTH_HINT)
        expect(components, vectors[:k], "the components (rows, up to sign)")
        return f"top {k} eigenpairs of {n} samples of {d} features, through the {n} x {n} Gram matrix"

    return run("PCA through the Gram matrix", student, "multiply G u_j = lambda_j u_j from the left by "
                "X_c^T to see that X_c^T u_j is an eigenvector of C; then fix its length", trial)
