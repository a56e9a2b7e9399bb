"""Instructors' solutions to notebook 03's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp

from helpers import checks


def _eigh_desc(matrix, k):
    values, vectors = jnp.linalg.eigh(matrix)  # ascending
    return values[::-1][:k], vectors[:, ::-1][:, :k]


def whitening(x, k):
    """z = Lambda_k^{-1/2} W_k (x - mu): the PCA code scaled to unit variance, (n, k)."""
    xc = x - x.mean(0)
    values, top = _eigh_desc(xc.T @ xc / x.shape[0], k)  # lambda_1..k, W_k^T (d, k)
    return xc @ top / jnp.sqrt(values)


def gram_pca(x, k):
    """PCA through G = X_c X_c^T / n: G u_j = lambda_j u_j, w_j = X_c^T u_j / sqrt(n lambda_j)."""
    n = x.shape[0]
    xc = x - x.mean(0)
    values, u = _eigh_desc(xc @ xc.T / n, k)  # (k,), (n, k)
    return (xc.T @ u / jnp.sqrt(n * values)).T, values


def whitening_by_variance(x, k):
    """Wrong: divides the code by lambda instead of sqrt(lambda)."""
    xc = x - x.mean(0)
    values, top = _eigh_desc(xc.T @ xc / x.shape[0], k)
    return xc @ top / values


def gram_pca_unnormalised(x, k):
    """Wrong: X_c^T u_j taken as the component without fixing its length."""
    xc = x - x.mean(0)
    values, u = _eigh_desc(xc @ xc.T / x.shape[0], k)
    return (xc.T @ u).T, values


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.whitening, (whitening,), (whitening_by_variance,), "diag(1 / lambda)"),
    (checks.gram_pca, (gram_pca,), (gram_pca_unnormalised,), "not unit vectors"),
]
