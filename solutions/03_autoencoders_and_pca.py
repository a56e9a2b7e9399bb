"""Instructors' solutions to notebook 03's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp


def principal_components(x, k):
    xc = x - x.mean(0)
    values, vectors = jnp.linalg.eigh(xc.T @ xc / x.shape[0])
    return vectors[:, ::-1][:, :k].T, values[::-1][:k]


def reconstruction_error(x, k):
    mean = x.mean(0)
    v, _ = principal_components(x, k)
    x_hat = mean + (x - mean) @ v.T @ v
    return jnp.mean(jnp.sum((x - x_hat) ** 2, axis=1))
