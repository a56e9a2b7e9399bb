"""helpers.networks.attention against Flax's and JAX's attention, and its symmetries."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.networks import attention

KEY = jax.random.key(0)


def _qkv(shape_q, shape_k, dv):
    kq, kk, kv = jax.random.split(KEY, 3)
    return (
        jax.random.normal(kq, shape_q),
        jax.random.normal(kk, shape_k),
        jax.random.normal(kv, (*shape_k[:-1], dv)),
    )


@pytest.mark.parametrize("masked", [False, True])
def test_attention_matches_jax(masked):
    q, k, v = _qkv((2, 3, 5, 8), (2, 3, 7, 8), 8)
    mask = jax.random.bernoulli(jax.random.key(1), 0.7, (2, 3, 5, 7)).at[..., 0].set(True) if masked else None
    out, weights = attention.scaled_dot_product_attention(q, k, v, mask)
    t = lambda x: jnp.swapaxes(x, 1, 2)  # noqa: E731  (JAX puts the sequence before the heads)
    want = jax.nn.dot_product_attention(t(q), t(k), t(v), mask=None if mask is None else mask)
    np.testing.assert_allclose(out, t(want), atol=1e-6)
    np.testing.assert_allclose(weights.sum(-1), 1.0, atol=1e-6)
    if masked:
        assert np.all(np.asarray(weights)[~np.asarray(mask)] == 0)


def test_multi_head_matches_flax():
    mine = attention.MultiHeadAttention(16, 4, rngs=nnx.Rngs(0))
    flax_mha = nnx.MultiHeadAttention(num_heads=4, in_features=16, decode=False, rngs=nnx.Rngs(1))
    for a, b in [(mine.query, flax_mha.query), (mine.key, flax_mha.key), (mine.value, flax_mha.value)]:
        b.kernel[...] = a.kernel[...].reshape(16, 4, 4)
        b.bias[...] = a.bias[...].reshape(4, 4)
    flax_mha.out.kernel[...] = mine.out.kernel[...].reshape(4, 4, 16)
    flax_mha.out.bias[...] = mine.out.bias[...]
    x = jax.random.normal(KEY, (3, 7, 16))
    mask = attention.causal_mask(7)
    np.testing.assert_allclose(mine(x), flax_mha(x), atol=1e-5)
    np.testing.assert_allclose(mine(x, mask), flax_mha(x, mask=mask), atol=1e-5)


def test_permutation_equivariance_and_positions():
    x = jax.random.normal(KEY, (2, 9, 3))
    perm = jax.random.permutation(jax.random.key(3), 9)
    plain = jax.jit(attention.Transformer(3, 16, 2, 2, 4, positions=None, rngs=nnx.Rngs(0)))
    np.testing.assert_allclose(plain(x[:, perm]), plain(x)[:, perm], atol=1e-5)
    with_positions = jax.jit(attention.Transformer(3, 16, 2, 2, 4, positions="sinusoidal", rngs=nnx.Rngs(0)))
    assert not np.allclose(with_positions(x[:, perm]), with_positions(x)[:, perm], atol=1e-3)


def test_causal_jacobian_blocks_vanish():
    model = attention.Transformer(
        2, 16, 4, 2, 3, positions="learned", max_len=8, causal=True, rngs=nnx.Rngs(0)
    )
    x = jax.random.normal(KEY, (6, 2))
    jac = jax.jit(jax.jacobian(lambda z: model(z[None])[0]))(x)  # (6, 3, 6, 2): d out_i / d x_j
    later = np.triu(np.ones((6, 6), bool), k=1)
    assert np.all(np.asarray(jac).transpose(0, 2, 1, 3)[later] == 0)
    assert np.all(np.abs(np.asarray(jac).transpose(0, 2, 1, 3)[~later]).sum((-1, -2)) > 0)


def test_linear_attention_is_the_kernel_sum():
    q, k, v = _qkv((4, 5, 3), (4, 7, 3), 2)
    want = np.einsum("bid,bjd,bje->bie", q, k, v) / 7
    np.testing.assert_allclose(attention.linear_attention(q, k, v), want, atol=1e-5)


def test_flop_count_and_sinusoids():
    block = attention.Block(16, 4, rngs=nnx.Rngs(0))
    for n in (8, 33):
        assert attention.matmul_flops(block, jnp.ones((n, 16))) == attention.block_flops(n, 16)
    pos = np.asarray(attention.sinusoidal_positions(5, 8))
    np.testing.assert_allclose(pos[3, :4], np.sin(3 * 10_000.0 ** (-np.arange(4) / 4)), atol=1e-6)
    np.testing.assert_allclose(pos[3, 4:], np.cos(3 * 10_000.0 ** (-np.arange(4) / 4)), atol=1e-6)
