# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Feed-forward neural networks: activations, costs, and the hand-written network with back-propagation.

Notation (the lecture's): layer l = 1, ..., L maps the activations :math:`\mathbf{a}^{l-1}` of
the layer below to

.. math:: \mathbf{z}^l = W^l \mathbf{a}^{l-1} + \mathbf{b}^l, \qquad
          \mathbf{a}^l = \sigma_l(\mathbf{z}^l), \qquad \mathbf{a}^0 = \mathbf{x},

with :math:`W^l` of shape ``(n_l, n_{l-1})``.  Code works on a batch of n inputs at once, one per
row, so ``z = a @ W.T + b`` has shape ``(n, n_l)``.  The hand-written network stores its
parameters as a list of :class:`Layer` records ``Layer(W (n_l, n_{l-1}), b (n_l,))``, layer 1 first
(``layer.W``, ``layer.b``).  The same
network as a Flax NNX module, for training, is :class:`helpers.networks.layers.MLP`.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jax.scipy.special import ndtr
from jaxtyping import Array, Float, Int, Real, Shaped

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


class Layer(NamedTuple):
    r"""One layer's parameters: :math:`\mathbf{z}^l = W^l \mathbf{a}^{l-1} + \mathbf{b}^l`."""

    W: Float[Array, "n_out n_in"]
    b: Float[Array, " n_out"]


Params = list[Layer]


# --------------------------------------------------------------------------------------------
# Activations and their derivatives
# --------------------------------------------------------------------------------------------
def _gelu(z):
    return z * ndtr(z)  # z Phi(z), the exact (erf) form


def _gelu_prime(z):
    return ndtr(z) + z * jnp.exp(-0.5 * z**2) / jnp.sqrt(2.0 * jnp.pi)


ACTIVATIONS: dict[str, tuple[Callable, Callable]] = {
    # name: (sigma(z), sigma'(z))
    "identity": (lambda z: z, jnp.ones_like),
    "sigmoid": (jax.nn.sigmoid, lambda z: jax.nn.sigmoid(z) * (1.0 - jax.nn.sigmoid(z))),
    "tanh": (jnp.tanh, lambda z: 1.0 - jnp.tanh(z) ** 2),
    "relu": (jax.nn.relu, lambda z: (z > 0).astype(z.dtype)),
    "leaky_relu": (
        lambda z: jnp.where(z > 0, z, 0.01 * z),
        lambda z: jnp.where(z > 0, 1.0, 0.01).astype(z.dtype),
    ),
    "elu": (
        lambda z: jnp.where(z > 0, z, jnp.expm1(jnp.minimum(z, 0.0))),
        lambda z: jnp.where(z > 0, 1.0, jnp.exp(jnp.minimum(z, 0.0))).astype(z.dtype),
    ),
    "gelu": (_gelu, _gelu_prime),
    "swish": (
        lambda z: z * jax.nn.sigmoid(z),
        lambda z: jax.nn.sigmoid(z) * (1.0 + z * (1.0 - jax.nn.sigmoid(z))),
    ),
}
r"""Hidden-layer activations :math:`\sigma` with their derivatives :math:`\sigma'`, elementwise.

sigmoid :math:`1/(1+e^{-z})`; tanh; ReLU :math:`\max(0, z)`; leaky ReLU :math:`\max(0.01 z, z)`;
ELU :math:`z` for z > 0 else :math:`e^z - 1`; GELU :math:`z\,\Phi(z)` (exact, with the normal CDF);
swish (SiLU) :math:`z/(1+e^{-z})`, smooth, so an energy built from it has a smooth gradient.
"""


def softmax(z: jax.Array) -> jax.Array:
    r"""Softmax over the last axis, :math:`\mathrm{softmax}(\mathbf{z})_k = e^{z_k} / \sum_j e^{z_j}`."""
    return jax.nn.softmax(z, axis=-1)


# --------------------------------------------------------------------------------------------
# Costs
# --------------------------------------------------------------------------------------------
@shaped
def mse(prediction: Real[AnyArray, "*shape"], target: Real[AnyArray, "*shape"]) -> jax.Array:
    r"""Mean squared error, prediction :math:`\tilde{\mathbf{y}}` against target :math:`\mathbf{y}`:

    .. math:: C = \frac{1}{n}\sum_{i=1}^n \lVert \mathbf{y}_i - \tilde{\mathbf{y}}_i \rVert^2.

    prediction, target ``(n, d)`` -> scalar.  The shapes must be equal: broadcasting a ``(n, 1)``
    prediction against ``(n, d)`` targets would give a number that is no error at all.
    """
    return jnp.mean(jnp.sum((prediction - target) ** 2, axis=-1))


@shaped
def cross_entropy(logits: Float[AnyArray, "n K"], labels: Int[AnyArray, " n"]) -> jax.Array:
    r"""Softmax cross-entropy :math:`C = -\frac{1}{n}\sum_i \log \mathrm{softmax}(\mathbf{z}^L_i)_{y_i}`.

    logits ``(n, K)``, integer labels ``(n,)`` in [0, K) -> scalar.
    """
    labels = validate.labels("labels", labels, logits.shape[-1])  # a label >= K would give NaN
    log_p = jax.nn.log_softmax(logits, axis=-1)
    return -jnp.mean(jnp.take_along_axis(log_p, labels[:, None], axis=-1))


@shaped
def accuracy(logits: Real[AnyArray, "n K"], labels: Int[AnyArray, " n"]) -> jax.Array:
    """Fraction of rows whose largest logit is at the label; logits ``(n, K)``, labels ``(n,)``."""
    labels = validate.labels("labels", labels, logits.shape[-1])
    return jnp.mean(jnp.argmax(logits, axis=-1) == labels)


# --------------------------------------------------------------------------------------------
# The hand-written network
# --------------------------------------------------------------------------------------------
def init_params(key: jax.Array, sizes: Sequence[int], dtype=jnp.float32) -> Params:
    r"""Random weights for layer sizes ``[n_0, n_1, ..., n_L]``.

    :math:`W^l_{ij} \sim \mathcal{N}(0, 1/n_{l-1})` (LeCun scaling, which keeps the variance of
    :math:`z^l` of order one), :math:`\mathbf{b}^l = 0`.
    """
    validate.key("key", key)
    sizes = validate.layer_sizes("sizes", sizes, what="[n_0, ..., n_L]")
    keys = jax.random.split(key, len(sizes) - 1)
    return [
        Layer(
            W=jax.random.normal(k, (n_out, n_in), dtype) / jnp.sqrt(jnp.asarray(n_in, dtype)),
            b=jnp.zeros((n_out,), dtype),
        )
        for k, n_in, n_out in zip(keys, sizes[:-1], sizes[1:], strict=True)
    ]


def check_params(params: Params, x: jax.Array | None = None) -> None:
    """Raise ``ValueError`` if the layer shapes do not chain (or do not fit the input ``x (n, n_0)``)."""
    for l, (W, b) in enumerate(params, start=1):
        if W.ndim != 2 or jnp.shape(b) != (W.shape[0],):
            raise ValueError(f"layer {l}: W {W.shape} and b {jnp.shape(b)}; "
                             "expected (n_l, n_l-1) and (n_l,)")
        if l > 1 and W.shape[1] != params[l - 2].W.shape[0]:
            raise ValueError(f"layer sizes do not chain: layer {l - 1} has {params[l - 2].W.shape[0]} "
                             f"outputs, layer {l} expects {W.shape[1]} inputs")
    if x is not None and x.shape[-1] != params[0].W.shape[1]:
        raise ValueError(f"x has shape {x.shape}; expected (n, {params[0].W.shape[1]})")


@shaped
def forward(params: Params, x: Real[AnyArray, "n n_0"], activation: str = "sigmoid"):
    r"""Feed-forward pass; returns the output pre-activations :math:`\mathbf{z}^L` ``(n, n_L)`` and
    the lists ``zs = [z^1, ..., z^L]``, ``activations = [a^0 = x, ..., a^{L-1}]`` kept for
    back-propagation.  Hidden layers use ``activation``; the output layer is left linear, the cost
    applies its own output function (identity for MSE, softmax for cross-entropy).
    """
    validate.choice("activation", activation, list(ACTIVATIONS))
    check_params(params, x)
    sigma, _ = ACTIVATIONS[activation]
    a, zs, activations = x, [], [x]
    for l, layer in enumerate(params, start=1):
        z = a @ layer.W.T + layer.b
        zs.append(z)
        if l < len(params):
            a = sigma(z)
            activations.append(a)
    return zs[-1], zs, activations


@shaped
def cost(params: Params, x: Real[AnyArray, "n n_0"], y: Shaped[AnyArray, "n ..."],
         activation: str = "sigmoid", kind: str = "mse"):
    """The cost of the network on a batch: ``mse`` (y ``(n, n_L)``) or ``cross_entropy`` (labels ``(n,)``)."""
    validate.choice("kind", kind, ("mse", "cross_entropy"))
    out, _, _ = forward(params, x, activation)
    return mse(out, y) if kind == "mse" else cross_entropy(out, y)


@shaped
def backprop(params: Params, x: Real[AnyArray, "n n_0"], y: Shaped[AnyArray, "n ..."],
             activation: str = "sigmoid", kind: str = "mse"):
    r"""Gradients of :func:`cost` by the back-propagation equations (no automatic differentiation).

    With :math:`\delta^l = \partial C / \partial \mathbf{z}^l` (one row per example):

    .. math::
        \delta^L &= \frac{2}{n}(\mathbf{a}^L - \mathbf{y}) \ \text{(MSE, linear output)}, \quad
        \delta^L = \frac{1}{n}(\mathrm{softmax}(\mathbf{z}^L) - \mathbf{e}_y) \ \text{(cross-entropy)}, \\
        \delta^l &= \left( (W^{l+1})^T \delta^{l+1} \right) \odot \sigma'(\mathbf{z}^l), \\
        \frac{\partial C}{\partial W^l} &= \delta^l (\mathbf{a}^{l-1})^T, \qquad
        \frac{\partial C}{\partial \mathbf{b}^l} = \delta^l,

    each summed over the batch.  Returns a list of :class:`Layer` gradients shaped like ``params``.
    """
    validate.choice("kind", kind, ("mse", "cross_entropy"))
    n = x.shape[0]
    out, zs, activations = forward(params, x, activation)
    if kind == "mse":
        if y.shape != out.shape:
            raise ValueError(f"y has shape {y.shape}; expected {out.shape}")
        delta = 2.0 / n * (out - y)
    else:
        y = validate.labels("labels", validate.array("labels", y, (n,), kind="integer"), out.shape[1])
        delta = (softmax(out) - jax.nn.one_hot(y, out.shape[1], dtype=out.dtype)) / n
    _, sigma_prime = ACTIVATIONS[activation]
    grads = [None] * len(params)
    for l in range(len(params) - 1, -1, -1):  # python index l is the lecture's layer l + 1
        grads[l] = Layer(W=delta.T @ activations[l], b=jnp.sum(delta, axis=0))
        if l > 0:
            delta = (delta @ params[l].W) * sigma_prime(zs[l - 1])
    return grads
