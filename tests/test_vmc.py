"""helpers.physics.vmc and helpers.physics.nqs against closed forms, brute-force sums, SciPy and
a chi-square test of the sampler."""

import itertools

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from scipy import stats

from helpers.core import train
from helpers.physics import nqs, spin_chains, vmc


def log_gauss(alpha, x):  # psi = exp(-alpha x^2), x (batch, 1)
    return -alpha * x[:, 0] ** 2


def harmonic(x):
    return 0.5 * jnp.sum(x**2, axis=tuple(range(1, x.ndim)))


@pytest.mark.parametrize(("log_psi", "energy"), [
    (lambda p, x: -0.5 * jnp.sum(x**2, axis=1), 1.5),  # 3-D ground state, x (batch, 3)
    (lambda p, x: jnp.log(jnp.abs(x[:, 0])) - 0.5 * jnp.sum(x**2, axis=1), 2.5),  # first excited
    (lambda p, x: jnp.log(jnp.abs(4 * x[:, 0] ** 2 - 2)) - 0.5 * jnp.sum(x**2, axis=1), 3.5),  # n=2
])
def test_local_energy_of_oscillator_eigenstates_is_constant(log_psi, energy):
    with jax.enable_x64(True):
        x = jax.random.normal(jax.random.key(0), (50, 3))
        e_loc = vmc.local_energy(log_psi, harmonic, None, x)
        np.testing.assert_allclose(np.asarray(e_loc), energy, atol=1e-9)


@pytest.mark.parametrize("n", [2, 3, 4])
def test_local_energy_of_calogero_ground_state_is_constant(n):
    with jax.enable_x64(True):
        x = jax.random.normal(jax.random.key(n), (40, n))
        for beta in (1.5, 2.0, 3.0):
            e_loc = vmc.local_energy(lambda p, y, b=beta: nqs.calogero_log_psi_exact(y, b),
                                     lambda y, b=beta: nqs.calogero_potential(y, b), None, x)
            np.testing.assert_allclose(np.asarray(e_loc), nqs.calogero_energy(n, beta), rtol=1e-10)


def test_boson_network_is_symmetric_and_exact_at_its_optimum():
    params = nqs.init_boson_net(jax.random.key(1))
    x = jax.random.normal(jax.random.key(2), (8, 4))
    np.testing.assert_allclose(nqs.boson_log_psi(params, x, 2.0),
                               nqs.boson_log_psi(params, x[:, ::-1], 2.0), atol=1e-5)
    exact = params._replace(log_w=jnp.asarray(0.0), w3=jnp.zeros_like(params.w3))
    np.testing.assert_allclose(nqs.boson_log_psi(exact, x, 2.0), nqs.calogero_log_psi_exact(x, 2.0),
                               rtol=1e-6)


def test_gaussian_metropolis_passes_a_chi_square_test():
    alpha = 0.5  # |psi|^2 = exp(-x^2): a normal distribution of variance 1/2
    samples, acceptance = vmc.metropolis_gaussian(jax.random.key(3), log_gauss, jnp.asarray(alpha),
                                                  jnp.zeros((200, 1)), 120, 1.5, thin=4)
    x = np.asarray(samples[20::10]).ravel()  # burn-in dropped, thinned to near independence
    edges = np.concatenate([[-np.inf], np.linspace(-2, 2, 15), [np.inf]])
    observed = np.histogram(x, edges)[0]
    expected = x.size * np.diff(stats.norm.cdf(edges, scale=np.sqrt(0.5)))
    assert 0.2 < float(acceptance) < 0.9
    assert stats.chisquare(observed, expected).pvalue > 1e-3


def test_flip_metropolis_samples_the_rbm_distribution():
    n = 4
    params = nqs.init_spin_rbm(jax.random.key(4), n, 1, scale=0.6)
    samples, _ = vmc.metropolis_flip(jax.random.key(5), nqs.rbm_log_psi, params,
                                     jnp.ones((400, n)), 60, thin=n)
    states = spin_chains.basis_states(n)
    p = np.exp(2 * np.asarray(nqs.rbm_log_psi(params, jnp.asarray(states, jnp.float32)), np.float64))
    index = ((1 - np.asarray(samples[10::5]).reshape(-1, n)) // 2) @ (2 ** np.arange(n - 1, -1, -1))
    observed = np.bincount(index.astype(int), minlength=2**n)
    assert stats.chisquare(observed, observed.sum() * p / p.sum()).pvalue > 1e-3


def test_rbm_amplitude_equals_the_sum_over_hidden_units():
    with jax.enable_x64(True):
        params = nqs.init_spin_rbm(jax.random.key(6), 3, 2, scale=0.8)
        params = nqs.SpinRBM(*(jnp.asarray(p, jnp.float64) for p in params))
        s = np.asarray(spin_chains.basis_states(3), np.float64)
        total = np.zeros(len(s))
        for h in itertools.product((-1.0, 1.0), repeat=6):
            h = np.asarray(h)
            total += np.exp(s @ np.asarray(params.a) + h @ np.asarray(params.b)
                            + s @ np.asarray(params.W) @ h)
        np.testing.assert_allclose(np.asarray(nqs.rbm_log_psi(params, jnp.asarray(s))), np.log(total),
                                   rtol=1e-12)


def test_tfim_local_energy_equals_h_psi_over_psi():
    n, h = 6, 0.7
    with jax.enable_x64(True):
        params = nqs.init_spin_rbm(jax.random.key(7), n, 2, scale=0.5)
        params = nqs.SpinRBM(*(jnp.asarray(p, jnp.float64) for p in params))
        s = jnp.asarray(spin_chains.basis_states(n), jnp.float64)
        psi = np.exp(np.asarray(nqs.rbm_log_psi(params, s)))
        want = spin_chains.tfim_hamiltonian(n, h) @ psi / psi
        np.testing.assert_allclose(np.asarray(nqs.tfim_local_energy(nqs.rbm_log_psi, params, s, h)),
                                   want, rtol=1e-10)


def test_energy_gradient_and_sr_against_closed_forms():
    rng = np.random.default_rng(8)
    alpha = 0.35
    x = rng.normal(scale=np.sqrt(1 / (4 * alpha)), size=(400_000, 1))  # exact samples of |psi|^2
    with jax.enable_x64(True):
        x = jnp.asarray(x)
        e_loc = vmc.local_energy(log_gauss, harmonic, jnp.asarray(alpha), x)
        o = vmc.log_derivatives(log_gauss, jnp.asarray(alpha), x)
        np.testing.assert_allclose(np.asarray(o[:, 0]), -np.asarray(x[:, 0]) ** 2)
        grad = float(vmc.energy_gradient(o, e_loc)[0])
        assert abs(grad - (0.5 - 1 / (8 * alpha**2))) < 0.01
        o2 = jnp.asarray(rng.normal(size=(500, 3)))
        e2 = jnp.asarray(rng.normal(size=500))
        d_o = np.asarray(o2) - np.asarray(o2).mean(0)
        s = d_o.T @ d_o / 500 + 0.1 * np.eye(3)
        f = d_o.T @ (np.asarray(e2) - np.asarray(e2).mean()) / 500
        np.testing.assert_allclose(np.asarray(vmc.sr_direction(o2, e2, 0.1)), np.linalg.solve(s, f),
                                   rtol=1e-10)


def test_vmc_step_through_fit_finds_the_oscillator_ground_state():
    def sample(key, alpha, walkers):
        return vmc.metropolis_gaussian(key, log_gauss, alpha, walkers, 10, 1.0, thin=2)

    def e_local(alpha, x):
        return vmc.local_energy(log_gauss, harmonic, alpha, x)

    sgd = optax.sgd(0.2)
    step = vmc.vmc_step(log_gauss, sample, e_local, sgd)
    alpha = jnp.asarray(0.25)
    (alpha, _, _), history = train.fit(step, (alpha, sgd.init(alpha), jnp.zeros((128, 1))),
                                       key=jax.random.key(9), epochs=50, progress=False)
    assert abs(float(alpha) - 0.5) < 1e-3
    assert history["energy"].shape == (50,)


def test_blocking_of_independent_data_is_the_naive_error_and_fidelity_is_an_overlap():
    x = np.random.default_rng(10).normal(size=4096)
    errors = vmc.blocking_errors(x)
    np.testing.assert_allclose(errors[0], x.std() / np.sqrt(x.size - 1))
    assert np.all(np.abs(errors[:6] / errors[0] - 1) < 0.3)
    # F of two Gaussians exp(-a x^2), exp(-b x^2): (2 sqrt(ab) / (a + b)) in one dimension
    a, b = 0.5, 0.8
    samples = np.random.default_rng(11).normal(scale=np.sqrt(1 / (4 * a)), size=200_000)
    fid = float(vmc.fidelity(jnp.asarray(-a * samples**2), jnp.asarray(-b * samples**2)))
    assert abs(fid - 2 * np.sqrt(a * b) / (a + b)) < 2e-3
