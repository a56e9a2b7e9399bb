"""Spin updates per second of the checkerboard Metropolis sampler, JAX against plain NumPy.

Both run the same algorithm (two sub-lattice half-sweeps, min(1, exp(-beta dE)) acceptance) on
the same batch, L = 64 with 256 chains at T = T_c, in this one process.  Prints a table, then
one JSON object on the last line.  Targets: >= 200 million updates/s and >= 5x NumPy.
"""

import json
import os
import platform
import time

import jax
import numpy as np

from helpers.physics import ising, ising_mc

L, CHAINS, TEMPERATURE = 64, 256, ising.T_C
JAX_SWEEPS, NUMPY_SWEEPS, REPEATS = 400, 20, 3


def numpy_sweeps(rng: np.random.Generator, spins: np.ndarray, n_sweeps: int) -> np.ndarray:
    """The reference: the same checkerboard Metropolis in vectorised NumPy."""
    accept_prob = {2: np.exp(-4.0 / TEMPERATURE), 4: np.exp(-8.0 / TEMPERATURE)}
    parity = np.indices((L, L)).sum(axis=0) % 2
    for _ in range(n_sweeps):
        for colour in (0, 1):
            neighbours = (
                np.roll(spins, 1, 1) + np.roll(spins, -1, 1) + np.roll(spins, 1, 2) + np.roll(spins, -1, 2)
            )
            sh = spins * neighbours
            p = np.where(sh == 2, accept_prob[2], accept_prob[4])
            accept = (sh <= 0) | (rng.random(spins.shape, dtype=np.float32) < p)
            spins = np.where(accept & (parity == colour), -spins, spins)
    return spins


def best_rate(run, n_sweeps: int) -> float:
    """Spin updates per second, best of REPEATS timed runs (after one warm-up run)."""
    run()
    times = []
    for _ in range(REPEATS):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return CHAINS * L * L * n_sweeps / min(times)


def main() -> None:
    key = jax.random.key(0)
    spins = ising_mc.random_spins(key, CHAINS, L)
    jax_rate = best_rate(
        lambda: ising_mc.metropolis_sweeps(key, spins, TEMPERATURE, JAX_SWEEPS).block_until_ready(),
        JAX_SWEEPS,
    )
    rng = np.random.default_rng(0)
    np_spins = np.asarray(spins)
    numpy_rate = best_rate(lambda: numpy_sweeps(rng, np_spins, NUMPY_SWEEPS), NUMPY_SWEEPS)
    # The Wolff update at the same size, for the record (cluster flips per second).
    chains_t = np.full(CHAINS, TEMPERATURE)
    start = time.perf_counter()
    ising_mc.wolff_update(key, spins, chains_t)[0].block_until_ready()
    compile_and_run = time.perf_counter() - start
    wolff_rate = best_rate(lambda: ising_mc.wolff_update(key, spins, chains_t)[0].block_until_ready(), 1)
    figures = {
        "lattice_L": L,
        "chains": CHAINS,
        "cpu_count": os.cpu_count(),
        "jax_metropolis_spin_updates_per_s": round(jax_rate),
        "numpy_metropolis_spin_updates_per_s": round(numpy_rate),
        "jax_over_numpy_ratio": round(jax_rate / numpy_rate, 2),
        "wolff_lattice_sites_per_s": round(wolff_rate),
        "wolff_first_call_s": round(compile_and_run, 2),
    }
    print(f"Checkerboard Metropolis, L = {L}, {CHAINS} chains, T = T_c, "
          f"{platform.processor() or platform.machine()}, {os.cpu_count()} cores")
    print(f"{'implementation':<28}{'spin updates / s':>20}")
    print(f"{'JAX (helpers.physics.ising)':<28}{jax_rate:>20,.0f}")
    print(f"{'NumPy (same algorithm)':<28}{numpy_rate:>20,.0f}")
    print(f"{'ratio JAX / NumPy':<28}{jax_rate / numpy_rate:>20.1f}")
    print(f"{'Wolff, sites / s':<28}{wolff_rate:>20,.0f}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
