"""Instructors' solutions to notebook 02's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def correlate2d(x, w):
    """y_ij = sum_mn x_(i+m, j+n) w_mn, 'valid': one shifted copy of the image per kernel entry."""
    (H, W), (k, l) = x.shape, w.shape
    return sum(w[m, n] * x[m : m + H - k + 1, n : n + W - l + 1] for m in range(k) for n in range(l))


def elman_unroll(params, xs, h0):
    def step(h, x):
        h = jnp.tanh(h @ params.Wh + x @ params.Wx + params.b)
        return h, h

    return jax.lax.scan(step, h0, xs)[1]


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.correlate2d, (correlate2d,), (lambda x, w: correlate2d(x, w[::-1, ::-1]),), "flipped"),
    (checks.elman_unroll, (elman_unroll,),
     (lambda p, xs, h0: elman_unroll(p, xs, h0)[:-1],), "shape (5, 3, 4); expected (6, 3, 4)"),
]
