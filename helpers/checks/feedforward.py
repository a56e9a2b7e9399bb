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
                nonfinite_hint="log(1 + e^z) overflows for large z in float32: use jnp.logaddexp(0, z) "
                "or jax.nn.softplus")
        s = expit(z)
        expect(sigma_prime(zj), s, "sigma_prime(z)",
                known=[(s * (1 - s), "that is the derivative of the logistic sigmoid; the derivative of "
                        "softplus is the logistic sigmoid itself")],
                nonfinite_hint="1 / (1 + e^(-z)) is safe, e^z / (1 + e^z) overflows: use jax.nn.sigmoid")
        return "matches log(1 + e^z) and its derivative at 60 points, finite at z = ±100"

    return run("softplus and its derivative", sigma, "differentiate log(1 + e^z) by the chain rule", trial)


def backprop(student: Callable) -> Verdict:
    r"""``student(params, x, y)`` -> the gradients of :func:`helpers.networks.ffnn.cost` (sigmoid hidden
    layers,
    linear output, :math:`C = \frac1n\sum_i\lVert\mathbf{a}^L_i - \mathbf{y}_i\rVert^2`) as a list of
    ``ffnn.Layer(W, b)`` records, layer 1 first; compared with ``jax.grad`` on two random networks."""

    def trial():
        for case, (sizes, n) in enumerate([([3, 5, 2], 7), ([4, 6, 6, 1], 5)]):
            k_p, k_x, k_y = jax.random.split(jax.random.key(case), 3)
            params = ffnn.init_params(k_p, sizes)
            x = jax.random.normal(k_x, (n, sizes[0]))
            y = jax.random.normal(k_y, (n, sizes[-1]))
            want = jax.grad(ffnn.cost)(params, x, y)
            got = student(params, x, y)
            if not isinstance(got, (list, tuple)) or len(got) != len(want):
                raise Mismatch(f"returned {type(got).__name__}; expected a list of {len(want)} "
                                "ffnn.Layer(W=..., b=...), layer 1 first")
            for l, (g, w) in enumerate(zip(got, want, strict=True), start=1):
                if not all(hasattr(g, name) for name in ("W", "b")):
                    raise Mismatch(f"layer {l}: returned {type(g).__name__}; "
                                   "expected ffnn.Layer(W=..., b=...)")
                for name in ("W", "b"):
                    expect(getattr(g, name), getattr(w, name), f"dC/d{name}^{l} (network {sizes})")
        return "equals jax.grad of the cost on networks [3, 5, 2] and [4, 6, 6, 1]"

    return run("back-propagation", student, "delta^L = (2/n)(a^L - y) for this cost; then "
                "delta^l = (delta^(l+1) W^(l+1)) * sigma'(z^l), dC/dW^l = delta^l^T a^(l-1)", trial)
