r"""Noise predictors for the losses and samplers of :mod:`helpers.generative.diffusion`: a residual MLP,
velocity prediction, a denoiser for spins.

Each is an NNX module with the signature of a noise predictor,
``model(x_t, t) -> eps_hat`` for ``x_t (n, ...)`` and integer time steps ``t (n,)`` in 1..T; the layers
they are built from (and the periodic neighbour tables of the lattice) are in :mod:`helpers.networks.layers`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Int, Real

from helpers.core import arrays, validate
from helpers.core.validate import AnyArray, positive_int, shaped
from helpers.generative.diffusion import Schedule
from helpers.networks import layers


class MLPDenoiser(nnx.Module):
    r"""Noise predictor :math:`\hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)` for flat data:
    a residual MLP.

    ``MLPDenoiser(data_dim, width, depth, T)``: the input ``(n, data_dim)`` (or ``(n, *shape)``,
    flattened and restored) goes through a linear layer to ``width``, ``depth``
    :class:`helpers.networks.layers.ResidualBlock` s each fed the sinusoidal embedding of t/T·1000 (so
    the embedding's
    frequencies suit any T), and a linear read-out to ``data_dim``.  The last layer of every block
    starts at zero, so the network starts as a near-identity map of its input layer.
    """

    def __init__(
        self,
        data_dim: int,
        width: int = 256,
        depth: int = 3,
        T: int = 1000,
        emb_dim: int = 64,
        *,
        rngs: nnx.Rngs,
    ):
        positive_int(data_dim=data_dim, width=width, depth=depth, T=T)
        validate.even_int(emb_dim=emb_dim)
        self.data_dim, self.T, self.emb_dim = data_dim, T, emb_dim
        self.embed = layers.time_mlp(emb_dim, rngs)
        self.inp = nnx.Linear(data_dim, width, rngs=rngs)
        self.blocks = nnx.List([layers.ResidualBlock(width, emb_dim, rngs=rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.out = nnx.Linear(width, data_dim, rngs=rngs)

    @shaped
    def __call__(self, x: Real[AnyArray, " n *dims"], t: Int[AnyArray, " n"]) -> jax.Array:
        t = validate.time_index("t", t, self.T)
        shape = x.shape
        h = self.inp(x.reshape(shape[0], -1))
        emb = self.embed(layers.time_embedding(t * (1000.0 / self.T), self.emb_dim))
        for block in self.blocks:
            h = block(h, emb)
        return self.out(jax.nn.swish(self.norm(h))).reshape(shape)


class VPrediction(nnx.Module):
    r"""A network that predicts the velocity (Salimans and Ho 2022), used as a noise predictor:

    .. math:: \mathbf{v} = \sqrt{\bar\alpha_t}\,\boldsymbol\epsilon - \sqrt{1 - \bar\alpha_t}\,\mathbf{x}_0,
              \qquad \hat{\boldsymbol\epsilon} = \sqrt{1 - \bar\alpha_t}\,\mathbf{x}_t
              + \sqrt{\bar\alpha_t}\,\hat{\mathbf{v}}_\theta(\mathbf{x}_t, t).

    The velocity :math:`\mathbf{v}` has unit variance at every t for unit-variance data, whereas a
    noise predictor must reproduce almost all of :math:`\mathbf{x}_t` at large t and a tiny part of
    it at small t, so the same network learns v more easily.  ``VPrediction(net, schedule)`` with
    ``net(x_t, t) -> v_hat``; calling it returns :math:`\hat{\boldsymbol\epsilon}` like ``x_t``,
    so the losses and samplers above take it unchanged.
    """

    @shaped
    def __init__(self, net: Callable, schedule: Schedule):
        self.net, self.T = net, schedule.T
        self.sqrt_ab = nnx.Variable(jnp.sqrt(schedule.alpha_bars))  # (T + 1,), not trained
        self.sqrt_1mab = nnx.Variable(jnp.sqrt(1 - schedule.alpha_bars))

    @shaped
    def __call__(self, x: Real[AnyArray, " n *dims"], t: Int[AnyArray, " n"]) -> jax.Array:
        t = validate.time_index("t", t, self.T)
        a = arrays.per_example(self.sqrt_ab[...][t], x)
        b = arrays.per_example(self.sqrt_1mab[...][t], x)
        return b * x + a * self.net(x, t)


class SpinDenoiser(nnx.Module):
    r"""Noise predictor for :math:`\pm1` spins on a periodic :math:`L\times L` lattice (Ising configurations).

    For spins :math:`s_i = \pm1` the best prediction of :math:`\mathbf{x}_0` is known in part.  By
    Bayes' rule with :math:`q(x_{t,i}|s_i) \propto \exp(\sqrt{\bar\alpha_t}\,x_{t,i}s_i/(1 - \bar\alpha_t))`,

    .. math:: \mathbb{E}[s_i\,|\,\mathbf{x}_t]
              = \tanh\left(\frac{\sqrt{\bar\alpha_t}}{1 - \bar\alpha_t}\,x_{t,i}
              + h_i(\mathbf{x}_{t,\setminus i}, t)\right),

    exactly: the first term is the evidence of the site's own noisy value, and the *cavity field*
    :math:`h_i = \operatorname{artanh}\mathbb{E}[s_i|\mathbf{x}_{t,\setminus i}]` depends only on the other
    sites.  The network approximates :math:`h_i`: each site's periodic :math:`(2r+1)^2` neighbourhood
    *without the site itself* goes through a linear layer to ``width`` features, ``depth``
    :class:`helpers.networks.layers.LatticeBlock` s and a linear read-out, all shared by the sites (a
    convolutional network, so it commutes with lattice translations as the Ising energy does).  The
    blocks' 3x3 mixing of neighbouring sites' features brings the site's own value back in from its
    neighbours' patches (with ``depth`` blocks the field sees a :math:`(2r+1+2\,\text{depth})^2` window,
    the site included), so the learned field is a cavity field only approximately; the exact own-site
    term above carries the site's evidence in any case.  The output is
    :math:`\hat{\boldsymbol\epsilon}
    = (\mathbf{x}_t - \sqrt{\bar\alpha_t}\hat{\mathbf{x}}_0)/\sqrt{1 - \bar\alpha_t}`.
    Input ``(n, L, L)`` or ``(n, L*L)``, ``t (n,)``; output like the input.
    """

    @shaped
    def __init__(self, L, schedule: Schedule, radius=2, width=32, depth=1, emb_dim=64, *, rngs: nnx.Rngs):
        positive_int(width=width, depth=depth)
        validate.lattice_size(L)
        validate.even_int(emb_dim=emb_dim)
        if not validate.is_integer(radius) or not 1 <= radius < L:
            raise ValueError(f"radius={radius!r}; expected an integer in [1, {L - 1}]")
        self.L, self.T, self.emb_dim = L, schedule.T, emb_dim
        neighbours = _cavity(L, radius)
        self.neighbours = nnx.Variable(jnp.asarray(neighbours))  # (L*L, (2r+1)^2 - 1) site indices
        self.sqrt_ab = nnx.Variable(jnp.sqrt(schedule.alpha_bars))  # (T + 1,), not trained
        self.sqrt_1mab = nnx.Variable(jnp.sqrt(1 - schedule.alpha_bars))
        self.embed = layers.time_mlp(emb_dim, rngs)
        self.patch = nnx.Linear(neighbours.shape[1], width, rngs=rngs)
        self.blocks = nnx.List([layers.LatticeBlock(L, width, emb_dim, rngs=rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.out = nnx.Linear(width, 1, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

    @shaped
    def cavity_field(self, x: Real[AnyArray, "n sites"], t: Int[AnyArray, " n"]) -> jax.Array:
        r"""The learned :math:`h_i(\mathbf{x}_{t,\setminus i}, t)`: ``x (n, L*L)``, ``t (n,)``
        -> ``(n, L*L)``.  (The first layer leaves the site out; the blocks' mixing brings it back in
        through the neighbours' patches.)"""
        h = self.patch(x[:, self.neighbours[...]])  # (n, L*L, width)
        emb = self.embed(layers.time_embedding(t * (1000.0 / self.T), self.emb_dim))[:, None, :]
        for block in self.blocks:
            h = block(h, emb)
        return self.out(jax.nn.swish(self.norm(h)))[..., 0]

    @shaped
    def __call__(self, x: Real[AnyArray, " n *lattice"], t: Int[AnyArray, " n"]) -> jax.Array:
        t = validate.time_index("t", t, self.T)
        shape = x.shape
        flat = x.reshape(shape[0], self.L * self.L)
        a, b = self.sqrt_ab[...][t][:, None], self.sqrt_1mab[...][t][:, None]
        x0_hat = jnp.tanh(a * flat / b**2 + self.cavity_field(flat, t))
        return ((flat - a * x0_hat) / b).reshape(shape)


def _cavity(L: int, radius: int) -> np.ndarray:
    """Each site's periodic ``(2r+1)^2`` window without the site itself: ``(L*L, (2r+1)^2 - 1)`` site
    indices, offsets ``(dy, dx)`` in row-major order, site ``(row + dy, col + dx)`` (mod L).  The window
    grows by ``radius`` rounds of :func:`helpers.networks.layers.periodic_neighbourhood` (3x3), applied
    to the site indices themselves; each round's block k holds the shift ``-(k // 3 - 1, k % 3 - 1)``."""
    shifts = -np.array([(k // 3 - 1, k % 3 - 1) for k in range(9)])
    offsets, window = np.zeros((1, 2), int), np.arange(L * L, dtype=np.float32)[None, :, None]
    with jax.ensure_compile_time_eval():
        for _ in range(radius):  # (1, L*L, w) -> (1, L*L, 9 w), then one column per distinct offset
            window = np.asarray(layers.periodic_neighbourhood(jnp.asarray(window), L))
            offsets = (shifts[:, None, :] + offsets[None]).reshape(-1, 2)
            first = np.sort(np.unique(offsets, axis=0, return_index=True)[1])
            window, offsets = window[:, :, first], offsets[first]
    column = {tuple(o): c for c, o in enumerate(offsets.tolist())}
    span = range(-radius, radius + 1)
    cavity = [column[(dy, dx)] for dy in span for dx in span if (dy, dx) != (0, 0)]
    return np.rint(window[0][:, cavity]).astype(np.int64)
