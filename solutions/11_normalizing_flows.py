"""Instructors' solutions to notebook 11's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def glow_coupling(x, mask, net):
    # Kept entries first the Jacobian is triangular: ones for the kept entries, sigma(s + 2) for the
    # others, so log|det| = sum over the transformed entries of log sigma(s + 2).
    s, t = net(mask * x)
    scale = jax.nn.sigmoid(s + 2.0)
    y = mask * x + (1 - mask) * (x + t) * scale
    return y, jnp.sum((1 - mask) * jax.nn.log_sigmoid(s + 2.0), axis=-1)


def jacobian_trace(z, W, b):
    # d tanh(a_i)/dz_j = (1 - tanh(a_i)^2) W_ij with a = W z + b; the trace keeps i = j.
    a = z @ W.T + b
    return jnp.sum((1 - jnp.tanh(a) ** 2) * jnp.diag(W), axis=-1)


def _glow_every_entry(x, mask, net):  # the kept entries' scales counted too
    s, t = net(mask * x)
    y = mask * x + (1 - mask) * (x + t) * jax.nn.sigmoid(s + 2.0)
    return y, jnp.sum(jax.nn.log_sigmoid(s + 2.0), axis=-1)


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.glow_coupling, (glow_coupling,), (_glow_every_entry,), "kept entries pass unchanged"),
    (
        checks.glow_coupling,
        (glow_coupling,),
        (lambda x, m, net: (glow_coupling(x, m, net)[0], -glow_coupling(x, m, net)[1]),),
        "negative",
    ),
    (
        checks.jacobian_trace,
        (jacobian_trace,),
        (lambda z, W, b: jnp.sum((1 - jnp.tanh(z @ W.T + b) ** 2) * W.sum(axis=1), axis=-1),),
        "diagonal",
    ),
    (
        checks.jacobian_trace,
        (jacobian_trace,),
        (lambda z, W, b: jnp.sum(jnp.tanh(z @ W.T + b) * jnp.diag(W), axis=-1),),
        "differentiate tanh",
    ),
]
