"""Instructors' solutions to notebook 04's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

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
