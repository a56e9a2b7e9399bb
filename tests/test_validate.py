"""The value rules of helpers.core.validate hold eagerly, inside jax.jit and inside train.fit; shaped
states and checks shapes; a rule's stop inside compiled code reads as the eager error."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from jaxtyping import Float, Int

from helpers.core import train, validate
from helpers.core.validate import AnyArray, shaped

RULES = [  # (rule, a bad array, the name the message must carry)
    (lambda x: validate.spins("spins", x), jnp.array([1, 0, -1]), "spins"),
    (lambda x: validate.labels("labels", x, 10), jnp.array([1, 10]), "labels"),
    (lambda x: validate.unit_interval("pixels", x), jnp.array([0.5, 255.0]), "pixels"),
    (lambda x: validate.time_index("t", x, 5), jnp.array([0, 3]), "t"),
    (lambda x: validate.finite("data", x), jnp.array([1.0, np.nan]), "data"),
    (lambda x: validate.integers_in("index", x, 0, 3), jnp.array([4]), "index"),
]


@pytest.mark.parametrize(("rule", "bad", "name"), RULES)
def test_rule_refuses_bad_values_eagerly_and_inside_jit(rule, bad, name):
    with pytest.raises(ValueError, match=f"^{name} has"):
        rule(bad)
    with pytest.raises(Exception, match=rf"\[value check\] {name} has"):
        jax.jit(lambda x: rule(x).sum())(bad).block_until_ready()


@pytest.mark.parametrize(("rule", "bad", "name"), RULES)
def test_rule_returns_good_values_unchanged(rule, bad, name):
    good = {"spins": jnp.array([1, -1]), "labels": jnp.array([0, 9]), "pixels": jnp.array([0.0, 1.0]),
            "t": jnp.array([1, 5]), "data": jnp.array([1.0, -2.0]), "index": jnp.array([0, 3])}[name]
    np.testing.assert_array_equal(rule(good), good)
    np.testing.assert_array_equal(jax.jit(rule)(good), good)


def test_rule_inside_fit_names_the_epoch():
    def step(carry, batch, key):
        labels = validate.labels("labels", batch, 10)
        return carry + labels.sum(), {"loss": jnp.float32(0)}

    bad = jnp.concatenate([jnp.arange(10), jnp.arange(1, 11)])  # the second epoch's batches hold a 10
    with pytest.raises(ValueError, match=r"labels has values outside \[0, 9\].*inside train\.fit, epoch 1"):
        train.fit(step, jnp.int32(0), bad, key=jax.random.key(0), epochs=2, batch_size=20, progress=False)
    carry, _ = train.fit(step, jnp.int32(0), jnp.arange(10), key=jax.random.key(0), epochs=2, batch_size=5,
                         progress=False)
    assert int(carry) == 90


def test_fit_refuses_nan_data_by_name():
    def step(carry, batch, key):
        return carry, {"loss": jnp.float32(0)}

    data = {"x": jnp.ones((4, 2)), "y": jnp.array([0.0, 1.0, np.inf, 2.0])}
    with pytest.raises(ValueError, match=r"data\['y'\] has 1 NaN or infinite values"):
        train.fit(step, 0.0, data, key=jax.random.key(0), epochs=1, batch_size=2, progress=False)


@shaped
def _loss(logits: Float[AnyArray, "batch classes"], labels: Int[AnyArray, " batch"]) -> jax.Array:
    return -jnp.take_along_axis(jax.nn.log_softmax(logits), labels[:, None], axis=1).mean()


def test_shaped_checks_named_dimensions_at_call_and_trace():
    logits, labels = jnp.zeros((4, 3)), jnp.array([0, 1, 2, 0])
    assert np.isclose(_loss(logits, labels), np.log(3))
    assert np.isclose(_loss(np.zeros((4, 3), np.float32), np.array([0, 1, 2, 0])), np.log(3))  # NumPy too
    with pytest.raises(TypeError, match=r"parameter 'labels'(.|\n)*i32\[3\](.|\n)*batch=4"):
        _loss(logits, labels[:3])  # a batch of 3 labels for 4 examples: broadcasting would hide it
    with pytest.raises(TypeError, match=r"parameter 'labels'(.|\n)*f32\[4\]"):
        jax.jit(_loss)(logits, jnp.zeros(4))  # float labels, caught while tracing
    with pytest.raises(TypeError, match=r"parameter 'logits'"):
        _loss([[0.0, 0.0, 0.0]], [0])  # a list where an array belongs, refused by name
