"""Recurrent cells: BPTT by hand, Flax's cells, Jacobian norms, the network."""

import jax
import jax.numpy as jnp
import numpy as np
import pytest
from flax import nnx

from helpers.networks import rnn

KEY = jax.random.key(0)


def test_bptt_equals_jax_grad_in_float64():
    with jax.enable_x64(True):
        k = jax.random.split(KEY, 4)
        params = rnn.ElmanNetwork(
            *rnn.init_params(k[0], "elman", 2, 6, jnp.float64),
            V=jax.random.normal(k[1], (6, 3), jnp.float64),
            c=jnp.ones(3, jnp.float64),
        )
        xs, ys = (
            jax.random.normal(k[2], (4, 12, 2), jnp.float64),
            jax.random.normal(k[3], (4, 12, 3), jnp.float64),
        )
        by_hand, by_autodiff = rnn.elman_bptt(params, xs, ys), jax.grad(rnn.elman_loss)(params, xs, ys)
        for a, b in zip(by_hand, by_autodiff, strict=True):
            np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-13)


def _flax_lstm_weights(cell):
    join = lambda layers, what: jnp.concatenate([getattr(l, what)[...] for l in layers], axis=-1)  # noqa: E731, E741
    return rnn.CellParams(
        Wx=join([cell.ii, cell.if_, cell.ig, cell.io], "kernel"),
        Wh=join([cell.hi, cell.hf, cell.hg, cell.ho], "kernel"),
        b=join([cell.hi, cell.hf, cell.hg, cell.ho], "bias"),
    )


def test_cells_equal_flax():
    k = jax.random.split(KEY, 3)
    x, h, c = (
        jax.random.normal(k[0], (3, 4)),
        jax.random.normal(k[1], (3, 5)),
        jax.random.normal(k[2], (3, 5)),
    )
    lstm, gru = nnx.LSTMCell(4, 5, rngs=nnx.Rngs(1)), nnx.GRUCell(4, 5, rngs=nnx.Rngs(1))
    (c_flax, h_flax), _ = lstm((c, h), x)
    c_ours, h_ours = rnn.lstm_cell(_flax_lstm_weights(lstm), (c, h), x)
    np.testing.assert_allclose(c_ours, c_flax, atol=1e-6)
    np.testing.assert_allclose(h_ours, h_flax, atol=1e-6)
    weights = rnn.CellParams(Wx=gru.dense_i.kernel[...], Wh=gru.dense_h.kernel[...], b=gru.dense_i.bias[...])
    np.testing.assert_allclose(rnn.gru_cell(weights, h, x), gru(h, x)[0], atol=1e-6)


def test_unroll_matches_a_python_loop():
    params = rnn.init_params(KEY, "lstm", 3, 4)
    xs = jax.random.normal(KEY, (2, 7, 3))
    hs, (c, h) = rnn.unroll("lstm", params, xs)
    state = rnn.zero_state("lstm", 2, 4)
    for t in range(7):
        state = rnn.lstm_cell(params, state, xs[:, t])
        np.testing.assert_allclose(hs[:, t], state[1], atol=1e-6)
    np.testing.assert_allclose(h, state[1], atol=1e-6)


@pytest.mark.parametrize("rho", [0.8, 1.2])
def test_linear_jacobian_norms_are_powers_of_an_orthogonal_matrix(rho):
    q, _ = jnp.linalg.qr(jax.random.normal(KEY, (6, 6)))
    params = rnn.CellParams(Wx=jnp.ones((1, 6)), Wh=rho * q, b=jnp.zeros(6))
    norms = rnn.state_jacobian_norms("linear", params, jnp.ones((1, 10, 1)))
    np.testing.assert_allclose(norms, rho ** np.arange(10, 0, -1), rtol=1e-4)  # ||(rho Q)^k|| = rho^k


def test_recurrent_step_equals_call():
    model = rnn.Recurrent("gru", 3, 8, 2, rngs=nnx.Rngs(0))
    xs = jax.random.normal(KEY, (4, 5, 3))
    state, outs = model.initial_state(4), []
    for t in range(5):
        state, y = model.step(state, xs[:, t])
        outs.append(y)
    np.testing.assert_allclose(jnp.stack(outs, 1), model(xs), atol=1e-5)
    assert rnn.init_params(KEY, "lstm", 3, 4).b[4:8].tolist() == [1.0] * 4  # forget gate starts open
