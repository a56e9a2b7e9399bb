"""helpers.physics.pde and black_scholes against independent references: SciPy's banded solver, the
exact solution of the heat equation, put-call parity and Hull's textbook value."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from scipy.linalg import solve_banded

from helpers.physics import black_scholes, pde


def test_thomas_equals_scipy_solve_banded():
    rng = np.random.default_rng(0)
    n = 12
    a, c, d = rng.normal(size=(3, 2, n))
    b = 4.0 + rng.uniform(size=(2, n))  # diagonally dominant
    with jax.enable_x64(True):
        u = np.asarray(pde.thomas(a, b, c, d))
    for k in range(2):
        banded = np.stack([np.r_[0.0, c[k, :-1]], b[k], np.r_[a[k, 1:], 0.0]])
        np.testing.assert_allclose(u[k], solve_banded((1, 1), banded, d[k]), rtol=1e-10)


def test_poisson_dirichlet_is_exact_for_a_quadratic():
    n = 15
    x = np.arange(1, n + 1) / (n + 1)
    with jax.enable_x64(True):  # -u'' = 2 has u = x (1 - x); the centred difference is exact
        u = pde.poisson_dirichlet(2.0 * np.ones(n))
    np.testing.assert_allclose(u, x * (1 - x), atol=1e-12)


def _heat_error(n, scheme, alpha=0.25, t_end=0.05, **options):
    x = np.linspace(0.0, 1.0, n + 1)
    dx = 1.0 / n
    steps = int(round(t_end / (alpha * dx**2)))
    dt = t_end / steps
    with jax.enable_x64(True):
        u = np.asarray(scheme(np.sin(np.pi * x), dx, dt, steps, **options))
    return np.max(np.abs(u - np.exp(-np.pi**2 * t_end) * np.sin(np.pi * x)))


@pytest.mark.parametrize("scheme", [pde.heat_explicit, pde.heat_implicit])
def test_heat_schemes_converge_at_second_order_in_dx(scheme):
    errors = [_heat_error(n, scheme) for n in (10, 20, 40)]
    orders = np.log2(np.array(errors[:-1]) / np.array(errors[1:]))
    assert np.all(np.abs(orders - 2.0) < 0.1), orders


def test_explicit_scheme_blows_up_above_its_stability_limit_and_crank_nicolson_does_not():
    x = np.linspace(0.0, 1.0, 21)
    u0 = np.sin(np.pi * x) + 1e-6 * (-1.0) ** np.arange(21)  # a seed of the fastest mode
    dx = 0.05
    assert np.max(np.abs(pde.heat_explicit(u0, dx, 0.55 * dx**2, 400))) > 10.0
    assert np.max(np.abs(pde.heat_explicit(u0, dx, 0.45 * dx**2, 400))) < 1.0
    assert np.max(np.abs(pde.heat_implicit(u0, dx, 5.0 * dx**2, 400))) < 1.0


def test_black_scholes_matches_hull_and_put_call_parity():
    price, delta = black_scholes.call_price(42.0, 0.5, 40.0, 0.1, 0.2)
    assert abs(float(price) - 4.76) < 0.005  # Hull, Options, Futures and Other Derivatives, ex. 15.6
    assert abs(float(delta) - 0.7791) < 1e-3
    # parity C - P = S - K exp(-r tau), with the put priced from the same formula
    s = np.linspace(20.0, 60.0, 9)
    with jax.enable_x64(True):
        call, _ = black_scholes.call_price(s, 0.5, 40.0, 0.1, 0.2)
        d1 = (np.log(s / 40.0) + (0.1 + 0.02) * 0.5) / (0.2 * np.sqrt(0.5))
        d2 = d1 - 0.2 * np.sqrt(0.5)
        from scipy.stats import norm
        put = 40.0 * np.exp(-0.05) * norm.cdf(-d2) - s * norm.cdf(-d1)
        np.testing.assert_allclose(np.asarray(call) - put, s - 40.0 * np.exp(-0.05), atol=1e-10)


def test_black_scholes_delta_is_the_derivative_of_the_price():
    with jax.enable_x64(True):
        s = jnp.linspace(30.0, 55.0, 6)
        price = jax.grad(lambda x: black_scholes.call_price(x, 0.5, 40.0, 0.1, 0.2)[0])
        delta = jax.jit(jax.vmap(price))(s)
        np.testing.assert_allclose(delta, black_scholes.call_price(s, 0.5, 40.0, 0.1, 0.2)[1], atol=1e-10)
        price, delta = black_scholes.call_price(jnp.array([30.0, 50.0]), 0.0, 40.0, 0.1, 0.2)
        np.testing.assert_allclose(price, [0.0, 10.0])
        np.testing.assert_allclose(delta, [0.0, 1.0])


def test_monte_carlo_price_agrees_within_its_standard_error():
    price, error = black_scholes.monte_carlo_price(jax.random.key(0), 42.0, 0.5, 40.0, 0.1, 0.2, 200_000)
    exact, _ = black_scholes.call_price(42.0, 0.5, 40.0, 0.1, 0.2)
    assert 0.0 < float(error) < 0.02
    assert abs(float(price) - float(exact)) < 4 * float(error)
