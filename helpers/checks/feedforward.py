"""The self-checking exercises of notebook 01 (feed-forward networks)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import numpy as np
from scipy.special import expit

from helpers.checks._core import Mismatch, Verdict, expect, f32, run
from helpers.core import validate
from helpers.networks import ffnn

__all__ = ["softplus", "backprop"]


def softplus(sigma: Callable, sigma_prime: Callable) -> Verdict:
    r""":math:`\sigma(z) = \log(1 + e^z)` and its derivative, on 60 values of z including
    :math:`\pm 30` and :math:`\pm 100`, where a naive formula overflows.  ``z (n,)`` -> ``(n,)``."""
    validate.callable_("sigma_prime", sigma_prime)
    z = np.concatenate([np.random.default_rng(1).normal(0, 3, 55), [-100, -30, 0, 30, 100]])

    def trial():
        (zj,) = f32(z)
        expect(sigma(zj), np.logaddexp(0, z), "sigma(z)",
               nonfinite_hint="e^z overflows float32 for z above about 88: for large z, "
               "log(1 + e^z) is z plus a small correction; write it so that exp only sees -|z|")
        s = expit(z)
        expect(sigma_prime(zj), s, "sigma_prime(z)",
               known=[(s * (1 - s), "that is the second derivative of log(1 + e^z): "
                       "differentiate it once, by the chain rule")],
               nonfinite_hint="a ratio of two exponentials overflows for large |z|: divide numerator "
               "and denominator by the larger one")
        return "matches log(1 + e^z) and its derivative at 60 points, finite at z = ±100"

    return run("softplus and its derivative", sigma, "differentiate log(1 + e^z) by the chain rule", trial)


def _residual_cost(params, x, y, cut_skip=False, plain=False):
    r"""The residual network of the exercise: :math:`\mathbf{a}^l = \mathbf{a}^{l-1} + \sigma(\mathbf{z}^l)`
    for the hidden layers, a linear output and the mean squared error.  ``cut_skip`` stops the gradient
    along the skip path (a backward pass that forgot it); ``plain`` drops the skip altogether."""
    a = x
    for layer in params[:-1]:
        skip = 0.0 if plain else (jax.lax.stop_gradient(a) if cut_skip else a)
        a = skip + jax.nn.sigmoid(a @ layer.W.T + layer.b)
    return ffnn.mse(a @ params[-1].W.T + params[-1].b, y)


def backprop(student: Callable) -> Verdict:
    r"""Back-propagation through a *residual* network: ``student(params, x, y)`` -> the gradients of
    :math:`C = \frac1n\sum_i\lVert\mathbf{z}^L_i - \mathbf{y}_i\rVert^2` for
    :math:`\mathbf{z}^l = W^l\mathbf{a}^{l-1} + \mathbf{b}^l`, hidden layers
    :math:`\mathbf{a}^l = \mathbf{a}^{l-1} + \sigma(\mathbf{z}^l)` (sigmoid, all of width
    :math:`n_0`), a linear output layer; as a list of ``ffnn.Layer(W, b)``, layer 1 first.  Compared
    with ``jax.grad`` on two random networks."""

    def trial():
        for case, (sizes, n) in enumerate([([3, 3, 3, 2], 7), ([4, 4, 4, 4, 1], 5)]):
            k_p, k_b, k_x, k_y = jax.random.split(jax.random.key(case), 4)
            params = [ffnn.Layer(layer.W, 0.5 * jax.random.normal(k, layer.b.shape))
                      for layer, k in zip(ffnn.init_params(k_p, sizes),
                                          jax.random.split(k_b, len(sizes) - 1), strict=True)]
            x = jax.random.normal(k_x, (n, sizes[0]))
            y = jax.random.normal(k_y, (n, sizes[-1]))
            want = jax.grad(_residual_cost)(params, x, y)
            cut = jax.grad(_residual_cost)(params, x, y, cut_skip=True)
            plain = jax.grad(_residual_cost)(params, x, y, plain=True)
            got = student(params, x, y)
            if not isinstance(got, (list, tuple)) or len(got) != len(want):
                raise Mismatch(f"returned {type(got).__name__}; expected a list of {len(want)} "
                               "ffnn.Layer(W=..., b=...), layer 1 first")
            for l, (g, w) in enumerate(zip(got, want, strict=True), start=1):
                if not all(hasattr(g, name) for name in ("W", "b")):
                    raise Mismatch(f"layer {l}: returned {type(g).__name__}; "
                                   "expected ffnn.Layer(W=..., b=...)")
                for name in ("W", "b"):
                    known = [(getattr(cut[l - 1], name),
                              "these are the gradients with the skip path cut in the backward pass: "
                              "a^l depends on a^(l-1) directly as well as through z^l, so dC/da^(l-1) "
                              "has two terms"),
                             (getattr(plain[l - 1], name),
                              "these are the gradients of a network without skip connections: the "
                              "forward pass must add a^(l-1) to sigma(z^l)")]
                    expect(getattr(g, name), getattr(w, name), f"dC/d{name}^{l} (network {sizes})",
                           known=known)
        return "equals jax.grad of the residual network's cost on networks [3, 3, 3, 2] and [4, 4, 4, 4, 1]"

    return run("back-propagation through a residual network", student,
               "apply the chain rule to a^l = a^(l-1) + sigma(z^l): write dC/da^(l-1) from dC/da^l, "
               "then section 2's equations give dC/dW^l and dC/db^l from dC/dz^l", trial)
