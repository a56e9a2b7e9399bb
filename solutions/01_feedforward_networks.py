"""Instructors' solutions to notebook 01's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks
from helpers.networks import ffnn


def softplus(z):
    return jnp.logaddexp(0.0, z)  # log(1 + e^z) without overflow


def softplus_prime(z):
    return jax.nn.sigmoid(z)


def backprop(params, x, y):
    """Sigmoid hidden layers, linear output, C = (1/n) sum_i ||a^L_i - y_i||^2."""
    a, zs, activations = x, [], [x]
    for l, layer in enumerate(params):
        z = a @ layer.W.T + layer.b
        zs.append(z)
        if l < len(params) - 1:
            a = jax.nn.sigmoid(z)
            activations.append(a)
    delta = 2.0 / x.shape[0] * (zs[-1] - y)
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):
        grads[l] = ffnn.Layer(W=delta.T @ activations[l], b=delta.sum(0))
        if l > 0:
            s = jax.nn.sigmoid(zs[l - 1])
            delta = (delta @ params[l].W) * s * (1 - s)
    return grads


def _half_backprop(params, x, y):
    return jax.tree.map(lambda g: g / 2, backprop(params, x, y))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.softplus, (softplus, softplus_prime),
     (lambda z: jnp.log(1 + jnp.exp(z)), softplus_prime), "overflows"),
    (checks.softplus, (softplus, softplus_prime),
     (softplus, lambda z: jax.nn.sigmoid(z) * (1 - jax.nn.sigmoid(z))), "derivative of the logistic"),
    (checks.backprop, (backprop,), (_half_backprop,), "0.5 times the correct value"),
]
