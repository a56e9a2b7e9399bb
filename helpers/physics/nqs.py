r"""Neural-network quantum states: the RBM wavefunction of a spin chain (Carleo and Troyer, Science
**355**, 602, 2017) with the transverse-field Ising local energy, and a symmetric neural
wavefunction for bosons in a harmonic trap with the Calogero-Sutherland interaction.

Every wavefunction is ``log_psi(params, x) -> (batch,)``, the real :math:`\log\psi` of a batch
(both ground states are positive), ready for :mod:`helpers.physics.vmc`.  Units
:math:`\hbar = m = \omega = 1`.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


class SpinRBM(NamedTuple):
    r"""An RBM wavefunction's parameters: visible biases ``a (n,)``, hidden biases ``b (m,)``,
    weights ``W (n, m)`` (a pytree; real, since the transverse-field Ising ground state is positive)."""

    a: Float[AnyArray, " n"]
    b: Float[AnyArray, " m"]
    W: Float[AnyArray, "n m"]


def init_spin_rbm(key, n: int, alpha: int, scale=0.01) -> SpinRBM:
    r"""An RBM for ``n`` spins with :math:`m = \alpha n` hidden units (hidden-unit density
    ``alpha``), every parameter drawn from :math:`\mathcal{N}(0, \text{scale}^2)`."""
    validate.key("key", key)
    validate.positive_int(n=n, alpha=alpha)
    validate.positive_number(scale=scale)
    k_a, k_b, k_w = jax.random.split(key, 3)
    m = alpha * n
    return SpinRBM(scale * jax.random.normal(k_a, (n,)), scale * jax.random.normal(k_b, (m,)),
                   scale * jax.random.normal(k_w, (n, m)))


@shaped
def rbm_log_psi(params: SpinRBM, s: Real[AnyArray, "batch n"]) -> Float[Array, " batch"]:
    r"""The RBM amplitude with its hidden spins :math:`h_j = \pm 1` summed out:

    .. math:: \psi(\mathbf{s}) = \sum_{\mathbf{h}} e^{\mathbf{a}^T\mathbf{s} + \mathbf{b}^T\mathbf{h}
              + \mathbf{s}^T W\mathbf{h}}
              = e^{\mathbf{a}^T\mathbf{s}}\prod_{j=1}^{m} 2\cosh\Big(b_j + \sum_i s_i W_{ij}\Big),

    the classical RBM's unnormalised marginal (notebook 04) read as an amplitude, not a probability.
    ``s (batch, n)`` of :math:`\pm 1` -> :math:`\log\psi` ``(batch,)``; ``logcosh`` written stably.
    """
    if params.W.shape != (s.shape[1], params.b.shape[0]) or params.a.shape != (s.shape[1],):
        raise ValueError(f"params has a {params.a.shape}, b {params.b.shape}, W {params.W.shape}; "
                         f"expected a (n,), b (m,), W (n, m) with n = {s.shape[1]} spins of s")
    s = validate.spins("s", s).astype(params.W.dtype)
    theta = params.b + s @ params.W
    log_cosh = jnp.abs(theta) + jnp.log1p(jnp.exp(-2.0 * jnp.abs(theta)))  # log(2 cosh theta)
    return s @ params.a + jnp.sum(log_cosh, axis=-1)


@shaped
def tfim_local_energy(log_psi, params, s: Real[AnyArray, "batch n"], h, J=1.0) -> Float[Array, " batch"]:
    r"""Local energy of the periodic transverse-field Ising chain
    :math:`H = -J\sum_i \sigma^z_i\sigma^z_{i+1} - h\sum_i \sigma^x_i` in the :math:`\sigma^z` basis:

    .. math:: E_L(\mathbf{s}) = -J\sum_i s_i s_{i+1}
              - h\sum_i \frac{\psi(s_1, \dots, -s_i, \dots, s_n)}{\psi(\mathbf{s})},

    since :math:`\sigma^x_i` flips spin :math:`i`.  ``s (batch, n)`` -> ``(batch,)``.
    """
    validate.callable_("log_psi", log_psi)
    validate.number(h=h, J=J)
    s = validate.spins("s", s)
    batch, n = s.shape
    flipped = s[:, None, :] * (1 - 2 * jnp.eye(n, dtype=s.dtype))  # (batch, n, n): site i flipped
    ratios = jnp.exp(log_psi(params, flipped.reshape(batch * n, n)).reshape(batch, n)
                     - log_psi(params, s)[:, None])
    zz = jnp.sum(s * jnp.roll(s, -1, axis=1), axis=1).astype(ratios.dtype)
    return -J * zz - h * jnp.sum(ratios, axis=1)


# --- bosons in a harmonic trap --------------------------------------------------------------


def _pairs(n: int):
    return [(i, j) for i in range(n) for j in range(i + 1, n)]


def calogero_energy(n: int, beta) -> float:
    r"""The exact ground-state energy of :math:`n` particles in the trap with the Calogero
    interaction, :math:`E_0 = \frac{n}{2} + \frac{\beta\,n(n-1)}{2}` (Calogero 1969; units
    :math:`\hbar\omega`)."""
    validate.positive_int(n=n)
    validate.positive_number(beta=beta)
    return n / 2 + beta * n * (n - 1) / 2


@shaped
def calogero_potential(x: Float[AnyArray, "batch n"], beta) -> Float[Array, " batch"]:
    r""":math:`V(x) = \sum_i \frac{x_i^2}{2} + \sum_{i<j}\frac{\beta(\beta - 1)}{(x_i - x_j)^2}`,
    one dimension, ``x (batch, n)`` -> ``(batch,)``."""
    validate.positive_number(beta=beta)
    x = validate.finite("x", x)
    pairs = _pairs(x.shape[1])
    trap = 0.5 * jnp.sum(x**2, axis=1)
    if not pairs:
        return trap
    i, j = (jnp.array(p) for p in zip(*pairs, strict=True))
    return trap + beta * (beta - 1) * jnp.sum(1.0 / (x[:, i] - x[:, j]) ** 2, axis=1)


def _jastrow(x, beta):
    pairs = _pairs(x.shape[1])
    if not pairs:
        return jnp.zeros(x.shape[0], x.dtype)
    i, j = (jnp.array(p) for p in zip(*pairs, strict=True))
    return beta * jnp.sum(jnp.log(jnp.abs(x[:, i] - x[:, j])), axis=1)


@shaped
def calogero_log_psi_exact(x: Float[AnyArray, "batch n"], beta) -> Float[Array, " batch"]:
    r"""The exact (unnormalised) ground state
    :math:`\psi_0 = \prod_{i<j}|x_i - x_j|^\beta\, e^{-\sum_i x_i^2/2}`; ``(batch, n)`` -> ``(batch,)``."""
    validate.positive_number(beta=beta)
    return _jastrow(x, beta) - 0.5 * jnp.sum(x**2, axis=1)


class BosonNet(NamedTuple):
    r"""A symmetric network for identical bosons: log trap width ``log_w ()``, the per-particle
    layer ``w1, b1 (width,)``, the read-out layer ``w2 (width, width), b2 (width,)`` and ``w3 (width,)``."""

    log_w: Float[AnyArray, ""]
    w1: Float[AnyArray, " width"]
    b1: Float[AnyArray, " width"]
    w2: Float[AnyArray, "width width"]
    b2: Float[AnyArray, " width"]
    w3: Float[AnyArray, " width"]


def init_boson_net(key, width: int = 16, log_w=-0.7) -> BosonNet:
    r"""A :class:`BosonNet` with Glorot-scaled normal weights and the Gaussian's
    :math:`\log w` = ``log_w`` (the default, :math:`w \approx 0.5`, is a Gaussian :math:`\sqrt2` times
    wider than the trap's ground state, :math:`w = 1`)."""
    validate.key("key", key)
    validate.positive_int(width=width)
    validate.number(log_w=log_w)
    k1, k2, k3 = jax.random.split(key, 3)
    return BosonNet(jnp.asarray(log_w, jnp.float32), jax.random.normal(k1, (width,)), jnp.zeros(width),
                    jax.random.normal(k2, (width, width)) / math.sqrt(width), jnp.zeros(width),
                    jax.random.normal(k3, (width,)) / math.sqrt(width))


@shaped
def boson_log_psi(params: BosonNet, x: Float[AnyArray, "batch n"], beta) -> Float[Array, " batch"]:
    r"""A neural wavefunction for :math:`n` bosons in one dimension, symmetric under every exchange:

    .. math:: \log\psi_\theta(x) = \beta\sum_{i<j}\log|x_i - x_j| - \frac{w}{2}\sum_i x_i^2
              + \mathbf{w}_3^T\tanh\Big(W_2\,\frac{1}{n}\sum_i\tanh(\mathbf{w}_1 x_i + \mathbf{b}_1)
              + \mathbf{b}_2\Big).

    The Jastrow factor carries the short-distance behaviour :math:`|x_i - x_j|^\beta` that cancels
    the :math:`1/(x_i - x_j)^2` divergence of the local energy; the Gaussian with a learned width
    :math:`w = e^{\log w}` keeps :math:`\psi` normalisable; the network (a sum over particles, then
    a layer: a *Deep Sets* function) learns the rest.  ``x (batch, n)`` -> ``(batch,)``.
    """
    validate.positive_number(beta=beta)
    x = validate.finite("x", x)
    pooled = jnp.mean(jnp.tanh(x[..., None] * params.w1 + params.b1), axis=1)  # (batch, width)
    net = jnp.tanh(pooled @ params.w2 + params.b2) @ params.w3
    return _jastrow(x, beta) - 0.5 * jnp.exp(params.log_w) * jnp.sum(x**2, axis=1) + net
