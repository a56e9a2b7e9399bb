# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""The Flax NNX layers the notebooks share: the MLP, time conditioning, residual and lattice blocks.

Conventions: a batch of n examples comes first, ``(n, ...)``; features come last.  Lattice layers
work on ``L x L`` sites with periodic boundaries flattened to ``(n, L*L, features)``, site
``i = row * L + col``.  The lecture's hand-written network and its back-propagation are in
:mod:`helpers.networks.ffnn`; the activations named here are its ``ACTIVATIONS``.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Real, Shaped

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped
from helpers.networks.ffnn import ACTIVATIONS


class MLP(nnx.Module):
    r"""Multilayer perceptron, :math:`\mathbf{a}^l = \sigma(W^l\mathbf{a}^{l-1} + \mathbf{b}^l)` and a linear
    output layer.

    ``sizes = [n_0, ..., n_L]``; ``activation`` is a name in ``ffnn.ACTIVATIONS`` or a function.
    ``__call__`` maps ``(..., n_0)`` to ``(..., n_L)``; an image batch ``(n, h, w)`` is flattened
    first.  Each layer is an ``nnx.Linear`` whose ``kernel`` is ``(n_{l-1}, n_l)``: the transpose of
    the lecture's :math:`W^l`, since NNX multiplies rows, ``z = a @ kernel + bias``.
    """

    def __init__(self, sizes: Sequence[int], activation: str | Callable = "relu", *, rngs: nnx.Rngs):
        sizes = validate.layer_sizes("sizes", sizes)
        if not callable(activation) and activation not in ACTIVATIONS:
            names = sorted(ACTIVATIONS)
            raise ValueError(f"activation={activation!r}; expected a function or one of {names}")
        self.sizes = tuple(sizes)
        self.activation = activation
        pairs = zip(sizes[:-1], sizes[1:], strict=True)
        self.layers = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in pairs])

    def features(self, x: jax.Array) -> jax.Array:
        """The last hidden layer's activations ``(..., n_{L-1})``: what the read-out layer sees."""
        if x.shape[-1] != self.sizes[0]:
            x = x.reshape(x.shape[0], -1)  # an image batch (n, h, w) -> (n, h * w)
        if x.shape[-1] != self.sizes[0]:
            raise ValueError(f"input has {x.shape[-1]} features per example; expected {self.sizes[0]}")
        sigma = self.activation if callable(self.activation) else ACTIVATIONS[self.activation][0]
        for layer in self.layers[:-1]:
            x = sigma(layer(x))
        return x

    def __call__(self, x: jax.Array) -> jax.Array:
        return self.layers[-1](self.features(x))


class Function(nnx.Module):
    """A plain function ``fn(*args)`` as an NNX module, so samplers can take models and functions alike."""

    def __init__(self, fn: Callable):
        self.fn = fn

    def __call__(self, *args):
        return self.fn(*args)


def as_module(model) -> nnx.Module:
    """``model`` itself if it is an NNX module, else :class:`Function` around the callable."""
    if isinstance(model, nnx.Module):
        return model
    if not callable(model):
        raise ValueError(f"model={model!r}; expected an NNX module or a callable")
    return Function(model)


@shaped
def time_embedding(t: Real[AnyArray, " n"], dim: int, max_period: float = 10_000.0) -> jax.Array:
    r"""Sinusoidal embedding of integer time steps (Vaswani et al. 2017; Ho et al. 2020):

    .. math:: \mathrm{emb}(t) = [\sin(t\omega_1), \dots, \sin(t\omega_{d/2}),
              \cos(t\omega_1), \dots, \cos(t\omega_{d/2})],
              \qquad \omega_k = \mathrm{max\_period}^{-(k-1)/(d/2)}.

    ``t (n,)`` -> ``(n, dim)``; ``dim`` must be even.
    """
    validate.even_int(dim=dim)
    validate.positive_number(max_period=max_period)
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half) / half)
    angles = jnp.asarray(t, jnp.float32)[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


def time_mlp(emb_dim: int, rngs: nnx.Rngs) -> nnx.Sequential:
    """The learned map applied to the sinusoidal embedding before it conditions the blocks."""
    return nnx.Sequential(
        nnx.Linear(emb_dim, 4 * emb_dim, rngs=rngs),
        jax.nn.swish,
        nnx.Linear(4 * emb_dim, emb_dim, rngs=rngs),
        jax.nn.swish,
    )


class ResidualBlock(nnx.Module):
    r"""Pre-norm residual block whose normalised input is scaled and shifted by the time embedding (FiLM):

    .. math:: \mathbf{y} = \mathbf{h} + W_2\,\mathrm{swish}\left(W_1\left[(1 + \boldsymbol\gamma_t)
              \odot\mathrm{LN}(\mathbf{h}) + \boldsymbol\beta_t\right]\right),
              \qquad [\boldsymbol\gamma_t, \boldsymbol\beta_t] = U\mathbf{e}_t.

    :math:`W_2` starts at zero, so a fresh block is the identity map.
    """

    def __init__(self, width: int, emb_dim: int, *, rngs: nnx.Rngs, mixed_width: int | None = None):
        self.norm = nnx.LayerNorm(width, use_scale=False, use_bias=False, rngs=rngs)
        self.film = nnx.Linear(emb_dim, 2 * width, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)
        self.dense1 = nnx.Linear(mixed_width or width, width, rngs=rngs)
        self.dense2 = nnx.Linear(width, width, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

    def mix(self, z: jax.Array) -> jax.Array:
        """What ``W_1`` sees of the conditioned features; here each example's own (subclasses widen it)."""
        return z

    def __call__(self, h: jax.Array, emb: jax.Array) -> jax.Array:
        gamma, beta = jnp.split(self.film(emb), 2, axis=-1)
        return h + self.dense2(jax.nn.swish(self.dense1(self.mix((1 + gamma) * self.norm(h) + beta))))


@shaped
def periodic_neighbourhood(h: Shaped[AnyArray, "n sites w"], L: int) -> jax.Array:
    """``(n, L*L, w)`` -> ``(n, L*L, 9w)``: each site's features beside its 8 periodic neighbours'.

    Block k = 3 (dy + 1) + (dx + 1) of the output holds site (row - dy, col - dx) (mod L), so it equals
    ``jnp.roll(grid, (dy, dx), axis=(1, 2))``; a dense layer applied to the result is a periodic 3x3
    convolution.  The neighbours are gathered with an index table (faster on a CPU than nine rolls).
    """
    validate.lattice_size(L)
    validate.array("h", h, (None, L * L, None))
    rows, cols = np.divmod(np.arange(L * L), L)
    offsets = [(dy, dx) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    table = np.stack([((rows - dy) % L) * L + (cols - dx) % L for dy, dx in offsets], axis=1)  # (L*L, 9)
    return h[:, table].reshape(h.shape[0], L * L, 9 * h.shape[-1])


class LatticeBlock(ResidualBlock):
    r""":class:`ResidualBlock` on a periodic lattice: its first layer mixes each site's 3x3
    neighbourhood (a periodic 3x3 convolution), so stacked blocks see ever larger patches:

    .. math:: \mathbf{y}_i = \mathbf{h}_i + W_2\,\mathrm{swish}\Big(\sum_{j \in 3\times3(i)} W_{1,j-i}
              \left[(1 + \boldsymbol\gamma_t)\odot\mathrm{LN}(\mathbf{h}_j) + \boldsymbol\beta_t\right]\Big).

    ``h (n, L*L, width)``, ``emb (n, 1, emb_dim)`` -> like ``h``.
    """

    def __init__(self, L: int, width: int, emb_dim: int, *, rngs: nnx.Rngs):
        super().__init__(width, emb_dim, rngs=rngs, mixed_width=9 * width)
        self.L = L

    def mix(self, z: jax.Array) -> jax.Array:
        return periodic_neighbourhood(z, self.L)
