"""Instructors' solutions to notebook 04's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks
from helpers.generative import rbm


def free_energy(params, x):
    return -x @ params.a - jnp.sum(jax.nn.softplus(params.b + x @ params.W), axis=1)


def cd1_gradient(key, params, x):
    k_h, k_x = jax.random.split(key)
    h = jax.random.bernoulli(k_h, jax.nn.sigmoid(params.b + x @ params.W)).astype(x.dtype)
    x_neg = jax.random.bernoulli(k_x, jax.nn.sigmoid(params.a + h @ params.W.T)).astype(x.dtype)

    def phase(v):
        ph = jax.nn.sigmoid(params.b + v @ params.W)
        return rbm.RBMParams(a=v.mean(0), b=ph.mean(0), W=v.T @ ph / len(v))

    pos, neg = phase(x), phase(x_neg)
    return jax.tree.map(lambda p, n: p - n, pos, neg)


def _naive_cd1(key, params, x):  # the negative phase reuses p(h|x) of the data
    k_h, k_x = jax.random.split(key)
    ph = jax.nn.sigmoid(params.b + x @ params.W)
    h = jax.random.bernoulli(k_h, ph).astype(x.dtype)
    x_neg = jax.random.bernoulli(k_x, jax.nn.sigmoid(params.a + h @ params.W.T)).astype(x.dtype)
    return type(params)((x - x_neg).mean(0), ph.mean(0) - ph.mean(0), (x - x_neg).T @ ph / len(x))


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.rbm_free_energy, (free_energy,), (lambda p, x: -free_energy(p, x),), "the sign"),
    (checks.cd1_gradient, (cd1_gradient,), (_naive_cd1,), "differs from CD-1"),
    (checks.cd1_gradient, (cd1_gradient,),
     (lambda k, p, x: jax.tree.map(lambda g: -g, cd1_gradient(k, p, x)),), "positive minus negative"),
]
