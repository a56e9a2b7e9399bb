r"""The 2-D Ising model on an L x L square lattice with periodic boundaries: its physics and exact results.

Conventions (used by every notebook)
    Spins :math:`s_i \in \{-1, +1\}`, stored as int8 arrays ``(..., L, L)``; coupling J = 1,
    no field, Boltzmann's constant k_B = 1, inverse temperature :math:`\beta = 1/T`.

    .. math::  E(\mathbf{s}) = -J \sum_{\langle ij \rangle} s_i s_j, \qquad
               p(\mathbf{s}) = \frac{e^{-E(\mathbf{s})/T}}{Z(T)},

    the sum running over the 2N nearest-neighbour bonds (each counted once, N = L^2).  A *lower*
    energy is a *more* probable configuration.  The magnetisation per spin is
    :math:`m = \frac{1}{N}\sum_i s_i`.

Exact results: enumeration of every state of a small lattice, and Onsager's solution of the infinite
one.  The Monte Carlo samplers are in :mod:`helpers.physics.ising_mc`; the configuration data sets
built from them, with their cache, in :mod:`helpers.physics.ising_data`.
"""

from __future__ import annotations

import math

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int8, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, lattice_size, shaped, temperatures_array

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
"""Onsager's critical temperature of the infinite square lattice, 2 / ln(1 + sqrt 2) = 2.2692."""

# --------------------------------------------------------------------------------------------
# Observables
# --------------------------------------------------------------------------------------------
@shaped
def energy(spins: Real[AnyArray, "*batch L L"]) -> Float[Array, "*batch"]:
    r"""Total energy :math:`E = -\sum_i s_i (s_{i+\hat x} + s_{i+\hat y})`; ``(..., L, L) -> (...)``.

    Each of the 2N periodic bonds is counted once (for L = 2 a pair of sites shares two bonds).
    """
    return _energy(validate.spins("spins", spins))


@shaped
def magnetization(spins: Real[AnyArray, "*batch L L"]) -> Float[Array, "*batch"]:
    r"""Magnetisation per spin :math:`m = \frac{1}{N} \sum_i s_i`; ``(..., L, L) -> (...)``."""
    return _magnetization(validate.spins("spins", spins))


def _energy(spins) -> jax.Array:
    """:func:`energy` of spins known to be +-1 (a sampler's own chains: no check in its hot loop)."""
    s = spins.astype(jnp.float32)
    return -jnp.sum(s * (jnp.roll(s, -1, axis=-1) + jnp.roll(s, -1, axis=-2)), axis=(-2, -1))


def _magnetization(spins) -> jax.Array:
    """:func:`magnetization` of spins known to be +-1."""
    return jnp.mean(spins.astype(jnp.float32), axis=(-2, -1))


@shaped
def to_binary(spins: Real[AnyArray, "*shape"]) -> Float[Array, "*shape"]:
    r"""Spins :math:`s \in \{-1, +1\}` as binary units :math:`x = (s + 1)/2 \in \{0, 1\}`, float32."""
    s = validate.spins("spins", spins)
    return (jnp.asarray(s, jnp.float32) + 1.0) / 2.0


@shaped
def to_spins(x: Real[AnyArray, "*shape"], threshold=0.5) -> Int8[Array, "*shape"]:
    r"""Spins from real values: :math:`s = +1` where :math:`x \ge` ``threshold``, else :math:`-1`; int8, same
    shape.  The default 1/2 inverts :func:`to_binary`; use 0 for values centred on zero (a diffusion
    model's continuous samples)."""
    validate.number(threshold=threshold)
    return jnp.where(jnp.asarray(x) >= threshold, 1, -1).astype(jnp.int8)


# --------------------------------------------------------------------------------------------
# Exact results
# --------------------------------------------------------------------------------------------
@shaped
def enumerate_states(L) -> Int8[np.ndarray, "states L L"]:
    """All :math:`2^{L^2}` configurations of an L x L lattice, ``(2**(L*L), L, L)`` int8 (L <= 4)."""
    lattice_size(L, even=False)
    if L > 4:
        raise ValueError(f"L={L}: exact enumeration is limited to L <= 4 (2^16 states)")
    n = L * L
    bits = (np.arange(2**n, dtype=np.uint32)[:, None] >> np.arange(n, dtype=np.uint32)) & 1
    return (2 * bits.astype(np.int8) - 1).reshape(-1, L, L)


@shaped
def exact_observables(L, temperatures) -> dict[str, np.ndarray]:
    r"""Exact thermal averages by enumerating all states (L <= 4), in float64.

    Returns a dict of arrays ``(n_T,)``: ``log_z`` (:math:`\ln Z`), ``energy_per_spin``
    (:math:`\langle E \rangle / N`), ``abs_magnetization`` (:math:`\langle |m| \rangle`),
    ``energy_sq_per_spin2`` (:math:`\langle E^2 \rangle / N^2`) and ``m_sq``
    (:math:`\langle m^2 \rangle`).
    """
    temps = temperatures_array(temperatures)
    states = enumerate_states(L)
    e = np.asarray(energy(states), dtype=np.float64)
    m = np.abs(np.asarray(magnetization(states), dtype=np.float64))
    n = L * L
    log_w = -e[None, :] / temps[:, None].astype(np.float64)
    log_z = np.logaddexp.reduce(log_w, axis=1)
    p = np.exp(log_w - log_z[:, None])
    return {
        "log_z": log_z,
        "energy_per_spin": p @ e / n,
        "abs_magnetization": p @ m,
        "energy_sq_per_spin2": p @ (e / n) ** 2,
        "m_sq": p @ m**2,
    }


def _elliptic_k(k):
    """Complete elliptic integral of the first kind K(k) (modulus k) by the arithmetic-geometric mean."""
    a, b = np.ones_like(k), np.sqrt(1.0 - k**2)
    for _ in range(30):  # converges quadratically; 30 rounds is far past float64 precision
        a, b = 0.5 * (a + b), np.sqrt(a * b)
    return np.pi / (2.0 * a)


@shaped
def onsager_energy_per_spin(temperatures) -> Float[np.ndarray, " n_T"]:
    r"""Energy per spin of the infinite lattice (Onsager 1944), float64 ``(n_T,)``.

    .. math:: u = -\coth 2\beta \left[1 + \frac{2}{\pi}(2\tanh^2 2\beta - 1) K(k)\right],
              \quad k = \frac{2 \sinh 2\beta}{\cosh^2 2\beta}.
    """
    beta = 1.0 / temperatures_array(temperatures).astype(np.float64)
    # k = 1 exactly at T_c, where K diverges logarithmically but its prefactor vanishes; keeping
    # k just below 1 gives the finite limit u(T_c) = -sqrt(2) instead of 0 * inf.
    k = np.minimum(2.0 * np.sinh(2 * beta) / np.cosh(2 * beta) ** 2, 1.0 - 1e-15)
    return -1.0 / np.tanh(2 * beta) * (
        1.0 + 2.0 / np.pi * (2.0 * np.tanh(2 * beta) ** 2 - 1.0) * _elliptic_k(k)
    )


@shaped
def onsager_magnetization(temperatures) -> Float[np.ndarray, " n_T"]:
    r"""Spontaneous magnetisation per spin (Onsager, Yang 1952), float64 ``(n_T,)``.

    .. math:: m = \left(1 - \sinh^{-4} 2\beta\right)^{1/8} \text{ for } T < T_c, \text{ else } 0.
    """
    temps = temperatures_array(temperatures).astype(np.float64)
    base = 1.0 - np.sinh(2.0 / temps) ** -4.0
    return np.where(temps < T_C, np.clip(base, 0.0, None) ** 0.125, 0.0)

