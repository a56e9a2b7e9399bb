"""Convolutions against their definition, SciPy and XLA; symmetry; gradients; the layers."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
import scipy.signal
from flax import nnx

from helpers.networks import conv

KEY = jax.random.key(0)


def test_sum_definition_equals_scipy():
    k1, k2 = jax.random.split(KEY)
    x, w = jax.random.normal(k1, (11, 9)), jax.random.normal(k2, (3, 4))
    expected = scipy.signal.correlate2d(np.asarray(x), np.asarray(w), mode="valid")
    np.testing.assert_allclose(conv.correlate2d_sum(x, w), expected, atol=1e-5)


@pytest.mark.parametrize("padding", ["valid", "zero"])
@pytest.mark.parametrize("size", [1, 3, 5])
def test_patch_form_equals_xla(padding, size):
    k1, k2, k3 = jax.random.split(KEY, 3)
    x, w, b = (
        jax.random.normal(k1, (2, 10, 12, 3)),
        jax.random.normal(k2, (size, size, 3, 5)),
        jax.random.normal(k3, (5,)),
    )
    xla_padding = "VALID" if padding == "valid" else "SAME"
    ref = (
        jax.lax.conv_general_dilated(x, w, (1, 1), xla_padding, dimension_numbers=("NHWC", "HWIO", "NHWC"))
        + b
    )
    np.testing.assert_allclose(conv.conv2d(x, w, b, padding), ref, atol=1e-4)


def test_periodic_padding_is_a_circular_correlation():
    k1, k2 = jax.random.split(KEY)
    x, w = jax.random.normal(k1, (1, 6, 6, 1)), jax.random.normal(k2, (3, 3, 1, 1))
    y = conv.conv2d(x, w, padding="periodic")[0, :, :, 0]
    xs, ws = np.asarray(x[0, :, :, 0]), np.asarray(w[:, :, 0, 0])
    by_hand = np.array(
        [
            [
                sum(ws[m, n] * xs[(i + m - 1) % 6, (j + n - 1) % 6] for m in range(3) for n in range(3))
                for j in range(6)
            ]
            for i in range(6)
        ]
    )
    np.testing.assert_allclose(y, by_hand, atol=1e-5)


def test_toeplitz_matrix_equals_the_correlation():
    k1, k2 = jax.random.split(KEY)
    x, w = jax.random.normal(k1, (7, 5)), jax.random.normal(k2, (3, 2))
    T = conv.toeplitz_matrix(w, 7, 5)
    assert T.shape == (5 * 4, 35)
    np.testing.assert_allclose(T @ x.ravel(), conv.correlate2d_sum(x, w).ravel(), atol=1e-5)
    assert int(jnp.sum(T != 0)) <= 20 * 6  # each row holds the six weights, nothing else


def test_equivariance_exact_with_periodic_padding():
    k1, k2 = jax.random.split(KEY)
    x, w = jax.random.normal(k1, (2, 8, 8, 2)), jax.random.normal(k2, (3, 3, 2, 3))
    shift = lambda a: jnp.roll(a, (3, -2), axis=(1, 2))  # noqa: E731
    np.testing.assert_allclose(
        conv.conv2d(shift(x), w, padding="periodic"), shift(conv.conv2d(x, w, padding="periodic")), atol=1e-5
    )
    zero_gap = jnp.abs(conv.conv2d(shift(x), w, padding="zero") - shift(conv.conv2d(x, w, padding="zero")))
    assert float(zero_gap.max()) > 1e-2  # zero padding breaks it at the edges


def test_input_gradient_is_correlation_with_flipped_kernel():
    k1, k2, k3 = jax.random.split(KEY, 3)
    x, w, g = jax.random.normal(k1, (9, 8)), jax.random.normal(k2, (3, 3)), jax.random.normal(k3, (7, 6))
    by_autodiff = jax.grad(lambda x: jnp.sum(g * conv.correlate2d_sum(x, w)))(x)
    np.testing.assert_allclose(conv.correlate2d_sum(jnp.pad(g, 2), w[::-1, ::-1]), by_autodiff, atol=1e-5)


def test_max_pool_value_and_gradient():
    x = jax.random.normal(KEY, (2, 6, 4, 3))
    ref = jax.lax.reduce_window(x, -jnp.inf, jax.lax.max, (1, 2, 2, 1), (1, 2, 2, 1), "VALID")
    np.testing.assert_array_equal(conv.max_pool(x), ref)
    g = jax.random.normal(jax.random.key(1), ref.shape)
    ours = jax.grad(lambda x: jnp.sum(g * conv.max_pool(x)))(x)
    theirs = jax.grad(lambda x: jnp.sum(g * x.reshape(2, 3, 2, 2, 2, 3).max(axis=(2, 4))))(x)
    np.testing.assert_allclose(ours, theirs, atol=1e-6)


def test_cnn_shapes_and_lattice_cnn_accepts_any_size():
    model = conv.CNN((1, 4, 8), (7 * 7 * 8, 16, 10), rngs=nnx.Rngs(0))
    assert model(jnp.ones((3, 28, 28))).shape == (3, 10)
    assert [m.shape for m in model.feature_maps(jnp.ones((3, 28, 28)))] == [(3, 14, 14, 4), (3, 7, 7, 8)]
    lattice = conv.LatticeCNN((1, 4, 4), rngs=nnx.Rngs(0))
    spins = jnp.where(jax.random.bernoulli(KEY, 0.5, (2, 16, 16)), 1, -1).astype(jnp.int8)
    for L in (8, 16, 24):
        assert lattice(jnp.ones((2, L, L), jnp.int8)).shape == (2, 2)
    np.testing.assert_allclose(
        lattice(jnp.roll(spins, 5, axis=1)), lattice(spins), atol=1e-5
    )  # invariant on the torus


def test_bad_head_width_is_named():
    with pytest.raises(ValueError, match="dense\\[0\\] expects 100"):
        conv.CNN((1, 4), (100, 10), rngs=nnx.Rngs(0))(jnp.ones((1, 8, 8)))
