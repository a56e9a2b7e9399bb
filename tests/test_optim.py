"""helpers.core.optim: each hand-written optimiser follows Optax's trajectory."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest

from helpers.core import optim


def rosenbrock(theta):
    return (1.0 - theta[0]) ** 2 + 100.0 * (theta[1] - theta[0] ** 2) ** 2


SCHEDULE = optim.inverse_time_decay(2e-3, 25.0)
PAIRS = {
    "gd": (optim.gradient_descent(1e-3), optax.sgd(1e-3)),
    "momentum": (optim.momentum(5e-4, 0.9), optax.sgd(5e-4, momentum=0.9)),
    "adagrad": (optim.adagrad(0.1), optax.adagrad(0.1)),
    "rmsprop": (optim.rmsprop(1e-2), optax.rmsprop(1e-2)),
    "adam": (optim.adam(2e-2), optax.adam(2e-2)),
    "sgd-schedule": (optim.gradient_descent(SCHEDULE), optax.sgd(SCHEDULE)),
}


@pytest.mark.parametrize("name", sorted(PAIRS))
def test_trajectory_equals_optax(name):
    ours, reference = PAIRS[name]
    theta0 = jnp.array([-1.2, 1.0])
    a = optim.trajectory(ours, rosenbrock, theta0, 100)
    b = optim.trajectory(reference, rosenbrock, theta0, 100)
    assert a.shape == (101, 2)
    assert float(jnp.max(jnp.abs(a - b))) < 1e-6
    assert float(jnp.max(jnp.abs(a[-1] - theta0))) > 1e-2  # it moved


def test_works_on_parameter_trees():
    params = {"w": jnp.ones((3, 2)), "b": jnp.zeros(2)}
    grads = {"w": jnp.full((3, 2), 0.5), "b": jnp.ones(2)}
    for ours, reference in PAIRS.values():
        u1, _ = ours.update(grads, ours.init(params), params)
        u2, _ = reference.update(grads, reference.init(params), params)
        jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), u1, u2)


def test_bad_hyperparameters():
    with pytest.raises(ValueError, match="learning_rate=-0.1"):
        optim.adam(-0.1)
    with pytest.raises(ValueError, match="beta=1.0"):
        optim.momentum(0.1, beta=1.0)
    with pytest.raises(ValueError, match="decay=1.5"):
        optim.rmsprop(0.1, decay=1.5)
    with pytest.raises(ValueError, match="initial_accumulator=-1"):
        optim.adagrad(0.1, initial_accumulator=-1)
    with pytest.raises(ValueError, match="n_steps=0"):
        optim.trajectory(optim.adam(0.1), rosenbrock, jnp.zeros(2), 0)
