"""helpers.optim: each hand-written optimiser follows Optax's trajectory; the training loop works."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers import ffnn, optim, train


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
    with pytest.raises(ValueError, match="n_steps=0"):
        optim.trajectory(optim.adam(0.1), rosenbrock, jnp.zeros(2), 0)


def tiny_problem():
    x = jax.random.normal(jax.random.key(0), (256, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(jnp.int32)  # XOR-like: needs the hidden layer
    return x, y


def loss_fn(model, batch, key):
    return ffnn.cross_entropy(model(batch[0]), batch[1])


def test_fit_decreases_the_loss_and_is_deterministic():
    x, y = tiny_problem()
    runs = []
    for _ in range(2):
        model = ffnn.MLP([2, 16, 2], "tanh", rngs=nnx.Rngs(0))
        history = train.fit(
            model, optax.adam(1e-2), loss_fn, (x, y), key=jax.random.key(1), epochs=30,
            batch_size=32, evaluate=lambda m: {"acc": ffnn.accuracy(m(x), y)}, progress=False,
        )
        runs.append((history, model))
    (h1, m1), (h2, m2) = runs
    assert h1["loss"][-1] < 0.5 * h1["loss"][0]
    assert h1["acc"][-1] > 0.9 and len(h1["step_loss"]) == 30 * (256 // 32)
    assert h1 == h2  # same key, same numbers
    np.testing.assert_array_equal(m1(x), m2(x))


def test_fit_bad_input():
    x, y = tiny_problem()
    model = ffnn.MLP([2, 4, 2], rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="first axes"):
        train.fit(model, optax.sgd(0.1), loss_fn, (x, y[:10]), key=jax.random.key(0), epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="batch_size=0"):
        train.fit(model, optax.sgd(0.1), loss_fn, (x, y), key=jax.random.key(0), epochs=1, batch_size=0)
    with pytest.raises(ValueError, match="epochs=0"):
        train.fit(model, optax.sgd(0.1), loss_fn, (x, y), key=jax.random.key(0), epochs=0, batch_size=8)


@pytest.mark.parametrize("optimizer", [optax.adam(0.05), optax.lbfgs()], ids=["adam", "lbfgs"])
def test_fit_full_batch(optimizer):
    x, y = tiny_problem()
    model = ffnn.MLP([2, 16, 2], "tanh", rngs=nnx.Rngs(0))
    losses = train.fit_full_batch(model, optimizer, loss_fn, (x, y), steps=200)
    assert losses.shape == (200,)
    assert float(loss_fn(model, (x, y), None)) < 0.3 * float(losses[0])  # the model object was updated
    with pytest.raises(ValueError, match="steps=0"):
        train.fit_full_batch(model, optimizer, loss_fn, (x, y), steps=0)
