"""RK4's order, the Lyapunov exponent of systems with known answers, forecast skill."""

import jax
import jax.numpy as jnp
import numpy as np

from helpers.physics import dynamics


def oscillator(x):  # harmonic oscillator: x(t) = (cos t, -sin t) from (1, 0)
    return jnp.stack([x[..., 1], -x[..., 0]], axis=-1)


def test_rk4_is_fourth_order():
    with jax.enable_x64(True):
        x0 = jnp.array([1.0, 0.0], jnp.float64)
        errors = []
        for steps in (20, 40, 80):
            end = dynamics.integrate(oscillator, x0, 2.0 / steps, steps)[-1]
            errors.append(float(jnp.linalg.norm(end - jnp.array([np.cos(2.0), -np.sin(2.0)]))))
        ratios = np.array(errors[:-1]) / np.array(errors[1:])
        np.testing.assert_allclose(ratios, 16.0, rtol=0.05)  # error falls 16x when dt halves


def test_lyapunov_exponent_of_a_linear_system_is_its_largest_eigenvalue():
    A = jnp.array([[0.3, 1.0, 0.0], [0.0, -0.5, 0.2], [0.0, 0.0, -1.0]])
    lam = dynamics.lyapunov_exponent(lambda x: x @ A.T, jnp.ones(3), 0.01, 4000, transient=100)
    assert abs(float(lam) - 0.3) < 0.01


def test_lorenz_lyapunov_exponent():
    starts = jnp.array([1.0, 1.0, 20.0]) + jax.random.normal(jax.random.key(0), (8, 3))
    lam = dynamics.lyapunov_exponent(dynamics.lorenz63, starts, 0.01, 30_000, transient=1000)
    assert abs(float(lam.mean()) / dynamics.LORENZ_LYAPUNOV - 1) < 0.02


def test_valid_prediction_time():
    error = jnp.array([[0.1, 0.2, 0.5, 0.1], [0.1, 0.1, 0.1, 0.1]])
    np.testing.assert_allclose(
        dynamics.valid_prediction_time(error, 0.5), [1.0, 2.0]
    )  # never crossing: the horizon
    truth = jnp.zeros((5, 3))
    np.testing.assert_allclose(
        dynamics.normalised_error(truth + jnp.array([0.3, 0.0, 0.0]), truth, jnp.array([1.0, 2, 3])),
        0.3 / np.sqrt(3),
    )
