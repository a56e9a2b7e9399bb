"""Bad input for helpers.physics.pde, black_scholes and pinn; the cases run in tests/test_bad_input.py."""

from bad_input_common import *  # noqa: F403

from helpers.physics import black_scholes, pde, pinn

GRID = jnp.linspace(0.0, 1.0, 11)
POINTS = jnp.ones((4, 2))
MLP2 = layers.MLP([2, 4, 1], "tanh", rngs=nnx.Rngs(0))


def heat_field(p):
    return jnp.sin(jnp.pi * p[0])


def nan_points():
    return POINTS.at[1, 0].set(jnp.nan)


CASES = [
    # helpers.physics.pde
    ("pde", "NaN in the right-hand side", lambda: pde.thomas(X, X, X, X.at[0, 0].set(jnp.nan)),
     ValueError, "d has 1 NaN"),
    ("pde", "diagonals of different lengths", lambda: pde.thomas(X, X, X, jnp.ones((3, 5))),
     TypeError, "parameter 'd'"),
    ("pde", "non-positive domain length", lambda: pde.poisson_dirichlet(GRID, length=0.0),
     ValueError, "length=0.0"),
    ("pde", "negative time step", lambda: pde.heat_explicit(GRID, 0.1, -1e-3, 10), ValueError, "dt=-0.001"),
    ("pde", "zero grid spacing", lambda: pde.heat_implicit(GRID, 0.0, 1e-3, 10), ValueError, "dx=0.0"),
    ("pde", "a grid with NaN", lambda: pde.heat_explicit(GRID.at[3].set(jnp.nan), 0.1, 1e-3, 10),
     ValueError, "u0 has 1 NaN"),
    ("pde", "too few grid points", lambda: pde.heat_explicit(GRID[:2], 0.1, 1e-3, 10),
     ValueError, "u0 has 2"),
    ("pde", "theta outside [0, 1]", lambda: pde.heat_implicit(GRID, 0.1, 1e-3, 10, theta=2.0),
     ValueError, "theta=2.0"),
    ("pde", "a fractional step count", lambda: pde.heat_explicit(GRID, 0.1, 1e-3, 2.5),
     ValueError, "steps=2.5"),
    # helpers.physics.black_scholes
    ("black_scholes", "negative stock price", lambda: black_scholes.call_price(-1.0, 0.5, 40.0, 0.1, 0.2),
     ValueError, "s has values"),
    ("black_scholes", "negative time to maturity",
     lambda: black_scholes.call_price(42.0, -0.5, 40.0, 0.1, 0.2), ValueError, "tau has values"),
    ("black_scholes", "zero volatility", lambda: black_scholes.call_price(42.0, 0.5, 40.0, 0.1, 0.0),
     ValueError, "sigma=0.0"),
    ("black_scholes", "zero strike", lambda: black_scholes.call_price(42.0, 0.5, 0.0, 0.1, 0.2),
     ValueError, "strike=0.0"),
    ("black_scholes", "seed as key",
     lambda: black_scholes.monte_carlo_price(0, 42.0, 0.5, 40.0, 0.1, 0.2, 10), TypeError, "key=0"),
    ("black_scholes", "no samples",
     lambda: black_scholes.monte_carlo_price(KEY, 42.0, 0.5, 40.0, 0.1, 0.2, 0), ValueError, "n=0"),
    ("black_scholes", "a string rate", lambda: black_scholes.call_price(42.0, 0.5, 40.0, "r", 0.2),
     ValueError, "rate='r'"),
    # helpers.physics.pinn
    ("pinn", "collocation points with NaN", lambda: pinn.heat_residual(heat_field, nan_points()),
     ValueError, "points has 1 NaN"),
    ("pinn", "non-positive domain length", lambda: pinn.sample(KEY, [0.0, 1.0], [1.0, 1.0], 8),
     ValueError, "upper - lower"),
    ("pinn", "a network whose output does not match the unknown",
     lambda: pinn.evaluate(pinn.field(layers.MLP([2, 4, 3], rngs=nnx.Rngs(0))), POINTS),
     ValueError, r"model maps .* expected \(1, 1\)"),
    ("pinn", "a boundary condition that is not callable",
     lambda: pinn.trial_function(1.0, lambda p: p[0]), TypeError, "particular=1.0"),
    ("pinn", "points of the wrong dimension for the equation",
     lambda: pinn.heat_residual(heat_field, jnp.ones((4, 3))), ValueError, r"points has shape \(4, 3\)"),
    ("pinn", "times as a flat list", lambda: pinn.ode_residual(heat_field, jnp.ones(4), (1.0, 1.0)),
     TypeError, "parameter 't'"),
    ("pinn", "one ODE coefficient", lambda: pinn.ode_residual(heat_field, jnp.ones((4, 1)), (1.0,)),
     ValueError, "coefficients="),
    ("pinn", "negative loss weight",
     lambda: pinn.loss(MLP2, pinn.Collocation(POINTS, POINTS, jnp.ones(4)), None,
                       residual=pinn.heat_residual, weight=-1.0), ValueError, "weight=-1.0"),
    ("pinn", "a residual that is not callable",
     lambda: pinn.loss(MLP2, pinn.Collocation(POINTS), None, residual="heat"), TypeError, "residual='heat'"),
    ("pinn", "a grid with zero points", lambda: pinn.grid([0.0], [1.0], 0), ValueError, r"points\[0\]=0"),
]
