"""helpers.networks.ffnn: hand-written back-propagation equals jax.grad; activations; bad input."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.networks import ffnn, layers


def max_relative_difference(grads_a, grads_b) -> float:
    return max(
        float(jnp.max(jnp.abs(getattr(a, k) - getattr(b, k))) / (jnp.max(jnp.abs(getattr(b, k))) + 1e-300))
        for a, b in zip(grads_a, grads_b, strict=True)
        for k in ("W", "b")
    )


@pytest.mark.parametrize("sizes", [[3, 2], [4, 8, 3], [5, 16, 8, 4, 2]], ids=str)
@pytest.mark.parametrize("activation", sorted(set(ffnn.ACTIVATIONS) - {"identity"}))
@pytest.mark.parametrize("kind", ["mse", "cross_entropy"])
def test_backprop_equals_autodiff_float64(sizes, activation, kind):
    with jax.enable_x64(True):
        key = jax.random.key(len(sizes))
        params = ffnn.init_params(key, sizes, jnp.float64)
        x = jax.random.normal(jax.random.key(1), (11, sizes[0]), jnp.float64)
        if kind == "mse":
            y = jax.random.normal(jax.random.key(2), (11, sizes[-1]), jnp.float64)
        else:
            y = jax.random.randint(jax.random.key(2), (11,), 0, sizes[-1])
        by_hand = ffnn.backprop(params, x, y, activation, kind)
        by_autodiff = jax.grad(ffnn.cost)(params, x, y, activation, kind)
        assert max_relative_difference(by_hand, by_autodiff) < 1e-10


@pytest.mark.parametrize("activation", sorted(ffnn.ACTIVATIONS))
def test_activation_derivatives(activation):
    sigma, sigma_prime = ffnn.ACTIVATIONS[activation]
    z = jnp.linspace(-3.0, 3.0, 61) + 0.01  # avoid the kinks at 0
    np.testing.assert_allclose(sigma_prime(z), jax.vmap(jax.grad(sigma))(z), atol=1e-6)


def test_costs_by_hand():
    assert float(ffnn.mse(jnp.array([[1.0, 2.0], [0.0, 0.0]]), jnp.zeros((2, 2)))) == 2.5
    logits = jnp.array([[0.0, 0.0], [0.0, jnp.log(3.0)]])
    expected = -(np.log(0.5) + np.log(0.75)) / 2
    assert abs(float(ffnn.cross_entropy(logits, jnp.array([0, 1]))) - expected) < 1e-6
    assert float(ffnn.accuracy(logits, jnp.array([0, 1]))) == 1.0
    assert float(ffnn.accuracy(logits, jnp.array([1, 1]))) == 0.5  # a tie goes to class 0


def test_mlp_module_matches_shapes():
    model = layers.MLP([12, 7, 3], "tanh", rngs=nnx.Rngs(0))
    assert model(jnp.ones((5, 3, 4))).shape == (5, 3)


def test_bad_input():
    params = ffnn.init_params(jax.random.key(0), [4, 3, 2])
    x = jnp.ones((5, 4))
    with pytest.raises(ValueError, match="do not chain"):
        ffnn.backprop([params[0], ffnn.Layer(W=jnp.ones((2, 5)), b=jnp.ones(2))], x, jnp.ones((5, 2)))
    with pytest.raises(ValueError, match=r"x has shape \(5, 3\)"):
        ffnn.backprop(params, jnp.ones((5, 3)), jnp.ones((5, 2)))
    with pytest.raises(ValueError, match=r"labels has values in \[0, 2\]"):
        ffnn.backprop(params, x, jnp.array([0, 1, 2, 0, 1]), kind="cross_entropy")
    with pytest.raises(TypeError, match=r"parameter 'y'"):
        ffnn.backprop(params, x, jnp.array([0, 1, 1, 0]), kind="cross_entropy")
    with pytest.raises(ValueError, match=r"y has shape \(5, 3\)"):
        ffnn.backprop(params, x, jnp.ones((5, 3)))
    with pytest.raises(ValueError, match="sizes="):
        ffnn.init_params(jax.random.key(0), [4])
    with pytest.raises(ValueError, match="activation='mish'"):
        layers.MLP([4, 2], "mish", rngs=nnx.Rngs(0))
    with pytest.raises(ValueError, match="expected 12"):
        layers.MLP([12, 2], rngs=nnx.Rngs(0))(jnp.ones((2, 5)))


def test_backprop_under_jit():
    params = ffnn.init_params(jax.random.key(0), [4, 3, 2])
    x, labels = jnp.ones((5, 4)), jnp.array([0, 1, 1, 0, 1])
    jitted = jax.jit(ffnn.backprop, static_argnums=(3, 4))(params, x, labels, "tanh", "cross_entropy")
    eager = ffnn.backprop(params, x, labels, "tanh", "cross_entropy")
    jax.tree.map(lambda a, b: np.testing.assert_allclose(a, b, rtol=1e-6), jitted, eager)
