"""helpers.physics.ising_chain against brute-force enumeration."""

import itertools

import jax
import numpy as np
import pytest

from helpers.physics import ising_chain


def _chains(n):
    return np.array(list(itertools.product([1, -1], repeat=n)), np.float64)


@pytest.mark.parametrize(("n", "T"), [(6, 0.8), (12, 2.5)])
def test_open_chain_entropy_is_the_nll(n, T):
    s = _chains(n)
    p = np.exp(np.sum(s[:, 1:] * s[:, :-1], axis=1) / T)
    p /= p.sum()
    np.testing.assert_allclose(-np.sum(p * np.log(p)) / n, ising_chain.nll_per_spin(T, n)[0], rtol=1e-12)


@pytest.mark.parametrize("h", [0.0, 0.4])
def test_ring_partition_function_and_entropy_rate(h):
    n, T, J = 12, 1.5, 0.7
    s = _chains(n)
    energy = -J * np.sum(s * np.roll(s, 1, axis=1), axis=1) - h * s.sum(1)
    z = np.sum(np.exp(-energy / T))
    tm = ising_chain.transfer_matrix(T, J, h)
    np.testing.assert_allclose(np.log(z), np.log(np.trace(np.linalg.matrix_power(tm, n))), rtol=1e-12)
    p = np.exp(-energy / T) / z
    np.testing.assert_allclose(-np.sum(p * np.log(p)) / n, ising_chain.entropy_rate(T, J, h)[0], rtol=1e-4)
    P, pi = ising_chain.markov_chain(T, J, h)
    np.testing.assert_allclose(P.sum(1), 1.0)
    np.testing.assert_allclose(pi @ P, pi)


def test_samples_follow_the_markov_chain():
    T = 1.3
    spins = np.asarray(ising_chain.sample_chains(jax.random.key(0), np.full(20_000, T), 10))
    assert spins.dtype == np.int8 and set(np.unique(spins)) == {-1, 1}
    same = np.mean(spins[:, 1:] == spins[:, :-1])
    p = ising_chain.markov_chain(T)[0][0, 0]
    assert abs(same - p) < 5 * np.sqrt(p * (1 - p) / spins[:, 1:].size)
    assert abs(np.mean(spins)) < 0.03


@pytest.mark.parametrize("L", [3, 4])
def test_lattice_moments_against_enumeration(L):
    s = _chains(L * L).reshape(-1, L, L)
    bonds = np.sum(s * np.roll(s, 1, 1), (1, 2)) + np.sum(s * np.roll(s, 1, 2), (1, 2))
    for K in (0.2, 0.5):
        w = np.exp(K * (bonds - bonds.max()))
        p = w / w.sum()
        mean, var = ising_chain.bond_sum_moments([K], L)
        np.testing.assert_allclose(
            ising_chain.lattice_log_partition(K, L)[0], np.log(w.sum()) + K * bonds.max(), rtol=1e-12
        )
        np.testing.assert_allclose(mean[0], np.sum(p * bonds), rtol=1e-10)
        np.testing.assert_allclose(var[0], np.sum(p * (bonds - mean[0]) ** 2), rtol=1e-9)
