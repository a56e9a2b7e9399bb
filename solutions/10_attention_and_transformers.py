"""Instructors' solutions to notebook 10's self-checking exercises (``helpers.checks``)."""

import jax
import jax.numpy as jnp

from helpers import checks


def alibi_attention(q, k, v, m):
    """softmax(q k^T / sqrt(d) - m |i - j|) v for one head."""
    n = q.shape[0]
    distance = jnp.abs(jnp.arange(n)[:, None] - jnp.arange(n)[None, :])
    return jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[-1]) - m * distance, axis=-1) @ v


def causal_linear_attention(q, k, v):
    """y_i = q_i^T S_i / i with the running sum S_i = sum_{j<=i} k_j v_j^T: O(n d d_v)."""
    running = jnp.cumsum(k[:, :, None] * v[:, None, :], axis=0)  # (n, d, d_v)
    return jnp.einsum("id,ide->ie", q, running) / jnp.arange(1, q.shape[0] + 1)[:, None]


def _alibi_plus(q, k, v, m):
    n = q.shape[0]
    distance = jnp.abs(jnp.arange(n)[:, None] - jnp.arange(n)[None, :])
    return jax.nn.softmax(q @ k.T / jnp.sqrt(q.shape[-1]) + m * distance, axis=-1) @ v


def _alibi_unscaled(q, k, v, m):
    n = q.shape[0]
    distance = jnp.abs(jnp.arange(n)[:, None] - jnp.arange(n)[None, :])
    return jax.nn.softmax(q @ k.T - m * distance, axis=-1) @ v


def _linear_not_causal(q, k, v):
    return q @ (k.T @ v) / q.shape[0]


def _linear_over_n(q, k, v):
    running = jnp.cumsum(k[:, :, None] * v[:, None, :], axis=0)
    return jnp.einsum("id,ide->ie", q, running) / q.shape[0]


# Each check with the solution's arguments, a plausible wrong answer's, and words its verdict must contain.
CASES = [
    (checks.alibi_attention, (alibi_attention,), (_alibi_plus,), "subtract m |i - j|"),
    (checks.alibi_attention, (alibi_attention,), (_alibi_unscaled,), "divided by sqrt(d)"),
    (checks.causal_linear_attention, (causal_linear_attention,), (_linear_not_causal,), "non-causal"),
    (checks.causal_linear_attention, (causal_linear_attention,), (_linear_over_n,), "not by n"),
]
