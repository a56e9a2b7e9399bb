"""helpers.physics.pinn: residuals of exact solutions vanish, derivatives equal analytic ones, hard
boundary conditions hold exactly, the loss has the stated form."""

import functools

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.networks.layers import MLP
from helpers.physics import black_scholes, pinn


def test_ode_derivatives_equal_the_analytic_ones():
    with jax.enable_x64(True):
        t = jnp.linspace(0.0, 3.0, 17)[:, None]
        d = pinn.ode_derivatives(lambda s: jnp.sin(2.0 * s[0]) * jnp.exp(-0.5 * s[0]), t, 2)
        s = np.asarray(t[:, 0])
        e, sn, cs = np.exp(-0.5 * s), np.sin(2 * s), np.cos(2 * s)
        want = np.stack([sn * e, (2 * cs - 0.5 * sn) * e, (-3.75 * sn - 2 * cs) * e], axis=1)
        np.testing.assert_allclose(d, want, atol=1e-12)


W, Z = 2.0, 0.1
WD = W * np.sqrt(1 - Z**2)


def _oscillator(s):
    return jnp.exp(-Z * W * s[0]) * (jnp.cos(WD * s[0]) + Z * W / WD * jnp.sin(WD * s[0]))


def _heat(p):
    return jnp.exp(-0.5 * jnp.pi**2 * p[1]) * jnp.sin(jnp.pi * p[0])


def _call(p):
    return black_scholes.call_price(p[0], p[1], 40.0, 0.1, 0.2)[0]


EXACT = {  # equation: (residual of the exact solution at points, lower corner, upper corner)
    "oscillator": (lambda x: pinn.ode_residual(_oscillator, x, (W**2, 2 * Z * W, 1.0)), [0.0], [4.0]),
    "decay": (lambda x: pinn.ode_residual(lambda s: jnp.exp(-0.7 * s[0]), x, (0.7, 1.0)), [0.0], [4.0]),
    "heat": (lambda x: pinn.heat_residual(_heat, x, kappa=0.5), [0.0, 0.0], [1.0, 0.3]),
    "black_scholes": (lambda x: pinn.black_scholes_residual(_call, x, 0.1, 0.2), [10.0, 0.05], [80.0, 1.0]),
}


@pytest.mark.parametrize("equation", list(EXACT))
def test_residual_of_the_exact_solution_vanishes(equation):
    residual, lower, upper = EXACT[equation]
    with jax.enable_x64(True):
        points = pinn.sample(jax.random.key(0), lower, upper, 50)
        assert np.max(np.abs(jax.jit(residual)(points))) < 1e-8


def test_hard_boundary_trial_satisfies_the_condition_for_any_network():
    model = MLP([2, 8, 1], "tanh", rngs=nnx.Rngs(0))
    trial = pinn.trial_function(lambda p: jnp.sin(jnp.pi * p[0]), lambda p: p[1] * p[0] * (1 - p[0]))
    u = pinn.field(model, trial)
    edge = jnp.linspace(0.0, 1.0, 11)
    np.testing.assert_allclose(pinn.evaluate(u, jnp.stack([edge, 0 * edge], 1)), np.sin(np.pi * edge),
                               atol=1e-6)
    for x in (0.0, 1.0):
        np.testing.assert_allclose(pinn.evaluate(u, jnp.stack([0 * edge + x, edge], 1)), 0.0, atol=1e-6)


def test_loss_is_mean_squared_residual_plus_weighted_boundary_mismatch():
    model = MLP([1, 8, 1], "tanh", rngs=nnx.Rngs(1))
    t = jnp.linspace(0.0, 1.0, 9)[:, None]
    batch = pinn.Collocation(t, jnp.zeros((1, 1)), jnp.ones(1))
    residual = functools.partial(pinn.ode_residual, coefficients=(1.0, 1.0))
    value, metrics = pinn.loss(model, batch, None, residual=residual, weight=3.0)
    u = pinn.field(model)
    r = jax.vmap(jax.grad(lambda s: u(s[None])))(t[:, 0]) + jax.vmap(u)(t)
    np.testing.assert_allclose(metrics["residual"], jnp.mean(r**2), rtol=1e-5)
    np.testing.assert_allclose(metrics["boundary"], (u(jnp.zeros(1)) - 1.0) ** 2, rtol=1e-5)
    np.testing.assert_allclose(value, metrics["residual"] + 3.0 * metrics["boundary"], rtol=1e-6)


def test_sampling_and_grid_cover_the_box():
    x = pinn.sample(jax.random.key(0), [0.0, -1.0], [2.0, 1.0], 500)
    assert x.shape == (500, 2)
    assert float(x[:, 0].min()) >= 0.0 and float(x[:, 0].max()) <= 2.0
    g = pinn.grid([0.0, 0.0], [1.0, 2.0], (3, 5))
    assert g.shape == (15, 2)
    np.testing.assert_allclose(g[-1], [1.0, 2.0])


@pytest.mark.parametrize("dtype", [jnp.float64])
def test_cast_makes_every_parameter_float64(dtype):
    with jax.enable_x64(True):
        model = pinn.cast(MLP([1, 4, 1], "tanh", rngs=nnx.Rngs(0)), dtype)
        assert {p.dtype for p in jax.tree.leaves(nnx.state(model, nnx.Param))} == {jnp.dtype(dtype)}
