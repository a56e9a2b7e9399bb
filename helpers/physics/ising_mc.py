r"""Markov-chain Monte Carlo for the 2-D Ising model of :mod:`helpers.physics.ising`.

Samplers
    * Checkerboard Metropolis: the lattice splits into two sub-lattices whose sites do not
      interact, so each half is updated in one vectorised step; a sweep is both halves.
    * Wolff cluster update: grows a cluster of aligned spins, adding each bond with probability
      :math:`p_{add} = 1 - e^{-2\beta J}`, and flips it; it beats critical slowing down near T_c.
    Both act on a batch of chains ``(C, L, L)`` at once, each chain at its own temperature, and
    run their loops under ``jax.lax.scan`` / ``while_loop``.  With ``mesh=`` (see
    :mod:`helpers.core.parallel`) the chains are split over the devices; the same key gives the same
    chains, since every random number is a function of its global index.

Random numbers in the Metropolis sweep and the Wolff bonds come from the counter-based generator of
:mod:`helpers.core.rng` (explicit JAX keys, reproducible), checked against exact enumeration and
Onsager's solution (``tests/test_ising.py``).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Int, Int8, Real

from helpers.core import parallel, validate
from helpers.core.rng import hashed_bits, probability_to_threshold
from helpers.core.validate import AnyArray, lattice_size, positive_int, shaped, temperatures_array
from helpers.physics.ising import _energy, _magnetization


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
    accept = (sh <= 0) | (hashed_bits(seeds, spins.shape) < threshold)
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
    return probability_to_threshold(jnp.exp(-jnp.stack([4.0 * beta, 8.0 * beta], axis=-1)))


@partial(jax.jit, static_argnames=("n_sweeps",))
def _metropolis_run(key, spins, temperatures, n_sweeps):
    return _metropolis_sweeps(spins, _metropolis_thresholds(temperatures), key, n_sweeps)


@shaped
def metropolis_sweeps(
    key, spins: Real[AnyArray, "chains L L"], temperatures, n_sweeps, mesh=None
) -> Int8[Array, "chains L L"]:
    """Run ``n_sweeps`` checkerboard Metropolis sweeps on every chain.

    spins ``(C, L, L)`` int8 with L even; temperatures ``(C,)`` (one per chain) or a scalar.
    Returns the new spins, same shape.  One sweep proposes one flip per site.
    """
    spins, temps = _chains_and_temperatures(key, spins, temperatures, mesh)
    positive_int(n_sweeps=n_sweeps)
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
    bits = hashed_bits(seeds, (2, L, L))
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
    return probability_to_threshold(-jnp.expm1(-2.0 / temperatures.astype(jnp.float32)))


@jax.jit
def _wolff_jit(key, spins, temperatures):
    return _wolff_batch(key, spins, _wolff_thresholds(temperatures))


@shaped
def wolff_update(
    key, spins: Real[AnyArray, "chains L L"], temperatures, mesh=None
) -> tuple[Int8[Array, "chains L L"], Int[Array, " chains"]]:
    r"""Flip one Wolff cluster in every chain, :math:`p_{add} = 1 - e^{-2/T}`.

    spins ``(C, L, L)`` int8; temperatures ``(C,)`` or scalar.  Returns the new spins and the
    cluster sizes ``(C,)``.
    """
    spins, temps = _chains_and_temperatures(key, spins, temperatures, mesh)
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
        return s, (_energy(s) / n, jnp.abs(_magnetization(s)))

    return jax.lax.scan(step, spins, jax.random.split(key, n_steps))


@shaped
def run_chains(
    key, spins: Real[AnyArray, "chains L L"], temperatures, n_steps, wolff=True, mesh=None
) -> tuple[Int8[Array, "chains L L"], Real[Array, "n_steps chains"], Real[Array, "n_steps chains"]]:
    """Advance every chain ``n_steps`` Monte Carlo steps and record observables after each.

    One step is a checkerboard Metropolis sweep, then (if ``wolff``) one Wolff cluster flip,
    then a global flip s -> -s with probability 1/2 (exact, since E(-s) = E(s)).
    Returns (spins ``(C, L, L)``, energy per spin ``(n_steps, C)``, |m| ``(n_steps, C)``).
    """
    spins, temps = _chains_and_temperatures(key, spins, temperatures, mesh)
    positive_int(n_steps=n_steps)
    spins, (e, m) = _run_chains(key, spins, temps, n_steps, bool(wolff))
    return spins, e, m


@partial(jax.jit, static_argnames=("n_samples", "thin", "wolff"))
def _thinned(key, spins, temperatures, n_samples, thin, wolff):
    def keep_one(s, k):
        s, _ = _run_chains(k, s, temperatures, thin, wolff)
        return s, s

    return jax.lax.scan(keep_one, spins, jax.random.split(key, n_samples))[1]


@shaped
def thinned_samples(
    key, spins: Real[AnyArray, "chains L L"], temperatures, n_samples, thin, wolff=True, mesh=None,
) -> Int8[Array, "n_samples chains L L"]:
    """``n_samples`` configurations of every chain, one each ``thin`` steps of :func:`run_chains`.

    Returns ``(n_samples, C, L, L)`` int8: with ``thin`` at least the autocorrelation time, nearly
    independent equilibrium samples (see :func:`helpers.physics.ising_data.sample_configurations`).
    """
    spins, temps = _chains_and_temperatures(key, spins, temperatures, mesh)
    positive_int(n_samples=n_samples, thin=thin)
    return _thinned(key, spins, temps, n_samples, thin, bool(wolff))


@shaped
def random_spins(key, n_chains, L) -> Int8[Array, "n_chains L L"]:
    """Independent uniformly random (infinite-temperature) configurations ``(n_chains, L, L)`` int8."""
    validate.key("key", key)
    lattice_size(L, even=False)
    positive_int(n_chains=n_chains)
    return jax.random.rademacher(key, (n_chains, L, L), dtype=jnp.int8)


# --------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------
def _chains_and_temperatures(key, spins, temperatures, mesh) -> tuple[jax.Array, jax.Array]:
    """The initial spins (checked to be +-1, also under ``jit``) as int8 and one temperature per chain;
    with a ``mesh`` both split over its devices along the chain axis (the chain count must divide)."""
    validate.key("key", key)
    lattice_size(int(spins.shape[-1]), even=True)
    spins = validate.spins("spins", jnp.asarray(spins)).astype(jnp.int8)
    temps = temperatures_array(temperatures)
    if temps.size == 1:
        temps = np.full(spins.shape[0], temps[0])
    if temps.shape != (spins.shape[0],):
        raise ValueError(f"temperatures has shape {temps.shape}; expected ({spins.shape[0]},), one per chain")
    temps = jnp.asarray(temps, dtype=jnp.float32)
    return parallel.shard(spins, mesh, name="spins"), parallel.shard(temps, mesh, name="temperatures")
