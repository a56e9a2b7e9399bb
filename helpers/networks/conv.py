# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Convolutional layers written from their equations, in the form that is fast on a CPU.

A (discrete, 2-D) convolutional layer, as deep-learning libraries define it, is a cross-correlation

.. math::  z_{ijo} = \sum_{m=0}^{k-1}\sum_{n=0}^{k-1}\sum_{c} x_{i+m,\,j+n,\,c}\, w_{mnco} + b_o .

Gathering the :math:`k^2 C` inputs that output site :math:`(i, j)` sees into one row (its *patch*)
turns the sum into one matrix product, ``patches(x) @ w.reshape(k*k*C, O)``: the work of the layer
becomes a well-shaped matmul (``benchmarks/cnn_speed.py`` measures it against XLA's own
convolution).  Images are ``(n, H, W, C)`` ("NHWC"), kernels ``(k, k, C, O)``.  Padding is
``"valid"`` (no padding, output ``H - k + 1``), ``"zero"`` (output ``H``) or ``"periodic"`` (output
``H``; the lattice wraps around, as the Ising model's does).
"""

from __future__ import annotations

from collections.abc import Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float, Real, Shaped

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped

PADDINGS = ("valid", "zero", "periodic")


@shaped
def correlate2d_sum(x: Real[AnyArray, "H W"], w: Real[AnyArray, "k l"]) -> jax.Array:
    r"""The definition, for one channel: :math:`y_{ij} = \sum_{m,n} x_{i+m,\,j+n}\, w_{mn}`
    ("valid": ``x (H, W)``, ``w (k, l)`` -> ``y (H-k+1, W-l+1)``).  One term per kernel entry, each
    a shifted copy of the image: the sum the layer computes, with no library convolution."""
    (H, W), (k, l) = x.shape, w.shape
    if k > H or l > W:
        raise ValueError(f"kernel of shape {w.shape} is larger than the image {x.shape}")
    return sum(w[m, n] * x[m : m + H - k + 1, n : n + W - l + 1] for m in range(k) for n in range(l))


@shaped
def toeplitz_matrix(w: Real[AnyArray, "k l"], H: int, W: int) -> jax.Array:
    r"""The "valid" correlation of an ``(H, W)`` image with ``w (k, l)`` as a matrix
    :math:`T` of shape ``((H-k+1)(W-l+1), H W)``: :math:`\mathrm{vec}(y) = T\,\mathrm{vec}(x)`, with
    :math:`T_{(ij),(i+m,\,j+n)} = w_{mn}`.  Sparse and banded: each row holds the same ``k l`` weights."""
    validate.positive_int(H=H, W=W)
    k, l = w.shape
    if k > H or l > W:
        raise ValueError(f"kernel of shape {w.shape} is larger than the image ({H}, {W})")
    rows, cols = np.meshgrid(np.arange(H - k + 1), np.arange(W - l + 1), indexing="ij")
    out = (rows * (W - l + 1) + cols).ravel()
    T = jnp.zeros(((H - k + 1) * (W - l + 1), H * W), w.dtype)
    for m in range(k):
        for n in range(l):
            T = T.at[out, ((rows + m) * W + cols + n).ravel()].set(w[m, n])
    return T


@shaped
def pad(x: Shaped[AnyArray, "n H W C"], size: int, padding: str) -> jax.Array:
    """Pad ``(n, H, W, C)`` images for a ``size x size`` kernel so that a correlation keeps ``H x W``:
    ``"zero"`` adds zeros, ``"periodic"`` wraps the opposite edge around, ``"valid"`` adds nothing."""
    validate.choice("padding", padding, PADDINGS)
    if padding == "valid":
        return x
    before, after = (size - 1) // 2, size // 2
    widths = ((0, 0), (before, after), (before, after), (0, 0))
    return jnp.pad(x, widths, mode="wrap" if padding == "periodic" else "constant")


@shaped
def patches(x: Shaped[AnyArray, "n H W C"], size: int) -> jax.Array:
    r"""The patch matrix: ``(n, H, W, C)`` -> ``(n, H-k+1, W-k+1, k k C)``, row :math:`(i,j)` holding
    :math:`x_{i+m,\,j+n,\,c}` in the order :math:`(m, n, c)`, the order of ``w.reshape(k*k*C, O)``."""
    validate.positive_int(size=size)
    n, H, W, C = x.shape
    if size > min(H, W):
        raise ValueError(f"size={size} is larger than the image ({H}, {W})")
    h, w = H - size + 1, W - size + 1
    # stacking the k^2 shifted views on a new axis and merging it with the channels is one copy
    shifted = [x[:, m : m + h, n_ : n_ + w, :] for m in range(size) for n_ in range(size)]
    return jnp.stack(shifted, axis=3).reshape(n, h, w, size * size * C)


@shaped
def check_conv(x: Real[AnyArray, "n H W C"], kernel: Float[AnyArray, "k k C O"],
               padding: str = "zero") -> None:
    """A convolution's padding, and a "valid" kernel no larger than the image (the shapes are annotated)."""
    validate.choice("padding", padding, PADDINGS)
    k = kernel.shape[0]
    if padding == "valid" and k > min(x.shape[1:3]):
        raise ValueError(f"kernel size {k} is larger than the image {x.shape[1:3]}")


@shaped
def conv2d(x: Real[AnyArray, "n H W C"], kernel: Float[AnyArray, "k k C O"],
           bias: Float[AnyArray, " O"] | None = None, padding: str = "zero") -> jax.Array:
    r""":math:`z_{ijo} = \sum_{m,n,c} x_{i+m,\,j+n,\,c}\, w_{mnco} + b_o` as one matrix product of the
    patch matrix with the kernel: ``x (n, H, W, C)``, ``kernel (k, k, C, O)``, ``bias (O,)`` ->
    ``(n, H', W', O)`` (``H' = H`` with zero or periodic padding, ``H - k + 1`` when "valid")."""
    check_conv(x, kernel, padding)
    k, _, c_in, c_out = kernel.shape
    z = patches(pad(x.astype(kernel.dtype), k, padding), k) @ kernel.reshape(k * k * c_in, c_out)
    return z if bias is None else z + bias


@shaped
def max_pool(x: Real[AnyArray, "n H W C"]) -> jax.Array:
    r"""2 x 2 max-pooling as a reshape: ``(n, H, W, C)`` -> ``(n, H/2, W/2, C)``,
    :math:`y_{ijc} = \max_{a,b\in\{0,1\}} x_{2i+a,\,2j+b,\,c}`.  Its gradient routes
    :math:`\partial L/\partial y_{ijc}` to the entries equal to the maximum,
    :math:`\partial L/\partial x = \mathbb{1}[x = \mathrm{up}(y)]\,\mathrm{up}(\partial L/\partial y)`:
    one elementwise pass (ties, of measure zero for real inputs, all receive it)."""
    n, H, W, C = x.shape
    if H % 2 or W % 2:
        raise ValueError(f"max_pool: image of {H} x {W}; expected even height and width")
    return _max_pool(x)


@jax.custom_vjp
def _max_pool(x: jax.Array) -> jax.Array:
    n, H, W, C = x.shape
    return x.reshape(n, H // 2, 2, W // 2, 2, C).max(axis=(2, 4))


def _upsample(y: jax.Array) -> jax.Array:
    n, h, w, C = y.shape
    return jnp.broadcast_to(y[:, :, None, :, None, :], (n, h, 2, w, 2, C)).reshape(n, 2 * h, 2 * w, C)


def _max_pool_forward(x):
    y = _max_pool(x)
    return y, (x, y)


def _max_pool_backward(residuals, g):
    x, y = residuals
    return (jnp.where(x == _upsample(y), _upsample(g), 0.0).astype(x.dtype),)


_max_pool.defvjp(_max_pool_forward, _max_pool_backward)


@shaped
def global_average_pool(x: Real[AnyArray, "n H W C"]) -> jax.Array:
    r""":math:`\bar z_c = \frac{1}{HW}\sum_{ij} z_{ijc}`: ``(n, H, W, C)`` -> ``(n, C)``.  The same for any
    ``H, W``: a network that ends in it accepts images of any size."""
    return x.mean(axis=(1, 2))


class Conv(nnx.Module):
    """A convolutional layer ``z = conv2d(x, kernel, bias, padding)``; ``kernel (k, k, C, O)`` starts
    He-normal (variance ``2 / (k k C)``, for ReLU), ``bias`` at zero."""

    def __init__(self, in_channels: int, out_channels: int, size: int = 3, padding: str = "zero", *,
                 rngs: nnx.Rngs):
        validate.positive_int(in_channels=in_channels, out_channels=out_channels, size=size)
        validate.choice("padding", padding, PADDINGS)
        fan_in = size * size * in_channels
        shape = (size, size, in_channels, out_channels)
        self.kernel = nnx.Param(jax.random.normal(rngs.params(), shape) * np.sqrt(2.0 / fan_in))
        self.bias = nnx.Param(jnp.zeros(out_channels))
        self.padding = padding

    def __call__(self, x: jax.Array) -> jax.Array:
        return conv2d(x, self.kernel[...], self.bias[...], self.padding)


class CNN(nnx.Module):
    """The classic small image classifier: ``[conv k x k -> ReLU -> 2 x 2 max-pool] per entry of
    channels``, then dense layers with ReLU between them.  ``(n, H, W)`` or ``(n, H, W, C)`` images ->
    ``(n, classes)`` logits.  ``CNN((1, 32, 64), (7 * 7 * 64, 128, 10))`` is the MNIST network."""

    def __init__(self, channels: Sequence[int], dense: Sequence[int], size: int = 3, *, rngs: nnx.Rngs):
        channels = validate.layer_sizes("channels", channels, what="channels per block")
        dense = validate.layer_sizes("dense", dense)
        pairs = zip(channels[:-1], channels[1:], strict=True)
        self.convs = nnx.List([Conv(a, b, size, rngs=rngs) for a, b in pairs])
        pairs = zip(dense[:-1], dense[1:], strict=True)
        self.dense = nnx.List([nnx.Linear(a, b, rngs=rngs) for a, b in pairs])

    def feature_maps(self, x: jax.Array) -> list[jax.Array]:
        """The activations after each conv-ReLU-pool block, ``(n, H/2^l, W/2^l, channels[l])``."""
        h = x[..., None] if x.ndim == 3 else x
        maps = []
        for conv in self.convs:
            h = max_pool(jax.nn.relu(conv(h)))
            maps.append(h)
        return maps

    def __call__(self, x: jax.Array) -> jax.Array:
        h = self.feature_maps(x)[-1]
        h = h.reshape(h.shape[0], -1)
        if h.shape[-1] != self.dense[0].in_features:
            expected = self.dense[0].in_features
            raise ValueError(f"the conv blocks give {h.shape[-1]} features; dense[0] expects {expected}")
        for layer in self.dense[:-1]:
            h = jax.nn.relu(layer(h))
        return self.dense[-1](h)


class LatticeCNN(nnx.Module):
    r"""A classifier for ``L x L`` lattice configurations of any ``L``: periodic convolutions (ReLU
    between them, the last one linear), global average pooling, then a small dense head,
    :math:`\mathrm{logits} = V_2\,\mathrm{ReLU}(V_1 \bar z + c_1) + c_2`.  Averaging *before* the
    head's nonlinearity lets it read lattice-wide quantities (a magnetisation, :math:`|m|` through
    two ReLUs); the parameters do not depend on ``L``.  Spins ``(n, L, L)`` -> ``(n, classes)``;
    translation invariant on the torus by construction."""

    def __init__(self, channels: Sequence[int], hidden: int = 8, classes: int = 2, size: int = 3, *,
                 rngs: nnx.Rngs):
        channels = validate.layer_sizes("channels", channels, what="channels per convolution")
        validate.positive_int(hidden=hidden, classes=classes)
        pairs = zip(channels[:-1], channels[1:], strict=True)
        self.convs = nnx.List([Conv(a, b, size, "periodic", rngs=rngs) for a, b in pairs])
        self.head = nnx.List([nnx.Linear(channels[-1], hidden, rngs=rngs),
                              nnx.Linear(hidden, classes, rngs=rngs)])

    def __call__(self, spins: jax.Array) -> jax.Array:
        h = spins[..., None] if spins.ndim == 3 else spins
        for conv in self.convs[:-1]:
            h = jax.nn.relu(conv(h))
        pooled = global_average_pool(self.convs[-1](h))
        return self.head[1](jax.nn.relu(self.head[0](pooled)))
