r"""The 2-D Ising model on an L x L square lattice with periodic boundaries: the physics data set.

Conventions (used by every notebook)
    Spins :math:`s_i \in \{-1, +1\}`, stored as int8 arrays ``(..., L, L)``; coupling J = 1,
    no field, Boltzmann's constant k_B = 1, inverse temperature :math:`\beta = 1/T`.

    .. math::  E(\mathbf{s}) = -J \sum_{\langle ij \rangle} s_i s_j, \qquad
               p(\mathbf{s}) = \frac{e^{-E(\mathbf{s})/T}}{Z(T)},

    the sum running over the 2N nearest-neighbour bonds (each counted once, N = L^2).  A *lower*
    energy is a *more* probable configuration.  The magnetisation per spin is
    :math:`m = \frac{1}{N}\sum_i s_i`.

Samplers
    * Checkerboard Metropolis: the lattice splits into two sub-lattices whose sites do not
      interact, so each half is updated in one vectorised step; a sweep is both halves.
    * Wolff cluster update: grows a cluster of aligned spins, adding each bond with probability
      :math:`p_{add} = 1 - e^{-2\beta J}`, and flips it; it beats critical slowing down near T_c.
    Both act on a batch of chains ``(C, L, L)`` at once, each chain at its own temperature, and
    run their loops under ``jax.lax.scan`` / ``while_loop``.

Random numbers in the Metropolis sweep come from a counter-based generator: a fresh pair of
32-bit keys per half-sweep is drawn with ``jax.random`` (explicit keys, reproducible), and site i's
uniform 32-bit number is :math:`H(H(i \oplus k_1) \oplus k_2)`, with H the "lowbias32"
integer finaliser (a bijection with full avalanche).  On a CPU this is several times faster than
``jax.random.bits`` for a million numbers per sweep (``benchmarks/ising_speed.py``), and the
sampler is checked against exact enumeration and Onsager's solution in ``tests/test_ising.py``.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import tempfile
from functools import partial
from pathlib import Path

import jax
import jax.numpy as jnp
import numpy as np

from helpers.data import cache_dir

T_C = 2.0 / math.log(1.0 + math.sqrt(2.0))
"""Onsager's critical temperature of the infinite square lattice, 2 / ln(1 + sqrt 2) = 2.2692."""

SAMPLER_VERSION = 1  # part of the cache key: bump when the sampler's output changes


# --------------------------------------------------------------------------------------------
# Observables
# --------------------------------------------------------------------------------------------
def energy(spins: jax.Array) -> jax.Array:
    r"""Total energy :math:`E = -\sum_i s_i (s_{i+\hat x} + s_{i+\hat y})`; ``(..., L, L) -> (...)``.

    Each of the 2N periodic bonds is counted once (for L = 2 a pair of sites shares two bonds).
    """
    s = spins.astype(jnp.float32)
    return -jnp.sum(s * (jnp.roll(s, -1, axis=-1) + jnp.roll(s, -1, axis=-2)), axis=(-2, -1))


def magnetization(spins: jax.Array) -> jax.Array:
    r"""Magnetisation per spin :math:`m = \frac{1}{N} \sum_i s_i`; ``(..., L, L) -> (...)``."""
    return jnp.mean(spins.astype(jnp.float32), axis=(-2, -1))


# --------------------------------------------------------------------------------------------
# Exact results
# --------------------------------------------------------------------------------------------
def enumerate_states(L: int) -> np.ndarray:
    """All :math:`2^{L^2}` configurations of an L x L lattice, ``(2**(L*L), L, L)`` int8 (L <= 4)."""
    _check_lattice(L, even=False)
    if L > 4:
        raise ValueError(f"L={L}: exact enumeration is limited to L <= 4 (2^16 states)")
    n = L * L
    bits = (np.arange(2**n, dtype=np.uint32)[:, None] >> np.arange(n, dtype=np.uint32)) & 1
    return (2 * bits.astype(np.int8) - 1).reshape(-1, L, L)


def exact_observables(L: int, temperatures) -> dict[str, np.ndarray]:
    r"""Exact thermal averages by enumerating all states (L <= 4), in float64.

    Returns a dict of arrays ``(n_T,)``: ``log_z`` (:math:`\ln Z`), ``energy_per_spin``
    (:math:`\langle E \rangle / N`), ``abs_magnetization`` (:math:`\langle |m| \rangle`),
    ``energy_sq_per_spin2`` (:math:`\langle E^2 \rangle / N^2`) and ``m_sq``
    (:math:`\langle m^2 \rangle`).
    """
    temps = _check_temperatures(temperatures)
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


def onsager_energy_per_spin(temperatures) -> np.ndarray:
    r"""Energy per spin of the infinite lattice (Onsager 1944), float64 ``(n_T,)``.

    .. math:: u = -\coth 2\beta \left[1 + \frac{2}{\pi}(2\tanh^2 2\beta - 1) K(k)\right],
              \quad k = \frac{2 \sinh 2\beta}{\cosh^2 2\beta}.
    """
    beta = 1.0 / _check_temperatures(temperatures).astype(np.float64)
    # k = 1 exactly at T_c, where K diverges logarithmically but its prefactor vanishes; keeping
    # k just below 1 gives the finite limit u(T_c) = -sqrt(2) instead of 0 * inf.
    k = np.minimum(2.0 * np.sinh(2 * beta) / np.cosh(2 * beta) ** 2, 1.0 - 1e-15)
    return -1.0 / np.tanh(2 * beta) * (
        1.0 + 2.0 / np.pi * (2.0 * np.tanh(2 * beta) ** 2 - 1.0) * _elliptic_k(k)
    )


def onsager_magnetization(temperatures) -> np.ndarray:
    r"""Spontaneous magnetisation per spin (Onsager, Yang 1952), float64 ``(n_T,)``.

    .. math:: m = \left(1 - \sinh^{-4} 2\beta\right)^{1/8} \text{ for } T < T_c, \text{ else } 0.
    """
    temps = _check_temperatures(temperatures).astype(np.float64)
    base = 1.0 - np.sinh(2.0 / temps) ** -4.0
    return np.where(temps < T_C, np.clip(base, 0.0, None) ** 0.125, 0.0)


# --------------------------------------------------------------------------------------------
# Random bits: counter-based, one uint32 per site
# --------------------------------------------------------------------------------------------
def _lowbias32(x: jax.Array) -> jax.Array:
    # Integer finaliser with near-ideal avalanche (C. Wellons, "hash-prospector").
    x = x ^ (x >> 16)
    x = x * jnp.uint32(0x7FEB352D)
    x = x ^ (x >> 15)
    x = x * jnp.uint32(0x846CA68B)
    return x ^ (x >> 16)


def _site_bits(seeds: jax.Array, shape: tuple[int, ...]) -> jax.Array:
    """Uniform uint32 per site: ``H(H(i ^ k1) ^ k2)`` for the flat site index i; seeds ``(2,)``."""
    counter = jax.lax.iota(jnp.uint32, math.prod(shape)).reshape(shape)
    return _lowbias32(_lowbias32(counter ^ seeds[0]) ^ seeds[1])


def _probability_to_threshold(p: jax.Array) -> jax.Array:
    """Map a probability p in [0, 1) to the uint32 t with P(u < t) = p for uniform uint32 u."""
    # 4294967040 is the largest float32 below 2^32, so the cast never overflows.
    return jnp.minimum(p * 4294967296.0, 4294967040.0).astype(jnp.uint32)


# --------------------------------------------------------------------------------------------
# Checkerboard Metropolis
# --------------------------------------------------------------------------------------------
def _neighbour_sum(spins: jax.Array) -> jax.Array:
    return (
        jnp.roll(spins, 1, axis=-1) + jnp.roll(spins, -1, axis=-1)
        + jnp.roll(spins, 1, axis=-2) + jnp.roll(spins, -1, axis=-2)
    )


def _metropolis_half_sweep(
    spins: jax.Array, thresholds: jax.Array, seeds: jax.Array, colour: jax.Array
) -> jax.Array:
    r"""Update one sub-lattice: flip each of its sites with probability :math:`\min(1, e^{-\beta\Delta E})`.

    spins ``(C, L, L)`` int8; thresholds ``(C, 2)`` uint32 for :math:`\Delta E = 4, 8`;
    seeds ``(2,)`` uint32; colour 0 or 1 (sites with (i + j) mod 2 == colour are updated).
    Flipping :math:`s_i` costs :math:`\Delta E = 2 s_i h_i` with :math:`h_i` the sum of the four
    neighbours, so :math:`s_i h_i \in \{-4, -2, 0, 2, 4\}` and only 4 and 8 need a random number.
    """
    L = spins.shape[-1]
    parity = (jnp.arange(L)[:, None] + jnp.arange(L)[None, :]) % 2
    sh = spins * _neighbour_sum(spins)
    threshold = jnp.where(sh == 2, thresholds[:, 0, None, None], thresholds[:, 1, None, None])
    accept = (sh <= 0) | (_site_bits(seeds, spins.shape) < threshold)
    return jnp.where(accept & (parity == colour), -spins, spins)


def _metropolis_sweeps(spins, thresholds, key, n_sweeps):
    # One scan step per half-sweep: XLA fuses two dependent half-sweeps written in one step
    # badly (the first is recomputed for each neighbour of the second, ~6x slower).
    seeds = jax.random.bits(key, (2 * n_sweeps, 2), jnp.uint32)
    colours = jnp.tile(jnp.arange(2), n_sweeps)

    def half(s, inputs):
        seed_pair, colour = inputs
        return _metropolis_half_sweep(s, thresholds, seed_pair, colour), None

    return jax.lax.scan(half, spins, (seeds, colours))[0]


def _metropolis_thresholds(temperatures: jax.Array) -> jax.Array:
    beta = 1.0 / temperatures.astype(jnp.float32)
    return _probability_to_threshold(jnp.exp(-jnp.stack([4.0 * beta, 8.0 * beta], axis=-1)))


@partial(jax.jit, static_argnames=("n_sweeps",))
def _metropolis_run(key, spins, temperatures, n_sweeps):
    return _metropolis_sweeps(spins, _metropolis_thresholds(temperatures), key, n_sweeps)


def metropolis_sweeps(
    key: jax.Array, spins: jax.Array, temperatures, n_sweeps: int
) -> jax.Array:
    """Run ``n_sweeps`` checkerboard Metropolis sweeps on every chain.

    spins ``(C, L, L)`` int8 with L even; temperatures ``(C,)`` (one per chain) or a scalar.
    Returns the new spins, same shape.  One sweep proposes one flip per site.
    """
    spins, temps = _check_chains(spins, temperatures)
    _check_count("n_sweeps", n_sweeps)
    return _metropolis_run(key, spins, temps, n_sweeps)


# --------------------------------------------------------------------------------------------
# Wolff cluster update
# --------------------------------------------------------------------------------------------
def _wolff_single(spins: jax.Array, p_threshold: jax.Array, seed_site: jax.Array, seeds: jax.Array):
    """Grow and flip one Wolff cluster on one lattice ``(L, L)``; returns (spins, cluster size).

    Wolff tests each bond between the cluster and an aligned neighbour once, with probability
    p_add.  Drawing every bond's outcome up front (bond active if aligned and u < p_add) and
    taking the connected component of the seed site therefore gives the same cluster
    distribution, and the growth loop needs no random numbers: each round adds the neighbours
    reached through active bonds, until nothing changes.
    """
    L = spins.shape[-1]
    bits = _site_bits(seeds, (2, L, L))
    # bond_x[i, j] joins (i, j)-(i, j+1); bond_y[i, j] joins (i, j)-(i+1, j)
    bond_x = (spins == jnp.roll(spins, -1, axis=1)) & (bits[0] < p_threshold)
    bond_y = (spins == jnp.roll(spins, -1, axis=0)) & (bits[1] < p_threshold)
    cluster = jnp.zeros(L * L, bool).at[seed_site].set(True).reshape(L, L)

    def grow(c):
        return (
            c
            | jnp.roll(c & bond_x, 1, axis=1) | (jnp.roll(c, -1, axis=1) & bond_x)
            | jnp.roll(c & bond_y, 1, axis=0) | (jnp.roll(c, -1, axis=0) & bond_y)
        )

    def rounds(state):
        # One round per iteration: XLA would fuse chained rounds and recompute each one for
        # every neighbour access of the next.
        c, _ = state
        new = grow(c)
        return new, jnp.any(new != c)

    cluster, _ = jax.lax.while_loop(lambda state: state[1], rounds, (cluster, jnp.array(True)))
    return jnp.where(cluster, -spins, spins), jnp.sum(cluster)


def _wolff_batch(key, spins, p_thresholds):
    C, L, _ = spins.shape
    k_site, k_bits = jax.random.split(key)
    sites = jax.random.randint(k_site, (C,), 0, L * L)
    seeds = jax.random.bits(k_bits, (C, 2), jnp.uint32)
    return jax.vmap(_wolff_single)(spins, p_thresholds, sites, seeds)


def _wolff_thresholds(temperatures: jax.Array) -> jax.Array:
    return _probability_to_threshold(-jnp.expm1(-2.0 / temperatures.astype(jnp.float32)))


@jax.jit
def _wolff_jit(key, spins, temperatures):
    return _wolff_batch(key, spins, _wolff_thresholds(temperatures))


def wolff_update(key: jax.Array, spins: jax.Array, temperatures) -> tuple[jax.Array, jax.Array]:
    r"""Flip one Wolff cluster in every chain, :math:`p_{add} = 1 - e^{-2/T}`.

    spins ``(C, L, L)`` int8; temperatures ``(C,)`` or scalar.  Returns the new spins and the
    cluster sizes ``(C,)``.
    """
    spins, temps = _check_chains(spins, temperatures)
    return _wolff_jit(key, spins, temps)


# --------------------------------------------------------------------------------------------
# Chains with measurements
# --------------------------------------------------------------------------------------------
@partial(jax.jit, static_argnames=("n_steps", "wolff"))
def _run_chains(key, spins, temperatures, n_steps, wolff):
    thresholds = _metropolis_thresholds(temperatures)
    p_thresholds = _wolff_thresholds(temperatures)
    n = spins.shape[-1] * spins.shape[-2]

    def step(s, k):
        k_sweep, k_wolff, k_flip = jax.random.split(k, 3)
        s = _metropolis_sweeps(s, thresholds, k_sweep, 1)
        if wolff:
            s, _ = _wolff_batch(k_wolff, s, p_thresholds)
        # Global spin flip: E(-s) = E(s), so it is always accepted; it lets ordered chains visit
        # both signs of m, which single flips almost never do below T_c.
        flip = jax.random.rademacher(k_flip, (s.shape[0], 1, 1), dtype=jnp.int8)
        s = s * flip
        return s, (energy(s) / n, jnp.abs(magnetization(s)))

    return jax.lax.scan(step, spins, jax.random.split(key, n_steps))


def run_chains(
    key: jax.Array, spins: jax.Array, temperatures, n_steps: int, wolff: bool = True
) -> tuple[jax.Array, jax.Array, jax.Array]:
    """Advance every chain ``n_steps`` Monte Carlo steps and record observables after each.

    One step is a checkerboard Metropolis sweep, then (if ``wolff``) one Wolff cluster flip,
    then a global flip s -> -s with probability 1/2 (exact, since E(-s) = E(s)).
    Returns (spins ``(C, L, L)``, energy per spin ``(n_steps, C)``, |m| ``(n_steps, C)``).
    """
    spins, temps = _check_chains(spins, temperatures)
    _check_count("n_steps", n_steps)
    spins, (e, m) = _run_chains(key, spins, temps, n_steps, bool(wolff))
    return spins, e, m


def random_spins(key: jax.Array, n_chains: int, L: int) -> jax.Array:
    """Independent uniformly random (infinite-temperature) configurations ``(n_chains, L, L)`` int8."""
    _check_lattice(L, even=False)
    _check_count("n_chains", n_chains)
    return jax.random.rademacher(key, (n_chains, L, L), dtype=jnp.int8)


def integrated_autocorrelation_time(series, window_factor: float = 5.0) -> float:
    r"""Integrated autocorrelation time :math:`\tau = 1 + 2\sum_{t \ge 1} \rho(t)` of ``(n_steps, n_chains)``.

    :math:`\rho` is the normalised autocorrelation averaged over chains (computed by FFT), summed
    up to the smallest window M with :math:`M \ge c\,\tau(M)` (Sokal's automatic windowing,
    c = ``window_factor``).  n_steps / tau is the effective number of independent samples per
    chain, so keeping every ceil(tau)-th configuration gives nearly independent samples.
    """
    x = np.asarray(series, dtype=np.float64)
    if x.ndim != 2 or x.shape[0] < 4:
        raise ValueError(f"series has shape {x.shape}; expected (n_steps >= 4, n_chains)")
    n = x.shape[0]
    x = x - x.mean(axis=0)
    spectrum = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), axis=0)[:n].mean(axis=1)
    if acf[0] <= 0.0:  # a frozen chain (e.g. T -> 0): no fluctuations, no correlation to wait for
        return 1.0
    rho = acf / acf[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(n)
    ok = window >= window_factor * taus
    m = int(np.argmax(ok)) if ok.any() else n - 1
    return float(max(taus[m], 1.0))


# --------------------------------------------------------------------------------------------
# Symmetries and analysis
# --------------------------------------------------------------------------------------------
def symmetry_augment(key: jax.Array, spins: jax.Array) -> jax.Array:
    r"""Apply a random lattice translation (one per call) and a random global flip (one per configuration).

    spins ``(n, L, L)`` -> same shape and dtype.  Both maps leave :math:`E(\mathbf{s})` and
    :math:`|m|` unchanged, so they preserve the Boltzmann weight and any phase label: a free way
    to show a network that the physics is translation- and :math:`\mathbb{Z}_2`-invariant.
    """
    if spins.ndim != 3:
        raise ValueError(f"spins has shape {spins.shape}; expected (n, L, L)")
    k_row, k_col, k_flip = jax.random.split(key, 3)
    spins = jnp.roll(spins, jax.random.randint(k_row, (), 0, spins.shape[1]), axis=1)
    spins = jnp.roll(spins, jax.random.randint(k_col, (), 0, spins.shape[2]), axis=2)
    return spins * jax.random.rademacher(k_flip, (spins.shape[0], 1, 1), dtype=spins.dtype)


def crossing_temperature(temperatures, values, level: float = 0.5) -> float:
    """Temperature where ``values`` (decreasing through ``level``) first crosses it, by linear interpolation.

    temperatures ``(n_T,)`` increasing; values ``(n_T,)``, e.g. a classifier's mean P(ordered).
    """
    t = np.asarray(temperatures, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if t.shape != v.shape or t.ndim != 1 or np.any(np.diff(t) <= 0):
        raise ValueError(f"temperatures {t.shape} and values {v.shape}: expected equal 1-D, increasing T")
    above = v >= level
    i = np.flatnonzero(above[:-1] & ~above[1:])
    if i.size == 0:
        raise ValueError(f"values never cross level={level} from above")
    i = i[0]
    return float(t[i] + (v[i] - level) / (v[i] - v[i + 1]) * (t[i + 1] - t[i]))


# --------------------------------------------------------------------------------------------
# Data set
# --------------------------------------------------------------------------------------------
WOLFF_WINDOW = (1.8, 2.9)
"""Temperatures in this range get Wolff updates in ``sample_configurations``; outside it
Metropolis from an ordered start decorrelates quickly and Wolff would only add cost."""


def sample_configurations(
    key: jax.Array,
    L: int,
    temperatures,
    n_per_T: int,
    chains_per_T: int | None = None,
    pilot_steps: int = 200,
    cache: bool = True,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Equilibrium configurations at each temperature, with thinning from measured correlations.

    The temperatures split into two groups, each run as one batch of chains: those inside
    ``WOLFF_WINDOW`` (near T_c) use one Metropolis sweep + one Wolff flip + a global flip per
    step, the others one Metropolis sweep + a global flip (``run_chains``).  Per group:

    1. ``chains_per_T`` chains per temperature (default ``min(n_per_T, 64)``) start ordered
       (all +1; the global flips symmetrise them) and run ``pilot_steps`` steps.
    2. The integrated autocorrelation time tau of E and |m| is measured per temperature on the
       second half of the pilot; tau_max is the group's largest.
    3. Equilibration is the pilot, lengthened if needed to at least 20 tau_max steps.
    4. Production keeps one configuration every ``thin = ceil(tau_max)`` steps per chain until
       ``n_per_T`` configurations per temperature are collected.

    Returns ``spins (n_T * n_per_T, L, L)`` int8, ``temps (n_T * n_per_T,)`` float32 (grouped by
    temperature, in the order given) and ``info`` (per temperature: tau, thinning, equilibration
    steps, whether Wolff was used).  Results are cached in ``cache_dir()`` under a name made
    from every argument and the key, so a second call with the same arguments loads them.
    """
    _check_lattice(L, even=True)
    temps = _check_temperatures(temperatures)
    _check_count("n_per_T", n_per_T)
    _check_count("pilot_steps", pilot_steps)
    chains_per_T = min(n_per_T, 64) if chains_per_T is None else chains_per_T
    _check_count("chains_per_T", chains_per_T)

    params = {
        "version": SAMPLER_VERSION, "L": L, "temperatures": temps.tolist(),
        "n_per_T": n_per_T, "chains_per_T": chains_per_T, "pilot_steps": pilot_steps,
        "key": np.asarray(jax.random.key_data(key)).tolist(),
    }
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "ising" / f"ising_L{L}_{digest}.npz"
    if cache and path.exists():
        with np.load(path) as stored:
            return stored["spins"], stored["temps"], json.loads(str(stored["info"]))

    out_spins = np.empty((len(temps), n_per_T, L, L), np.int8)
    info = {"temperature": temps.tolist(), "tau": [0.0] * len(temps), "thinning_steps": [0] * len(temps),
            "equilibration_steps": [0] * len(temps), "wolff": [False] * len(temps),
            "chains_per_T": chains_per_T}
    near = (temps >= WOLFF_WINDOW[0]) & (temps <= WOLFF_WINDOW[1])
    for wolff, k_group in zip((False, True), jax.random.split(key), strict=True):
        idx = np.flatnonzero(near == wolff)
        if idx.size == 0:
            continue
        spins, taus, thin, equil = _sample_group(
            k_group, L, temps[idx], n_per_T, chains_per_T, pilot_steps, wolff
        )
        out_spins[idx] = spins
        for j, i in enumerate(idx):
            info["tau"][i], info["thinning_steps"][i] = taus[j], thin
            info["equilibration_steps"][i], info["wolff"][i] = equil, wolff
    out_spins = out_spins.reshape(-1, L, L)
    out_temps = np.repeat(temps, n_per_T).astype(np.float32)
    if cache:
        _atomic_save(path, spins=out_spins, temps=out_temps, info=json.dumps(info))
    return out_spins, out_temps, info


def _sample_group(key, L, temps, n_per_T, chains_per_T, pilot_steps, wolff):
    n_t = len(temps)
    chain_temps = jnp.asarray(np.repeat(temps, chains_per_T))
    k_pilot, k_extra, k_prod = jax.random.split(key, 3)
    spins = jnp.ones((n_t * chains_per_T, L, L), jnp.int8)
    spins, e, m = run_chains(k_pilot, spins, chain_temps, pilot_steps, wolff)
    half = pilot_steps // 2
    e, m = np.asarray(e[half:]), np.asarray(m[half:])
    taus = [
        max(integrated_autocorrelation_time(obs[:, i * chains_per_T : (i + 1) * chains_per_T])
            for obs in (e, m))
        for i in range(n_t)
    ]
    tau_max = max(taus)
    extra = max(0, math.ceil(20 * tau_max) - pilot_steps)
    if extra:
        spins, _, _ = run_chains(k_extra, spins, chain_temps, extra, wolff)
    thin = max(1, math.ceil(tau_max))
    per_chain = math.ceil(n_per_T / chains_per_T)
    samples = np.asarray(_production(k_prod, spins, chain_temps, per_chain, thin, wolff))
    # (per_chain, n_t * chains_per_T, L, L) -> (n_t, per_chain * chains_per_T, L, L)
    samples = samples.reshape(per_chain, n_t, chains_per_T, L, L).transpose(1, 0, 2, 3, 4)
    samples = samples.reshape(n_t, per_chain * chains_per_T, L, L)[:, :n_per_T]
    return samples, taus, thin, pilot_steps + extra


@partial(jax.jit, static_argnames=("n_samples", "thin", "wolff"))
def _production(key, spins, temperatures, n_samples, thin, wolff):
    def keep_one(s, k):
        s, _ = _run_chains(k, s, temperatures, thin, wolff)
        return s, s

    return jax.lax.scan(keep_one, spins, jax.random.split(key, n_samples))[1]


def _atomic_save(path: Path, **arrays) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.stem}.", suffix=".npz", dir=path.parent)
    os.close(fd)
    try:
        np.savez_compressed(tmp_name, **arrays)
        os.replace(tmp_name, path)
    finally:
        Path(tmp_name).unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------
def _check_lattice(L, even: bool) -> None:
    if not isinstance(L, int | np.integer) or L < 2:
        raise ValueError(f"L={L!r}; expected an integer lattice size >= 2")
    if even and L % 2:
        raise ValueError(f"L={L}; the checkerboard update needs an even lattice size")


def _check_count(name: str, value) -> None:
    if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
        raise ValueError(f"{name}={value!r}; expected a positive integer")


def _check_temperatures(temperatures) -> np.ndarray:
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temps.ndim != 1 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
        raise ValueError(f"temperatures={temperatures!r}; expected positive finite values")
    return temps


def _check_chains(spins, temperatures) -> tuple[jax.Array, jax.Array]:
    spins = jnp.asarray(spins)
    if spins.ndim != 3 or spins.shape[1] != spins.shape[2]:
        raise ValueError(f"spins has shape {spins.shape}; expected (n_chains, L, L)")
    _check_lattice(int(spins.shape[-1]), even=True)
    temps = _check_temperatures(temperatures)
    if temps.size == 1:
        temps = np.full(spins.shape[0], temps[0])
    if temps.shape != (spins.shape[0],):
        raise ValueError(
            f"temperatures has shape {temps.shape}; expected ({spins.shape[0]},), one per chain"
        )
    return spins.astype(jnp.int8), jnp.asarray(temps, dtype=jnp.float32)
