"""Instructors' solutions to notebook 02's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def conv_kernel_gradient(x, g):
    """dL/dw_mn = sum_ij g_ij x_(i+m, j+n): the "valid" correlation of the image with g = dL/dy."""
    (H, W), (h, w) = x.shape, g.shape
    k, l = H - h + 1, W - w + 1
    return jnp.array([[jnp.sum(g * x[m : m + h, n : n + w]) for n in range(l)] for m in range(k)])


def leaky_rnn_unroll(params, xs, h0, alpha):
    """h_t = h_(t-1) + alpha (-h_(t-1) + tanh(h_(t-1) Wh + x_t Wx + b)): one Euler step per input."""

    def step(h, x):
        h = (1.0 - alpha) * h + alpha * jnp.tanh(h @ params.Wh + x @ params.Wx + params.b)
        return h, h

    return jax.lax.scan(step, h0, xs)[1]


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.conv_kernel_gradient, (conv_kernel_gradient,),
     (lambda x, g: conv_kernel_gradient(x, g)[::-1, ::-1],), "flipped"),
    (checks.leaky_rnn_unroll, (leaky_rnn_unroll,),
     (lambda p, xs, h0, alpha: leaky_rnn_unroll(p, xs, h0, 1.0 - alpha),), "swapped"),
]
