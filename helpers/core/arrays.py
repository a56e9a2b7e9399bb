"""Array plumbing shared by the losses of several topics."""

from __future__ import annotations

import jax
from jaxtyping import Shaped

from helpers.core.validate import AnyArray, shaped


@shaped
def per_example(values: Shaped[AnyArray, " n"], x: Shaped[AnyArray, " n *rest"]) -> jax.Array:
    """One value per example ``(n,)`` shaped ``(n, 1, ..., 1)`` to broadcast against ``x (n, ...)``."""
    return values.reshape(values.shape + (1,) * (x.ndim - values.ndim))
