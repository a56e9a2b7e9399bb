"""helpers.core.train: the one training loop, against hand-written scans; determinism; history; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import optax
import pytest
from flax import nnx

from helpers.core import train, validate
from helpers.core.train import LOOPS
from helpers.networks import ffnn, layers


def tiny_problem():
    x = jax.random.normal(jax.random.key(0), (256, 2))
    y = (x[:, 0] * x[:, 1] > 0).astype(jnp.int32)  # XOR-like: needs the hidden layer
    return x, y


def classification_loss(model, batch, key):
    return ffnn.cross_entropy(model(batch[0]), batch[1])


def counting_step(carry, batch, key):
    """A custom carry (a running sum, a step counter and the last key's bits) and two metrics."""
    total, count, bits = carry
    total = total + jnp.sum(batch["x"])
    noise = jax.random.normal(key, ())
    return (total, count + 1, bits + noise), {"loss": jnp.mean(batch["x"]) + noise, "count": count}


def test_fit_with_a_custom_carry_equals_a_hand_written_scan_bit_for_bit():
    x = jnp.arange(40.0).reshape(20, 2)
    data = {"x": x}
    carry = (jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(()))
    key = jax.random.key(3)
    out, history = train.fit(counting_step, carry, data, key=key, epochs=3, batch_size=6, progress=False)

    expected, losses = carry, []
    for epoch_key in jax.random.split(key, 3):  # the documented recipe, written out
        k_perm, k_steps = jax.random.split(epoch_key)
        order = jax.random.permutation(k_perm, 20)[:18]
        batches = {"x": x[order].reshape(3, 6, 2)}
        expected, metrics = jax.lax.scan(lambda c, xs: counting_step(c, *xs), expected,
                                         (batches, jax.random.split(k_steps, 3)))
        losses.append(metrics["loss"])
    for a, b in zip(out, expected, strict=True):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(history["step_loss"], np.concatenate(losses))
    np.testing.assert_array_equal(history["loss"], np.stack([np.mean(v) for v in losses]))
    assert int(out[1]) == 9  # 3 epochs of 20 // 6 steps: the remainder is left out
    np.testing.assert_array_equal(history["count"], [1.0, 4.0, 7.0])  # per-epoch means of 0..8


def test_gradient_step_trains_nnx_modules_and_parameter_trees_alike_and_is_deterministic():
    x, y = tiny_problem()
    runs = []
    for _ in range(2):
        model = layers.MLP([2, 16, 2], "tanh", rngs=nnx.Rngs(0))
        optimizer = optax.adam(1e-2)
        (trained, _), history = train.fit(
            train.gradient_step(classification_loss, optimizer), train.init(model, optimizer), (x, y),
            key=jax.random.key(1), epochs=30, batch_size=32,
            evaluate=lambda carry: {"acc": ffnn.accuracy(carry[0](x), y)}, progress=False,
        )
        runs.append((history, trained))
    (h1, m1), (h2, m2) = runs
    assert h1["loss"][-1] < 0.5 * h1["loss"][0]
    assert h1["acc"][-1] > 0.9
    assert set(h1) == {"loss", "step_loss", "acc"}
    assert h1["loss"].shape == (30,) and h1["step_loss"].shape == (30 * (256 // 32),)
    for name in h1:  # same key, same numbers
        np.testing.assert_array_equal(h1[name], h2[name])
    np.testing.assert_array_equal(m1(x), m2(x))

    # The same network as a plain dict of parameters trains to the same numbers.
    model = layers.MLP([2, 16, 2], "tanh", rngs=nnx.Rngs(0))
    params = [{"W": layer.kernel[...], "b": layer.bias[...]} for layer in model.layers]

    def dict_loss(p, batch, key):
        hidden = jnp.tanh(batch[0] @ p[0]["W"] + p[0]["b"])
        return ffnn.cross_entropy(hidden @ p[1]["W"] + p[1]["b"], batch[1])

    optimizer = optax.adam(1e-2)
    _, h3 = train.fit(train.gradient_step(dict_loss, optimizer), train.init(params, optimizer), (x, y),
                      key=jax.random.key(1), epochs=30, batch_size=32, progress=False)
    np.testing.assert_allclose(h3["step_loss"], h1["step_loss"], rtol=1e-5, atol=1e-6)


def test_only_nnx_params_are_trained():
    class Scaled(nnx.Module):
        def __init__(self):
            self.w = nnx.Param(jnp.ones(2))
            self.scale = nnx.Variable(jnp.full(2, 3.0))  # a constant, not a parameter

        def __call__(self, x):
            return x * self.w * self.scale

    model = Scaled()
    optimizer = optax.sgd(0.1)
    (trained, _), _ = train.fit(
        train.gradient_step(lambda m, b, k: jnp.sum(m(b) ** 2), optimizer), train.init(model, optimizer),
        jnp.ones((4, 2)), key=jax.random.key(0), epochs=2, batch_size=2, progress=False,
    )
    np.testing.assert_array_equal(trained.scale[...], model.scale[...])
    assert not np.allclose(trained.w[...], model.w[...])


def test_the_steps_loop_equals_the_scanned_epoch():
    x, y = tiny_problem()
    optimizer = optax.adam(1e-2)
    step = train.gradient_step(classification_loss, optimizer)
    results = {}
    for loop in train.LOOPS:
        model = layers.MLP([2, 8, 2], "tanh", rngs=nnx.Rngs(0))
        results[loop] = train.fit(step, train.init(model, optimizer), (x, y), key=jax.random.key(2), epochs=2,
                                  batch_size=64, progress=False, loop=loop)
    (m_scan, _), h_scan = results["scan"]
    (m_steps, _), h_steps = results["steps"]
    np.testing.assert_allclose(h_steps["step_loss"], h_scan["step_loss"], rtol=1e-5)
    np.testing.assert_allclose(m_steps(x), m_scan(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("optimizer", [optax.adam(0.05), optax.lbfgs()], ids=["adam", "lbfgs"])
def test_full_batch_fit_is_one_program_over_all_steps(optimizer):
    x, y = tiny_problem()
    model = layers.MLP([2, 16, 2], "tanh", rngs=nnx.Rngs(0))
    (trained, _), history = train.fit(train.gradient_step(classification_loss, optimizer),
                                      train.init(model, optimizer), (x, y), key=jax.random.key(0), epochs=200)
    assert history["loss"].shape == (200,)
    assert float(classification_loss(trained, (x, y), None)) < 0.3 * float(history["loss"][0])
    np.testing.assert_array_equal(history["loss"][0], classification_loss(model, (x, y), None))


def test_bad_input():
    x, y = tiny_problem()
    step = train.gradient_step(classification_loss, optax.sgd(0.1))
    carry = train.init(layers.MLP([2, 4, 2], rngs=nnx.Rngs(0)), optax.sgd(0.1))
    key = jax.random.key(0)
    with pytest.raises(ValueError, match="first axes"):
        train.fit(step, carry, (x, y[:10]), key=key, epochs=1, batch_size=8)
    with pytest.raises(ValueError, match="batch_size=0"):
        train.fit(step, carry, (x, y), key=key, epochs=1, batch_size=0)
    with pytest.raises(ValueError, match=r"batch_size=300; expected an integer in \[1, 256\]"):
        train.fit(step, carry, (x, y), key=key, epochs=1, batch_size=300)
    for epochs in (0, -2, 1.5):
        with pytest.raises(ValueError, match=f"epochs={epochs}"):
            train.fit(step, carry, (x, y), key=key, epochs=epochs, batch_size=8)
    with pytest.raises(ValueError, match="loop='python'"):
        train.fit(step, carry, (x, y), key=key, epochs=1, batch_size=8, loop="python")
    with pytest.raises(ValueError, match="evaluate needs a batch_size"):
        train.fit(step, carry, (x, y), key=key, epochs=1, evaluate=lambda c: {})
    with pytest.raises(ValueError, match="data is empty"):
        train.fit(step, carry, None, key=key, epochs=1, batch_size=8)


def labelled_loss(model, batch, key):
    """A classification loss whose labels go through the value rule, so it holds inside fit's program."""
    labels = validate.labels("labels", batch[1], 10)
    return ffnn.cross_entropy(model(batch[0]), labels)


@pytest.mark.parametrize("loop", LOOPS)
def test_a_value_rule_inside_the_step_stops_fit_with_a_value_error(loop):
    x = jax.random.normal(jax.random.key(0), (32, 2))
    step = train.gradient_step(labelled_loss, optax.sgd(0.1))
    carry = train.init(layers.MLP([2, 4, 10], rngs=nnx.Rngs(0)), optax.sgd(0.1))
    key = jax.random.key(0)
    good = jnp.arange(32) % 10  # labels 0..9 train
    train.fit(step, carry, (x, good), key=key, epochs=1, batch_size=8, loop=loop, progress=False)
    bad = good + 1  # labels 1..10 for ten classes: 10 would be clamped to 9 without the rule
    pattern = r"labels has values outside \[0, 9\].*\(found inside train\.fit, epoch 1\)"
    with pytest.raises(ValueError, match=pattern):
        train.fit(step, carry, (x, bad), key=key, epochs=1, batch_size=8, loop=loop, progress=False)
    with pytest.raises(ValueError, match=r"labels has .*\(found inside train\.fit\)"):  # full batch too
        train.fit(step, carry, (x, bad), key=key, epochs=1, progress=False)


def test_nan_in_the_data_is_refused_by_name():
    x, y = tiny_problem()
    step = train.gradient_step(classification_loss, optax.sgd(0.1))
    carry = train.init(layers.MLP([2, 4, 2], rngs=nnx.Rngs(0)), optax.sgd(0.1))
    x = x.at[5, 1].set(jnp.nan)
    with pytest.raises(ValueError, match=r"data\[0\] has 1 NaN or infinite values"):
        train.fit(step, carry, (x, y), key=jax.random.key(0), epochs=1, batch_size=8)
    with pytest.raises(ValueError, match=r"data\['x'\] has 1 NaN"):
        train.fit(counting_step, (0.0, 0, 0.0), {"x": x}, key=jax.random.key(0), epochs=1, batch_size=8)


def test_lists_of_numbers_are_arrays_and_ragged_lists_are_refused_by_name():
    carry = (jnp.zeros(()), jnp.zeros((), jnp.int32), jnp.zeros(()))
    rows = [[float(2 * i), float(2 * i + 1)] for i in range(20)]
    key = jax.random.key(3)
    from_list = train.fit(counting_step, carry, {"x": rows}, key=key, epochs=2, batch_size=6, progress=False)
    from_array = train.fit(counting_step, carry, {"x": jnp.arange(40.0).reshape(20, 2)}, key=key, epochs=2,
                           batch_size=6, progress=False)
    np.testing.assert_array_equal(from_list[1]["step_loss"], from_array[1]["step_loss"])
    with pytest.raises(ValueError, match=r"data\['x'\] cannot be read as an array"):
        train.fit(counting_step, carry, {"x": [[1.0, 2.0], [3.0]]}, key=key, epochs=1, batch_size=1)
    with pytest.raises(ValueError, match=r"data\['x'\] has 1 NaN"):
        train.fit(counting_step, carry, {"x": [1.0, float("nan")]}, key=key, epochs=1, batch_size=1)
