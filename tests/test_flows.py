"""helpers.generative.flows against autodiff Jacobians, closed forms and exact Gaussian cases."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.generative import flows

D = 6


def _randomised(module, key, scale=0.4):
    """``module`` with every parameter moved off its (identity) initial value."""
    graphdef, params, rest = nnx.split(module, nnx.Param, ...)
    leaves, tree = jax.tree.flatten(params)
    keys = jax.random.split(key, len(leaves))
    moved = [leaf + scale * jax.random.normal(k, leaf.shape) for leaf, k in zip(leaves, keys, strict=True)]
    return nnx.merge(graphdef, jax.tree.unflatten(tree, moved), rest)


def _bijections():
    rngs = nnx.Rngs(0)
    return {
        "coupling (alternate)": flows.AffineCoupling(flows.checkerboard_mask((D,)), [16], rngs=rngs),
        "coupling (halves)": flows.AffineCoupling(flows.half_mask(D, first=False), [8, 8], rngs=rngs),
        "coupling (2x3 checkerboard)": flows.AffineCoupling(
            flows.checkerboard_mask((2, 3), 1), [8], rngs=rngs
        ),
        "actnorm": flows.ActNorm(D),
        "invertible linear": flows.InvertibleLinear(D, rngs=rngs),
        "permutation": flows.Permutation(np.array([3, 0, 5, 1, 4, 2])),
    }


@pytest.mark.parametrize("name", list(_bijections()))
def test_log_determinant_is_slogdet_of_the_jacobian_and_inverse_inverts(name):
    layer = _randomised(_bijections()[name], jax.random.key(1))
    with jax.enable_x64(True):
        layer = jax.tree.map(
            lambda a: jnp.asarray(a, jnp.float64) if jnp.issubdtype(a.dtype, jnp.floating) else a, layer
        )
        x = jax.random.normal(jax.random.key(2), (5, D), jnp.float64)
        y, log_det = layer(x)
        jac = jax.vmap(jax.jacobian(lambda v: layer(v[None])[0][0]))(x)
        np.testing.assert_allclose(log_det, jnp.linalg.slogdet(jac)[1], atol=1e-10)
        x_back, log_det_inv = layer.inverse(y)
        np.testing.assert_allclose(x_back, x, atol=1e-10)
        np.testing.assert_allclose(log_det_inv, -log_det, atol=1e-10)


def test_coupling_jacobian_is_triangular_with_the_kept_entries_first():
    mask = flows.checkerboard_mask((D,))
    layer = _randomised(flows.AffineCoupling(mask, [16], rngs=nnx.Rngs(3)), jax.random.key(4))
    x = jax.random.normal(jax.random.key(5), (D,))
    jac = np.asarray(jax.jacobian(lambda v: layer(v[None])[0][0])(x))
    order = np.argsort(-mask, kind="stable")  # kept entries first
    permuted = jac[np.ix_(order, order)]
    assert np.allclose(np.triu(permuted, 1), 0.0)
    assert np.allclose(jac[np.ix_(mask == 1, mask == 1)], np.eye(int(mask.sum())))


def test_logit_transform_log_determinant_and_inverse():
    logit = flows.Logit(0.05)
    with jax.enable_x64(True):
        x = jax.random.uniform(jax.random.key(6), (4, D), jnp.float64)
        y, log_det = logit(x)
        jac = jax.vmap(jax.jacobian(lambda v: logit(v[None])[0][0]))(x)
        np.testing.assert_allclose(log_det, jnp.linalg.slogdet(jac)[1], atol=1e-10)
        np.testing.assert_allclose(logit.inverse(y)[0], x, atol=1e-10)


def test_actnorm_data_dependent_initialisation_gives_zero_mean_and_unit_variance():
    x = 3.0 + 2.5 * jax.random.normal(jax.random.key(7), (500, D)) * jnp.arange(1, D + 1)
    layer = flows.ActNorm(D)
    layer.initialize(x)
    y, _ = layer(x)
    np.testing.assert_allclose(y.mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(y.std(axis=0), 1.0, atol=1e-4)


def test_flow_sample_density_equals_log_prob_and_flow_initialize():
    rngs = nnx.Rngs(8)
    layers = [
        flows.ActNorm(D),
        flows.AffineCoupling(flows.checkerboard_mask((D,)), [16], rngs=rngs),
        flows.InvertibleLinear(D, rngs=rngs),
        flows.ActNorm(D),
        flows.AffineCoupling(flows.checkerboard_mask((D,), 1), [16], rngs=rngs),
    ]
    flow = _randomised(flows.Flow(layers), jax.random.key(9), 0.2)
    data = 5.0 + 3.0 * jax.random.normal(jax.random.key(10), (400, D))
    flows.initialize(flow, data)
    z, _ = flow.layers[0](data)
    np.testing.assert_allclose(z.std(axis=0), 1.0, atol=1e-4)
    x, log_q = flow.sample(jax.random.key(11), 50, D)
    np.testing.assert_allclose(log_q, flow.log_prob(x), atol=2e-3)


def test_flow_density_integrates_to_one_in_two_dimensions():
    rngs = nnx.Rngs(12)
    flow = _randomised(
        flows.Flow(
            [flows.AffineCoupling(flows.checkerboard_mask((2,), p), [8], rngs=rngs) for p in (0, 1, 0)]
        ),
        jax.random.key(13),
        0.1,
    )
    grid = jnp.linspace(-10, 10, 401)
    xy = jnp.stack(jnp.meshgrid(grid, grid), -1).reshape(-1, 2)
    mass = float(jnp.sum(jnp.exp(flow.log_prob(xy))) * (grid[1] - grid[0]) ** 2)
    assert abs(mass - 1) < 1e-3


def test_reverse_kl_of_an_exact_flow_is_minus_log_z():
    # target exp(-S), S = |x|^2 / (2 s^2): Z = (2 pi s^2)^(d/2); a flow scaling N(0, I) by s is exact
    s, d = 0.7, 4
    layer = flows.ActNorm(d)
    layer.log_scale[...] = jnp.full(d, math.log(s))
    flow = flows.Flow([layer])
    loss = flows.reverse_kl(
        flow, None, jax.random.key(14), lambda x: jnp.sum(x**2, (1, 2)) / (2 * s**2), n=64, shape=(2, 2)
    )
    np.testing.assert_allclose(loss, -0.5 * d * math.log(2 * math.pi * s**2), atol=1e-5)


def test_dequantize_and_the_discrete_bound():
    pixels = jnp.array([[0, 255, 17, 128]])
    x = flows.dequantize(jax.random.key(15), pixels)
    assert jnp.all((x >= pixels / 256) & (x < (pixels + 1) / 256))
    # a uniform density on [0, 1)^D gives the discrete bound D log 256 nats exactly
    uniform = flows.Flow([flows.Permutation(np.arange(4))])
    uniform.log_prob = lambda x: jnp.zeros(x.shape[0])
    nll = float(flows.dequantized_nll(uniform, pixels, jax.random.key(16)))
    assert nll == pytest.approx(4 * math.log(256))


def test_effective_sample_size_and_reweighting_are_unbiased_on_a_gaussian():
    assert float(flows.effective_sample_size(jnp.zeros(10))) == pytest.approx(1.0)
    assert float(flows.effective_sample_size(jnp.array([0.0, -200.0, -200.0, -200.0]))) == pytest.approx(0.25)
    # proposal N(0, 1.5^2), target N(0.3, 1): <x> = 0.3, <x^2> = 1.09
    x = 1.5 * jax.random.normal(jax.random.key(17), (200_000,))
    log_w = -0.5 * (x - 0.3) ** 2 + 0.5 * (x / 1.5) ** 2
    mean, se = flows.reweight(log_w, jnp.stack([x, x**2], axis=1))
    assert np.all(np.abs(np.asarray(mean) - [0.3, 1.09]) < 4 * np.asarray(se))
    assert np.all(np.asarray(se) < 0.01)
