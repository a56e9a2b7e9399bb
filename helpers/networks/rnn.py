# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Recurrent cells written from their equations, unrolled with ``lax.scan``, and back-propagation
through time (BPTT) by hand.

Sequences are batch first, ``xs (n, T, D)``; a cell maps ``(state, x_t (n, D))`` to the next state,
and its output is the hidden state ``h_t (n, H)``.  The three cells (the gate order is Flax's):

* Elman: :math:`h_t = \tanh(W h_{t-1} + U x_t + b)`.
* LSTM: :math:`i, f, o = \sigma(\cdot)`, :math:`g = \tanh(\cdot)` of
  :math:`W_\ast x_t + U_\ast h_{t-1} + b_\ast`;
  :math:`c_t = f\odot c_{t-1} + i\odot g`, :math:`h_t = o\odot\tanh(c_t)`.
* GRU: :math:`r, z = \sigma(W_\ast x_t + b_\ast + U_\ast h_{t-1})`,
  :math:`n = \tanh(W_n x_t + b_n + r\odot U_n h_{t-1})`, :math:`h_t = (1 - z)\odot n + z\odot h_{t-1}`.

Parameters are :class:`CellParams` records: input weights ``Wx (D, G H)``, recurrent ``Wh (H, G H)``,
bias ``b (G H,)`` with ``G = 1, 4, 3`` gates; rows multiply, ``x @ Wx`` (the transpose of the equations'
matrices).  :class:`ElmanNetwork` adds a linear read-out ``V (H, K)``, ``c (K,)``.
"""

from __future__ import annotations

from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped

GATES = {"elman": 1, "lstm": 4, "gru": 3}


class CellParams(NamedTuple):
    """A cell's parameters, ``G`` gates of width ``H`` (``params.Wx``, ``params.Wh``, ``params.b``)."""

    Wx: Float[Array, "D GH"]  #: input weights, the transpose of the equations' U
    Wh: Float[Array, "H GH"]  #: recurrent weights, the transpose of W
    b: Float[Array, " GH"]  #: bias


class ElmanNetwork(NamedTuple):
    r"""An Elman cell with a linear read-out :math:`\hat y_t = V h_t + c` (:func:`elman_loss`):
    ``ElmanNetwork(*init_params(key, "elman", D, H), V=..., c=...)``."""

    Wx: Float[Array, "D H"]
    Wh: Float[Array, "H H"]
    b: Float[Array, " H"]
    V: Float[Array, "H K"]  #: read-out weights, the transpose of the equations' V
    c: Float[Array, " K"]  #: read-out bias


def elman_cell(params: CellParams, h: jax.Array, x: jax.Array) -> jax.Array:
    r""":math:`h_t = \tanh(W h_{t-1} + U x_t + b)`: ``h (n, H)``, ``x (n, D)`` -> ``(n, H)``."""
    return jnp.tanh(h @ params.Wh + x @ params.Wx + params.b)


def lstm_cell(params: CellParams, state: tuple[jax.Array, jax.Array],
              x: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""One LSTM step on ``state = (c, h)``, each ``(n, H)``:
    :math:`c_t = f\odot c_{t-1} + i\odot g`, :math:`h_t = o\odot\tanh(c_t)`, gates from
    :math:`W_\ast x_t + U_\ast h_{t-1} + b_\ast` in the order ``i, f, g, o``."""
    c, h = state
    i, f, g, o = jnp.split(x @ params.Wx + h @ params.Wh + params.b, 4, axis=-1)
    c = jax.nn.sigmoid(f) * c + jax.nn.sigmoid(i) * jnp.tanh(g)
    return c, jax.nn.sigmoid(o) * jnp.tanh(c)


def gru_cell(params: CellParams, h: jax.Array, x: jax.Array) -> jax.Array:
    r"""One GRU step: :math:`r, z = \sigma(W x + b + U h)` (order ``r, z, n``),
    :math:`n = \tanh(W_n x + b_n + r\odot U_n h)`, :math:`h_t = (1 - z)\odot n + z\odot h_{t-1}`."""
    xr, xz, xn = jnp.split(x @ params.Wx + params.b, 3, axis=-1)
    hr, hz, hn = jnp.split(h @ params.Wh, 3, axis=-1)
    r, z = jax.nn.sigmoid(xr + hr), jax.nn.sigmoid(xz + hz)
    return (1.0 - z) * jnp.tanh(xn + r * hn) + z * h


CELLS = {"elman": elman_cell, "lstm": lstm_cell, "gru": gru_cell}


def hidden(kind: str, state):
    """The hidden state ``h (n, H)`` of a cell's state (the LSTM's is ``(c, h)``)."""
    return state[1] if kind == "lstm" else state


def zero_state(kind: str, n: int, width: int, dtype=jnp.float32):
    """The initial state: zeros ``(n, H)`` (a pair of them for the LSTM)."""
    h = jnp.zeros((n, width), dtype)
    return (h, h) if kind == "lstm" else h


def init_params(key: jax.Array, kind: str, n_in: int, width: int, dtype=jnp.float32) -> CellParams:
    """Random cell parameters: ``Wx`` Glorot-uniform, ``Wh`` orthogonal per gate, ``b`` zero (the LSTM's
    forget-gate bias one, so that it starts remembering)."""
    validate.key("key", key)
    validate.choice("kind", kind, list(GATES))
    validate.positive_int(n_in=n_in, width=width)
    G = GATES[kind]
    k_x, k_h = jax.random.split(key)
    limit = np.sqrt(6.0 / (n_in + width))
    Wx = jax.random.uniform(k_x, (n_in, G * width), dtype, -limit, limit)
    Wh = jnp.concatenate([jax.nn.initializers.orthogonal()(k, (width, width), dtype)
                          for k in jax.random.split(k_h, G)], axis=1)
    b = jnp.zeros(G * width, dtype)
    if kind == "lstm":
        b = b.at[width : 2 * width].set(1.0)
    return CellParams(Wx, Wh, b)


@shaped
def check_sequences(xs: Real[AnyArray, "n T D"], n_in: int | None = None) -> None:
    """``xs (n, T, D)`` must have ``T >= 1`` (and ``D = n_in`` when given)."""
    if xs.shape[1] == 0:
        raise ValueError(f"xs has shape {xs.shape}: sequences of length 0; expected T >= 1")
    if n_in is not None and xs.shape[2] != n_in:
        raise ValueError(f"xs has {xs.shape[2]} features per step; the cell expects {n_in}")


@shaped
def unroll(kind: str, params: CellParams | ElmanNetwork, xs: Real[AnyArray, "n T D"], state=None):
    """Run a cell over ``xs (n, T, D)`` with ``lax.scan``; returns ``(hs (n, T, H), final state)``.
    ``state`` defaults to zeros."""
    validate.choice("kind", kind, list(CELLS))
    check_sequences(xs, params.Wx.shape[0])
    cell = CELLS[kind]
    if state is None:
        state = zero_state(kind, xs.shape[0], params.Wh.shape[0], params.Wh.dtype)

    def step(s, x):
        s = cell(params, s, x)
        return s, hidden(kind, s)

    state, hs = jax.lax.scan(step, state, jnp.swapaxes(xs, 0, 1))
    return jnp.swapaxes(hs, 0, 1), state


@shaped
def elman_loss(params: ElmanNetwork, xs: Real[AnyArray, "n T D"], ys: Real[AnyArray, "n T K"]) -> jax.Array:
    r"""An Elman network's loss with a linear read-out :math:`\hat y_t = V h_t + c` at every step:
    :math:`L = \frac{1}{2nT}\sum_{\text{seq},t}\lVert \hat y_t - y_t\rVert^2`.  ``params`` is an
    :class:`ElmanNetwork`: the cell's ``Wx, Wh, b`` and the read-out's ``V (H, K)``, ``c (K,)``."""
    hs, _ = unroll("elman", params, xs)
    error = hs @ params.V + params.c - ys
    return 0.5 * jnp.mean(jnp.sum(error**2, axis=-1))


@shaped
def elman_bptt(params: ElmanNetwork, xs: Real[AnyArray, "n T D"],
               ys: Real[AnyArray, "n T K"]) -> ElmanNetwork:
    r"""The gradient of :func:`elman_loss` by back-propagation through time, written out.

    With :math:`e_t = (\hat y_t - y_t)/(nT)` and :math:`h_0 = 0`, a reverse sweep carries
    :math:`\delta_t = \partial L/\partial h_t` (the total derivative, through every later step):

    .. math::  \delta_t = V^\top e_t + W^\top g_{t+1},\qquad
               g_t = \delta_t\odot(1 - h_t^2),\qquad \delta_T = V^\top e_T ,

    :math:`g_t` being the derivative at the pre-activation; then
    :math:`\partial L/\partial W = \sum_t g_t h_{t-1}^\top`,
    :math:`\partial L/\partial U = \sum_t g_t x_t^\top`,
    :math:`\partial L/\partial b = \sum_t g_t`, :math:`\partial L/\partial V = \sum_t e_t h_t^\top`,
    :math:`\partial L/\partial c = \sum_t e_t`.  The code multiplies rows (``Wh`` is :math:`W^\top`,
    ``V`` is :math:`V^\top`), so its gradients are these transposed.  Returns an
    :class:`ElmanNetwork` of gradients, shaped like ``params``."""
    hs, _ = unroll("elman", params, xs)  # (n, T, H)
    n, T, _ = xs.shape
    e = (hs @ params.V + params.c - ys) / (n * T)  # (n, T, K)
    h_prev = jnp.concatenate([jnp.zeros_like(hs[:, :1]), hs[:, :-1]], axis=1)

    def back(g_next, inputs):  # g_next = g_{t+1}; returns g_t
        h_t, e_t = inputs
        delta = e_t @ params.V.T + g_next @ params.Wh.T
        g = delta * (1.0 - h_t**2)
        return g, g

    def t_major(a):
        return jnp.swapaxes(a, 0, 1)

    def total(a, b):  # sum over sequences and steps of outer products
        return jnp.einsum("nti,ntj->ij", a, b)

    _, g = jax.lax.scan(back, jnp.zeros_like(hs[:, 0]), (t_major(hs), t_major(e)), reverse=True)
    g = t_major(g)  # (n, T, H)
    return ElmanNetwork(Wx=total(xs, g), Wh=total(h_prev, g), b=g.sum((0, 1)),
                        V=total(hs, e), c=e.sum((0, 1)))


@shaped
def state_jacobian_norms(kind: str, params: CellParams | ElmanNetwork,
                         xs: Real[AnyArray, "1 T D"]) -> jax.Array:
    r"""Spectral norms :math:`\lVert \partial h_T/\partial h_t\rVert_2` for ``t = 0 .. T-1`` along one
    sequence ``xs (1, T, D)`` (``t = 0`` is the initial state), by the chain rule
    :math:`\partial h_T/\partial h_t = \prod_{s=t+1}^{T} \partial h_s/\partial h_{s-1}`, each factor
    the cell's Jacobian (``jax.jacfwd``) at the visited state.  Elman or a linear cell
    (``kind="linear"``: :math:`h_t = W h_{t-1} + U x_t`)."""
    validate.choice("kind", kind, ["elman", "linear"])
    check_sequences(xs, params.Wx.shape[0])

    def cell(h, x):  # one sequence: h (H,), x (D,)
        if kind == "elman":
            return elman_cell(params, h, x)
        return h @ params.Wh + x @ params.Wx

    h0 = jnp.zeros(params.Wh.shape[0], params.Wh.dtype)
    states = jax.lax.scan(lambda h, x: (cell(h, x),) * 2, h0, xs[0])[1]
    previous = jnp.concatenate([h0[None], states[:-1]])
    factors = jax.vmap(jax.jacfwd(cell))(previous, xs[0])  # (T, H, H): dh_s/dh_{s-1}, s = 1..T

    def accumulate(J, factor):  # J = dh_T/dh_s -> dh_T/dh_{s-1}
        J = J @ factor
        return J, jnp.linalg.norm(J, 2)

    eye = jnp.eye(h0.shape[0], dtype=h0.dtype)
    _, norms = jax.lax.scan(accumulate, eye, factors, reverse=True)
    return norms


class Recurrent(nnx.Module):
    """A recurrent network: one cell (``"elman"``, ``"lstm"`` or ``"gru"``, equations above) and a
    linear read-out of its hidden state.  ``__call__(xs (n, T, D))`` returns the read-out at every step
    ``(n, T, K)``; ``step(state, x)`` advances one step, for autoregressive forecasting."""

    def __init__(self, kind: str, n_in: int, width: int, n_out: int, *, rngs: nnx.Rngs):
        params = init_params(rngs.params(), kind, n_in, width)
        self.kind, self.width = kind, width
        self.cell = nnx.Dict({name: nnx.Param(value) for name, value in params._asdict().items()})
        self.readout = nnx.Linear(width, n_out, rngs=rngs)

    def params(self) -> CellParams:
        return CellParams(**{name: value[...] for name, value in self.cell.items()})

    def initial_state(self, n: int):
        return zero_state(self.kind, n, self.width)

    def step(self, state, x: jax.Array):
        """``(state, x (n, D))`` -> ``(state, read-out (n, K))``."""
        state = CELLS[self.kind](self.params(), state, x)
        return state, self.readout(hidden(self.kind, state))

    def run(self, xs: jax.Array, state=None):
        """The read-outs at every step and the final state: ``(read-outs (n, T, K), state)``."""
        hs, state = unroll(self.kind, self.params(), xs, state)
        return self.readout(hs), state

    def __call__(self, xs: jax.Array, state=None) -> jax.Array:
        return self.run(xs, state)[0]
