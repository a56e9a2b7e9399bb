# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Principal component analysis by four routes, projection, reconstruction, and angles between subspaces.

Data ``x`` are ``(n, d)``: n samples of d features.  With the mean :math:`\boldsymbol\mu` and the
centred data :math:`X_c = X - \mathbf{1}\boldsymbol\mu^T`, the covariance is

.. math::  C = \tfrac1n X_c^T X_c = \sum_j \lambda_j \mathbf{w}_j \mathbf{w}_j^T,
           \qquad \lambda_1 \ge \lambda_2 \ge \dots \ge \lambda_d \ge 0 ,

and the principal components are its eigenvectors :math:`\mathbf{w}_j`.  Four routes lead there:
the d x d eigenproblem (:func:`from_covariance`), the n x n one for n < d (:func:`from_gram`),
randomised subspace iteration for the top few of a large problem (:func:`randomized`), and the
singular value decomposition (:func:`from_svd`) :math:`X_c = U S V^T`: :math:`\mathbf{w}_j` are the rows of
:math:`V^T` and :math:`\lambda_j = s_j^2 / n`.  We divide by n (the maximum-likelihood covariance),
so that the mean squared reconstruction error is exactly the sum of the discarded eigenvalues;
scikit-learn divides by n - 1, which changes the variances by n / (n - 1) and not their ratios.
Signs are fixed so that each component's largest entry in absolute value is positive.
"""

from __future__ import annotations

from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, positive_int, shaped


class PCA(NamedTuple):
    """A fitted PCA: ``mean (d,)``, ``components (k, d)`` (orthonormal rows :math:`\\mathbf{w}_j^T`),
    ``variances (k,)`` (the eigenvalues :math:`\\lambda_1..\\lambda_k`, descending) and
    ``total_variance`` (:math:`\\operatorname{tr} C = \\sum_{j=1}^d \\lambda_j`)."""

    mean: Float[Array, " d"]
    components: Float[Array, "k d"]
    variances: Float[Array, " k"]
    total_variance: Float[Array, ""]


def _check_data(x, k: int | None):
    """``x (n, d)`` (annotated by the callers) with n >= 2 and finite values, and ``k`` in 1..min(n, d)."""
    if x.shape[0] < 2 or x.shape[1] < 1:
        raise ValueError(f"x has shape {x.shape}; expected 2-D data (n_samples >= 2, n_features)")
    k = min(x.shape) if k is None else k
    if not validate.is_integer(k) or not 1 <= k <= min(x.shape):
        raise ValueError(f"k={k!r}; expected an integer from 1 to min(n_samples, n_features) "
                         f"= {min(x.shape)}")
    return validate.finite("x", x), int(k)


def _fix_signs(components: jax.Array) -> jax.Array:
    largest = jnp.take_along_axis(components, jnp.argmax(jnp.abs(components), axis=1)[:, None], axis=1)
    return components * jnp.where(largest < 0, -1.0, 1.0).astype(components.dtype)


@partial(jax.jit, static_argnums=1)
@shaped
def from_covariance(x: Real[AnyArray, "n d"], k: int) -> PCA:
    r"""PCA by the eigendecomposition :math:`C\mathbf{w}_j = \lambda_j\mathbf{w}_j` of
    :math:`C = X_c^T X_c / n` (a d x d problem; fast when n >> d).  ``x (n, d)``, top ``k``."""
    x, k = _check_data(x, k)
    mean = x.mean(0)
    xc = x - mean
    cov = xc.T @ xc / x.shape[0]  # C = X_c^T X_c / n
    eigenvalues, eigenvectors = jnp.linalg.eigh(cov)  # ascending
    order = jnp.argsort(eigenvalues)[::-1][:k]
    return PCA(mean, _fix_signs(eigenvectors[:, order].T), eigenvalues[order], jnp.trace(cov))


@partial(jax.jit, static_argnums=1)
@shaped
def from_svd(x: Real[AnyArray, "n d"], k: int) -> PCA:
    r"""PCA by the thin SVD :math:`X_c = U S V^T`: components the rows of :math:`V^T`,
    :math:`\lambda_j = s_j^2 / n` (never forms C, so it does not square the condition number).

    For a tall :math:`X_c` (n >> d) the SVD is taken of the triangular factor of :math:`X_c = QR`:
    :math:`R = U' S V^T` gives :math:`X_c = (QU') S V^T`, the same S and V from a small matrix.
    ``x (n, d)``, top ``k``."""
    x, k = _check_data(x, k)
    mean = x.mean(0)
    xc = x - mean
    r = jnp.linalg.qr(xc, mode="r")  # (min(n, d), d)
    _, s, vt = jnp.linalg.svd(r, full_matrices=False)  # R = U' S V^T, s descending
    variances = s**2 / x.shape[0]  # lambda_j = s_j^2 / n
    return PCA(mean, _fix_signs(vt[:k]), variances[:k], jnp.sum(xc**2) / x.shape[0])


@partial(jax.jit, static_argnums=1)
@shaped
def from_gram(x: Real[AnyArray, "n d"], k: int) -> PCA:
    r"""PCA through the n x n Gram matrix :math:`G = X_c X_c^T / n`, for n < d (few samples of many
    features).  :math:`G\mathbf{u}_j = \lambda_j\mathbf{u}_j` has the same nonzero eigenvalues as
    C, and :math:`\mathbf{w}_j = X_c^T\mathbf{u}_j / \sqrt{n\lambda_j}`.  ``x (n, d)``, top ``k``."""
    x, k = _check_data(x, k)
    n = x.shape[0]
    mean = x.mean(0)
    xc = x - mean
    gram = xc @ xc.T / n  # (n, n)
    eigenvalues, u = jnp.linalg.eigh(gram)  # ascending
    order = jnp.argsort(eigenvalues)[::-1][:k]
    lam = jnp.maximum(eigenvalues[order], 0.0)
    w = (xc.T @ u[:, order]) / jnp.sqrt(n * jnp.where(lam > 0, lam, 1.0))  # (d, k), unit columns
    return PCA(mean, _fix_signs(w.T), lam, jnp.trace(gram))  # tr G = tr C


@partial(jax.jit, static_argnums=(2, 3, 4))
@shaped
def randomized(key, x: Real[AnyArray, "n d"], k: int, oversample: int = 10,
               power_iterations: int = 4) -> PCA:
    r"""The top ``k`` components by randomised subspace iteration (Halko, Martinsson and Tropp, SIAM
    Rev. 53, 217 (2011)), for large n and d: a Gaussian test matrix :math:`\Omega` (d, k + p) gives a
    basis Q of the range of :math:`(X_c X_c^T)^q X_c \Omega`; the thin SVD of the small matrix
    :math:`Q^T X_c` gives the components.  Accurate when :math:`\lambda_k` stands clear of
    :math:`\lambda_{k+p+1}`; each power iteration raises that separation to a higher power."""
    validate.key("key", key)
    x, k = _check_data(x, k)
    positive_int(oversample=oversample)
    validate.nonnegative_int(power_iterations=power_iterations)
    n = x.shape[0]
    mean = x.mean(0)
    xc = x - mean
    width = min(k + oversample, *x.shape)
    q = jnp.linalg.qr(xc @ jax.random.normal(key, (x.shape[1], width), x.dtype))[0]  # (n, k + p)
    for _ in range(power_iterations):  # re-orthonormalised each half step, for round-off
        q = jnp.linalg.qr(xc @ jnp.linalg.qr(xc.T @ q)[0])[0]
    _, s, vt = jnp.linalg.svd(q.T @ xc, full_matrices=False)
    return PCA(mean, _fix_signs(vt[:k]), s[:k] ** 2 / n, jnp.sum(xc**2) / n)


@shaped
def from_data(x: Real[AnyArray, "n d"], k: int | None = None, method: str = "covariance") -> PCA:
    """The top ``k`` principal components of ``x (n, d)`` (all ``min(n, d)`` if ``k`` is None), by
    :func:`from_covariance` (``method="covariance"``), :func:`from_svd` (``"svd"``) or :func:`from_gram`
    (``"gram"``), after checking the arguments.  For :func:`randomized`, see there."""
    validate.choice("method", method, ("covariance", "svd", "gram"))
    x, k = _check_data(x, k)
    return {"covariance": from_covariance, "svd": from_svd, "gram": from_gram}[method](jnp.asarray(x), k)


def _check_k(model: PCA, k: int | None, x=None, x_name: str = "x") -> int:
    n_components, d = model.components.shape
    if x is not None and x.shape[1] != d:
        raise ValueError(f"{x_name} has shape {x.shape}; expected (n, {d})")
    k = n_components if k is None else k
    if not validate.is_integer(k) or not 1 <= k <= n_components:
        raise ValueError(f"k={k!r}; expected an integer from 1 to the {n_components} fitted components")
    return int(k)


@shaped
def project(model: PCA, x: Real[AnyArray, "n d"], k: int | None = None) -> jax.Array:
    r"""Codes :math:`\mathbf{h} = W_k(\mathbf{x} - \boldsymbol\mu)`: ``x (n, d)`` -> ``(n, k)``, with
    :math:`W_k` the first ``k`` components as rows (all fitted ones if ``k`` is None)."""
    k = _check_k(model, k, x)
    return (jnp.asarray(x) - model.mean) @ model.components[:k].T


@shaped
def reconstruct(model: PCA, codes: Real[AnyArray, "n k"]) -> jax.Array:
    r""":math:`\hat{\mathbf{x}} = \boldsymbol\mu + W_k^T \mathbf{h}`: codes ``(n, k)`` -> ``(n, d)``."""
    k = _check_k(model, codes.shape[-1])
    return jnp.asarray(codes) @ model.components[:k] + model.mean


@shaped
def squared_error(model: PCA, x: Real[AnyArray, "n d"], k: int | None = None) -> jax.Array:
    r"""Per-example reconstruction error :math:`\|\mathbf{x} - \hat{\mathbf{x}}_k\|^2` with ``k``
    components: ``(n, d)`` -> ``(n,)``.  On the data PCA was fitted to, its mean is
    :math:`\sum_{j > k} \lambda_j`."""
    _check_k(model, k, x)
    x = jnp.asarray(x)
    return jnp.sum((x - reconstruct(model, project(model, x, k))) ** 2, axis=-1)


def explained_variance_ratio(model: PCA) -> jax.Array:
    r""":math:`\lambda_j / \sum_{i=1}^d \lambda_i` for the fitted components, ``(k,)``."""
    return model.variances / model.total_variance


@shaped
def principal_angles(a: Real[AnyArray, "d p"], b: Real[AnyArray, "d q"]) -> np.ndarray:
    r"""Principal angles (radians, ascending) between the column spaces of ``a (d, p)`` and ``b (d, q)``.

    With orthonormal bases :math:`Q_a, Q_b` (QR), the cosines are the singular values of
    :math:`Q_a^T Q_b` and the sines those of :math:`Q_b - Q_a Q_a^T Q_b`; small angles are taken from
    the sines, which keep their precision where :math:`\cos\theta \approx 1` (Knyazev and Argentati,
    SIAM J. Sci. Comput. 23, 2008 (2002)).  Returns ``min(p, q)`` angles; 0 means a shared direction.
    """
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    qa, qb = np.linalg.qr(a)[0], np.linalg.qr(b)[0]
    if qa.shape[1] < qb.shape[1]:
        qa, qb = qb, qa
    cosines = np.clip(np.linalg.svd(qa.T @ qb, compute_uv=False), 0.0, 1.0)  # descending
    sines = np.clip(np.linalg.svd(qb - qa @ (qa.T @ qb), compute_uv=False)[::-1], 0.0, 1.0)  # ascending
    return np.where(cosines**2 > 0.5, np.arcsin(sines), np.arccos(cosines))


def correlation(a, b) -> float:
    r"""Pearson's :math:`r = \mathrm{cov}(a, b) / (\sigma_a \sigma_b)` of two series ``(n,)``."""
    a, b = np.asarray(a, np.float64).ravel(), np.asarray(b, np.float64).ravel()
    if a.size != b.size or a.size < 2:
        raise ValueError(f"a has {a.size} values and b has {b.size}; "
                         "expected two series of the same length >= 2")
    for name, v in (("a", a), ("b", b)):
        if np.ptp(v) == 0:
            raise ValueError(f"{name} is constant ({v[0]!r}); a correlation needs a series that varies")
    return float(np.corrcoef(a, b)[0, 1])
