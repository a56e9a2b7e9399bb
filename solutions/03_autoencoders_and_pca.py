"""Instructors' solutions to notebook 03's self-checking exercises (``helpers.checks``)."""

import jax.numpy as jnp

from helpers import checks


def principal_components(x, k):
    xc = x - x.mean(0)
    values, vectors = jnp.linalg.eigh(xc.T @ xc / x.shape[0])
    return vectors[:, ::-1][:, :k].T, values[::-1][:k]


def reconstruction_error(x, k):
    mean = x.mean(0)
    v, _ = principal_components(x, k)
    x_hat = mean + (x - mean) @ v.T @ v
    return jnp.mean(jnp.sum((x - x_hat) ** 2, axis=1))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.principal_components, (principal_components,),
     (lambda x, k: (principal_components(x, k)[0], principal_components(x, k)[1] * 200 / 199),), "n - 1"),
    (checks.reconstruction_error, (reconstruction_error,),
     (lambda x, k: reconstruction_error(x, k) / x.shape[1],), "average only over the samples"),
]
