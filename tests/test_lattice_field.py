"""helpers.physics.lattice_field against a hand-computed action, jax.grad, dense linear algebra and the
free field's exact two-point function."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers.generative import flows
from helpers.physics import lattice_field as lf


def test_action_on_a_2x2_lattice_by_hand():
    phi = jnp.array([[[1.0, 2.0], [3.0, 4.0]]])
    # hopping: vertical pairs (1,3), (2,4), each twice on L = 2: 4 * 4; horizontal (1,2), (3,4): 4 * 1
    # mass: 0.5 * (1 + 4 + 9 + 16) = 15; quartic: 0.1 * (1 + 16 + 81 + 256) = 35.4
    assert float(lf.phi4_action(phi, 0.5, 0.1)[0]) == pytest.approx(16 + 4 + 15 + 35.4, rel=1e-6)


def test_force_is_the_gradient_of_the_action():
    phi = jax.random.normal(jax.random.key(0), (3, 5, 5))
    grad = jax.grad(lambda p: jnp.sum(lf.phi4_action(p, -1.3, 0.7)))(phi)
    np.testing.assert_allclose(lf.phi4_force(phi, -1.3, 0.7), grad, rtol=1e-5, atol=1e-5)


def test_two_point_function_is_the_translation_average():
    phi = np.asarray(jax.random.normal(jax.random.key(1), (4, 4)))
    direct = np.array([[np.mean(phi * np.roll(phi, (-a, -b), (0, 1))) for b in range(4)] for a in range(4)])
    np.testing.assert_allclose(lf.two_point(phi), direct, atol=1e-6)
    m = float(lf.magnetization(phi))
    assert float(jnp.sum(lf.two_point(phi))) == pytest.approx(16 * m**2, rel=1e-5)


def _free_field_covariance(L, m2):
    # S = phi^T K phi with K = -Laplacian + m2: covariance (2 K)^(-1)
    eye = np.eye(L * L).reshape(L * L, L, L)
    grad = jax.grad(lambda p: lf.phi4_action(p[None], m2, 0.0)[0])
    K = np.stack([np.asarray(grad(jnp.asarray(e, jnp.float64))) for e in eye]).reshape(L * L, L * L) / 2
    return np.linalg.inv(2 * K)


def test_free_field_two_point_function_against_dense_inverse():
    with jax.enable_x64(True):
        cov = _free_field_covariance(4, 0.8)
    exact = lf.free_field_two_point(4, 0.8)
    np.testing.assert_allclose(exact.ravel(), cov[0], atol=1e-12)


def test_hmc_samples_the_free_field():
    L, m2 = 4, 0.5
    phi, accepted = lf.hmc(jax.random.key(2), jnp.zeros((32, L, L)), m2, 0.0, 600, 8, 0.2)
    g = lf.two_point(phi[100:]).mean(axis=0)  # (chains, L, L): chains independent
    exact = lf.free_field_two_point(L, m2)
    se = np.asarray(g.std(axis=0)) / np.sqrt(32)
    assert float(accepted.mean()) > 0.7
    assert np.all(np.abs(np.asarray(g.mean(axis=0)) - exact) < 4 * se + 1e-3)


def test_reweighted_free_field_observables_are_unbiased():
    # proposal: independent sites N(0, s^2); target: the free field; reweighting recovers G exactly
    L, m2 = 4, 4.0
    exact = lf.free_field_two_point(L, m2).ravel()
    s = float(np.sqrt(exact[0]))  # the right variance per site, but no correlations between sites
    phi = s * jax.random.normal(jax.random.key(3), (100_000, L, L))
    log_w = -lf.phi4_action(phi, m2, 0.0) + jnp.sum(phi**2, axis=(1, 2)) / (2 * s**2)
    g, se = flows.reweight(log_w, lf.two_point(phi).reshape(-1, L * L))
    assert float(flows.effective_sample_size(log_w)) > 0.1
    assert np.all(np.abs(np.asarray(g) - exact) < 4 * np.asarray(se))
    raw = np.asarray(lf.two_point(phi).reshape(-1, L * L).mean(axis=0))
    assert abs(raw[1] - exact[1]) > 10 * float(se[1])  # unweighted, the neighbours look uncorrelated
