"""helpers.physics.spin_chains against the free-fermion closed form, dense diagonalisation, a
direct minimisation and jax.grad."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy import optimize

from helpers.physics import spin_chains


@pytest.mark.parametrize(("n", "h"), list(itertools.product((2, 4, 6, 8, 10, 12), (0.3, 1.0, 1.7))))
def test_exact_diagonalisation_equals_pfeuty(n, h):
    energy, state = spin_chains.ground_state(n, h)
    assert abs(energy - spin_chains.pfeuty_energy(n, h)) < 1e-9 * abs(energy)
    assert np.all(state > 0) and abs(np.linalg.norm(state) - 1) < 1e-10


def test_sparse_hamiltonian_equals_kronecker_products():
    n, h, J = 5, 0.6, 1.3
    x, z, one = np.array([[0, 1], [1, 0]]), np.diag([1.0, -1.0]), np.eye(2)

    def site(op, i):
        out = np.ones((1, 1))
        for k in range(n):
            out = np.kron(out, op if k == i else one)
        return out

    dense = sum(-J * site(z, i) @ site(z, (i + 1) % n) - h * site(x, i) for i in range(n))
    np.testing.assert_allclose(spin_chains.tfim_hamiltonian(n, h, J).toarray(), dense, atol=1e-14)
    energy, state = spin_chains.ground_state(n, h, J)
    assert abs(energy - np.linalg.eigvalsh(dense)[0]) < 1e-10
    obs = spin_chains.chain_observables(state, n)
    assert abs(-n * (J * obs["zz"] + h * obs["sigma_x"]) - energy) < 1e-9


@pytest.mark.parametrize("h", [0.4, 1.0, 3.0])
def test_mean_field_is_the_best_product_state(h):
    best = optimize.minimize_scalar(lambda t: -np.cos(t) ** 2 - h * np.sin(t), bounds=(0, np.pi / 2),
                                    method="bounded", options={"xatol": 1e-10})
    assert abs(spin_chains.mean_field_energy(8, h) - 8 * best.fun) < 1e-8
    assert spin_chains.mean_field_energy(8, h) >= spin_chains.ground_state(8, h)[0]


def test_qbm_reduces_to_the_classical_machine_and_its_gradient_to_jax_grad():
    with jax.enable_x64(True):
        theta = jax.random.normal(jax.random.key(0), (6,))
        s = spin_chains.basis_states(3).astype(np.float64)
        weights = np.exp(spin_chains.ising_operators(3).T @ np.asarray(theta))
        marginal = [weights[(s[:, 0] == a) & (s[:, 1] == b)].sum() for a in (1, -1) for b in (1, -1)]
        np.testing.assert_allclose(spin_chains.qbm_marginal(theta, 3, 0.0, 2),
                                   np.array(marginal) / weights.sum(), rtol=1e-12)
        for gamma, v in [(0.0, 1), (0.5, 0), (1.5, 3)]:
            exact = spin_chains.qbm_gradient(theta, 3, gamma, 2, v)
            by_grad = jax.grad(lambda t, g=gamma, v=v: jnp.log(spin_chains.qbm_marginal(t, 3, g, 2)[v]))(
                theta)
            np.testing.assert_allclose(np.asarray(exact), np.asarray(by_grad), atol=1e-10)
            naive = spin_chains.qbm_gradient(theta, 3, gamma, 2, v, exact=False)
            assert (float(jnp.max(jnp.abs(naive - exact))) < 1e-12) == (gamma == 0.0)
