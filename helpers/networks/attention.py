# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Attention and the transformer, written from their equations as Flax NNX modules.

Conventions: a sequence of n tokens with d features each is ``(..., n, d)``; heads come before the
sequence axis inside attention, ``(..., heads, n, d_head)``.  A mask is boolean, ``True`` where a
query may look at a key; :func:`causal_mask` lets token i see the tokens j <= i only.  The block is
the *pre-norm* transformer block (layer norm before each sub-layer, Xiong et al. 2020), and the
positional information is either the fixed sinusoidal code of Vaswani et al. (2017) or a learned
table.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Bool, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped
from helpers.networks.layers import MLP, time_embedding

POSITIONS = ("sinusoidal", "learned", None)
KINDS = ("softmax", "linear")


@shaped
def scaled_dot_product_attention(
    q: Real[AnyArray, "*batch n d"],
    k: Real[AnyArray, "*batch m d"],
    v: Real[AnyArray, "*batch m dv"],
    mask: Bool[AnyArray, "*#batch n m"] | None = None,
) -> tuple[Float[Array, "*batch n dv"], Float[Array, "*batch n m"]]:
    r"""Scaled dot-product attention and its weights,

    .. math:: \mathrm{Attention}(Q, K, V) = A V,\qquad
              A = \mathrm{softmax}\!\left(\frac{Q K^\top}{\sqrt{d}}\right),

    the softmax taken over the keys (each row of A sums to one).  Where ``mask`` is ``False`` the
    score is set to :math:`-\infty` before the softmax, so that key gets weight zero.
    ``q (..., n, d)``, ``k (..., m, d)``, ``v (..., m, d_v)``, ``mask`` broadcastable to
    ``(..., n, m)``; returns ``(A V (..., n, d_v), A (..., n, m))``."""
    _nonempty(q=q, k=k)
    scores = q @ jnp.swapaxes(k, -1, -2) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = jnp.where(mask, scores, -jnp.inf)
    weights = jax.nn.softmax(scores, axis=-1)
    return weights @ v, weights


@shaped
def linear_attention(
    q: Real[AnyArray, "*batch n d"],
    k: Real[AnyArray, "*batch m d"],
    v: Real[AnyArray, "*batch m dv"],
) -> Float[Array, "*batch n dv"]:
    r"""Attention without the softmax, normalised by the number of keys (the "Galerkin" attention of
    Cao, NeurIPS 2021):

    .. math:: \mathrm{Attention}(Q, K, V)_i = \frac{1}{m}\sum_{j=1}^{m} (\mathbf{q}_i\cdot\mathbf{k}_j)\,
              \mathbf{v}_j = \frac{1}{m}\,\mathbf{q}_i^\top (K^\top V),

    computed as :math:`Q (K^\top V)/m` in :math:`O(n d\, d_v)` instead of :math:`O(n m d)`.  With
    tokens at grid points :math:`y_j` it is a quadrature of the kernel integral
    :math:`\int \kappa(x_i, y)\, v(y)\, dy` with the low-rank kernel
    :math:`\kappa = \mathbf{q}\cdot\mathbf{k}`, the same on any grid.
    ``q (..., n, d)``, ``k (..., m, d)``, ``v (..., m, d_v)`` -> ``(..., n, d_v)``."""
    _nonempty(q=q, k=k)
    return q @ (jnp.swapaxes(k, -1, -2) @ v) / k.shape[-2]


def _nonempty(**arrays) -> None:
    for name, x in arrays.items():
        if x.shape[-2] == 0:
            raise ValueError(
                f"{name} has shape {tuple(x.shape)}: a sequence of length 0; expected at least one token"
            )


def causal_mask(n) -> Bool[Array, "n n"]:
    r"""The causal mask :math:`M_{ij} = [j \le i]`, ``(n, n)`` boolean: token i sees itself and the
    tokens before it, so no output depends on a later input."""
    validate.positive_int(n=n)
    return jnp.tril(jnp.ones((n, n), bool))


def sinusoidal_positions(n, d) -> Float[Array, "n d"]:
    r"""The fixed positional code of Vaswani et al. (2017) for positions :math:`p = 0..n-1`,
    :math:`[\sin(p\,\omega_k), \cos(p\,\omega_k)]_{k=1}^{d/2}` with :math:`\omega_k = 10^{-4(k-1)/(d/2)}`
    (sines first, then cosines: :func:`helpers.networks.layers.time_embedding`); ``(n, d)``."""
    validate.positive_int(n=n)
    return time_embedding(jnp.arange(n), d)


class LearnedPositions(nnx.Module):
    """A learned vector per position, added to the tokens: ``x (..., n, d)`` -> ``x + P[:n]``, with
    ``P (max_len, d)`` initialised from :math:`\\mathcal{N}(0, 0.02^2)`."""

    def __init__(self, max_len: int, d: int, *, rngs: nnx.Rngs):
        validate.positive_int(max_len=max_len, d=d)
        self.table = nnx.Param(0.02 * jax.random.normal(rngs.params(), (max_len, d)))

    def __call__(self, x: jax.Array) -> jax.Array:
        n = x.shape[-2]
        if n > self.table.shape[0]:
            raise ValueError(f"x has {n} tokens; the learned positions cover at most {self.table.shape[0]}")
        return x + self.table[...][:n]


class MultiHeadAttention(nnx.Module):
    r"""Multi-head self-attention,

    .. math:: \mathrm{MHA}(X) = [\mathrm{head}_1, \dots, \mathrm{head}_H]\, W^O,\qquad
              \mathrm{head}_h = \mathrm{Attention}(X W^Q_h, X W^K_h, X W^V_h),

    with ``heads`` heads of width ``width // heads`` (``heads`` must divide ``width``).
    ``kind="linear"`` uses :func:`linear_attention` instead of the softmax.  ``x (..., n, width)`` ->
    ``(..., n, width)``; ``weights=True`` also returns the attention maps ``(..., heads, n, n)``."""

    def __init__(self, width: int, heads: int, *, kind: str = "softmax", rngs: nnx.Rngs):
        validate.positive_int(width=width, heads=heads)
        validate.choice("kind", kind, KINDS)
        if width % heads:
            raise ValueError(
                f"heads={heads} does not divide width={width}; expected width = heads x head width"
            )
        self.width, self.heads, self.kind = width, heads, kind
        self.query, self.key, self.value, self.out = (nnx.Linear(width, width, rngs=rngs) for _ in range(4))

    def split_heads(self, x: jax.Array) -> jax.Array:
        """``(..., n, width)`` -> ``(..., heads, n, width // heads)``."""
        return jnp.swapaxes(x.reshape(*x.shape[:-1], self.heads, self.width // self.heads), -2, -3)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None, weights: bool = False):
        if x.shape[-1] != self.width:
            raise ValueError(f"x has {x.shape[-1]} features per token; expected width={self.width}")
        q, k, v = (self.split_heads(layer(x)) for layer in (self.query, self.key, self.value))
        if self.kind == "linear":
            if mask is not None:
                raise ValueError("mask: linear attention sums over every key; expected mask=None")
            heads, maps = linear_attention(q, k, v), None
        else:
            heads, maps = scaled_dot_product_attention(q, k, v, mask)
        merged = jnp.swapaxes(heads, -2, -3)
        out = self.out(merged.reshape(*merged.shape[:-2], self.width))
        return (out, maps) if weights else out


class Block(nnx.Module):
    r"""The pre-norm transformer block: attention and an MLP, each behind a layer norm and inside a
    residual connection,

    .. math:: X' = X + \mathrm{MHA}(\mathrm{LN}(X)),\qquad Y = X' + \mathrm{MLP}(\mathrm{LN}(X')),

    the MLP ``width -> mlp_ratio * width -> width`` with a GELU.  ``x (..., n, width)`` -> same shape."""

    def __init__(self, width: int, heads: int, *, mlp_ratio: int = 2, kind: str = "softmax", rngs: nnx.Rngs):
        validate.positive_int(mlp_ratio=mlp_ratio)
        self.norm1, self.norm2 = nnx.LayerNorm(width, rngs=rngs), nnx.LayerNorm(width, rngs=rngs)
        self.attention = MultiHeadAttention(width, heads, kind=kind, rngs=rngs)
        self.mlp = MLP([width, mlp_ratio * width, width], activation=jax.nn.gelu, rngs=rngs)

    def __call__(self, x: jax.Array, mask: jax.Array | None = None, weights: bool = False):
        h, maps = self.attention(self.norm1(x), mask, weights=True)
        x = x + h
        x = x + self.mlp(self.norm2(x))
        return (x, maps) if weights else x


class Transformer(nnx.Module):
    """A stack of :class:`Block` s between a linear embedding of the input features and a linear read-out
    after a final layer norm: ``x (batch, n, in_features)`` -> ``(batch, n, out_features)``.

    ``positions``: ``"sinusoidal"`` (:func:`sinusoidal_positions`), ``"learned"``
    (:class:`LearnedPositions`, up to ``max_len`` tokens) or ``None`` (no positional information: the
    network is then permutation-equivariant).  ``causal=True`` applies :func:`causal_mask` in every
    block, for autoregressive models.  ``maps(x)`` returns every block's attention maps."""

    def __init__(
        self,
        in_features: int,
        width: int,
        heads: int,
        depth: int,
        out_features: int,
        *,
        positions: str | None = "sinusoidal",
        max_len: int = 512,
        causal: bool = False,
        mlp_ratio: int = 2,
        kind: str = "softmax",
        rngs: nnx.Rngs,
    ):
        validate.positive_int(in_features=in_features, depth=depth, out_features=out_features)
        validate.choice("positions", positions, POSITIONS)
        if positions == "sinusoidal":
            validate.even_int(width=width)
        self.positions, self.causal = positions, bool(causal)
        self.embed = nnx.Linear(in_features, width, rngs=rngs)
        self.learned = LearnedPositions(max_len, width, rngs=rngs) if positions == "learned" else None
        self.blocks = nnx.List(
            [Block(width, heads, mlp_ratio=mlp_ratio, kind=kind, rngs=rngs) for _ in range(depth)]
        )
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.head = nnx.Linear(width, out_features, rngs=rngs)

    def _tokens(self, x: jax.Array) -> tuple[jax.Array, jax.Array | None]:
        if x.ndim < 2 or x.shape[-2] == 0:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (..., n, in_features) with n >= 1")
        h = self.embed(x)
        if self.positions == "sinusoidal":
            h = h + sinusoidal_positions(x.shape[-2], h.shape[-1])
        elif self.positions == "learned":
            h = self.learned(h)
        return h, (causal_mask(x.shape[-2]) if self.causal else None)

    def __call__(self, x: jax.Array) -> jax.Array:
        h, mask = self._tokens(x)
        for block in self.blocks:
            h = block(h, mask)
        return self.head(self.norm(h))

    def maps(self, x: jax.Array) -> list[jax.Array]:
        """Each block's attention weights ``(batch, heads, n, n)``."""
        h, mask = self._tokens(x)
        out = []
        for block in self.blocks:
            h, a = block(h, mask, weights=True)
            out.append(a)
        return out


def block_flops(n, width, mlp_ratio=2) -> int:
    r"""The multiply-adds of one :class:`Block` on n tokens, counted as 2 flops each (matrix products
    only; norms, softmax and biases are O(n d) and left out):

    .. math:: F(n) = \underbrace{2n \cdot 4d^2}_{W^Q, W^K, W^V, W^O}
              + \underbrace{2 \cdot 2 n^2 d}_{QK^\top,\ AV} + \underbrace{2 \cdot 2 n d \cdot r d}_{\rm MLP},

    quadratic in n once :math:`n > (2 + r) d`.  Independent of the number of heads."""
    validate.positive_int(n=n, width=width, mlp_ratio=mlp_ratio)
    return 8 * n * width**2 + 4 * n**2 * width + 4 * mlp_ratio * n * width**2


def matmul_flops(function, *args) -> int:
    """The flops of every matrix product (``dot_general``) that ``function(*args)`` traces to, read from
    its jaxpr: 2 x (product of the output's dimensions) x (the contracted dimensions)."""
    validate.callable_("function", function)

    def count(jaxpr) -> int:
        total = 0
        for eqn in jaxpr.eqns:
            if eqn.primitive.name == "dot_general":
                (contract, _), _ = eqn.params["dimension_numbers"]
                lhs = eqn.invars[0].aval.shape
                total += 2 * math.prod(eqn.outvars[0].aval.shape) * math.prod(lhs[i] for i in contract)
            for param in eqn.params.values():
                inner = getattr(param, "jaxpr", None)
                if inner is not None and hasattr(inner, "eqns"):
                    total += count(inner)
        return total

    return count(jax.make_jaxpr(function)(*args).jaxpr)
