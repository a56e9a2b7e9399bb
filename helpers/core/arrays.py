"""Array plumbing shared by the losses of several topics."""

from __future__ import annotations

import jax


def per_example(values: jax.Array, x: jax.Array) -> jax.Array:
    """One value per example ``(n,)`` shaped ``(n, 1, ..., 1)`` to broadcast against ``x (n, ...)``."""
    return values.reshape(values.shape + (1,) * (x.ndim - values.ndim))
