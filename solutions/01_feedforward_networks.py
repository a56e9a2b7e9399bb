"""Instructors' solutions to notebook 01's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks
from helpers.networks import ffnn


def softplus(z):
    return jnp.logaddexp(0.0, z)  # log(1 + e^z) without overflow


def softplus_prime(z):
    return jax.nn.sigmoid(z)  # e^z / (1 + e^z) = 1 / (1 + e^-z), the logistic sigmoid


def backprop(params, x, y, skip_in_backward=True):
    """A residual network: a^l = a^(l-1) + sigmoid(z^l) for the hidden layers, a linear output,
    C = (1/n) sum_i ||z^L_i - y_i||^2.

    With g^l = dC/da^l: delta^L = (2/n)(z^L - y), g^(L-1) = delta^L W^L; for a hidden layer
    delta^l = g^l * sigma'(z^l) and g^(l-1) = g^l + delta^l W^l (the skip path adds g^l itself).
    """
    a, zs, activations = x, [], [x]
    for l, layer in enumerate(params):
        z = a @ layer.W.T + layer.b
        zs.append(z)
        if l < len(params) - 1:
            a = a + jax.nn.sigmoid(z)
            activations.append(a)
    delta = 2.0 / x.shape[0] * (zs[-1] - y)  # dC/dz^L
    grads, g = [None] * len(params), 0.0  # g: dC/da of the layer above, none above the output
    for l in range(len(params) - 1, -1, -1):  # python index l is the lecture's layer l + 1
        grads[l] = ffnn.Layer(W=delta.T @ activations[l], b=delta.sum(0))
        if l > 0:
            g = delta @ params[l].W + (g if skip_in_backward else 0.0)  # dC/da^l
            s = jax.nn.sigmoid(zs[l - 1])
            delta = g * s * (1 - s)
    return grads


def _backprop_without_skip(params, x, y):
    return backprop(params, x, y, skip_in_backward=False)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.softplus, (softplus, softplus_prime),
     (lambda z: jnp.log(1 + jnp.exp(z)), softplus_prime), "overflows"),
    (checks.softplus, (softplus, softplus_prime),
     (softplus, lambda z: jax.nn.sigmoid(z) * (1 - jax.nn.sigmoid(z))), "second derivative"),
    (checks.backprop, (backprop,), (_backprop_without_skip,), "skip path cut"),
]
