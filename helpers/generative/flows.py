# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Normalizing flows: bijections with a tractable log-determinant, stacked into a density.

Convention: ``forward`` is the *normalizing* direction :math:`\mathbf{z} = f(\mathbf{x})`, data to
latent, and returns ``(z, log|det df/dx|)``; ``inverse`` is the generative direction and returns
``(x, log|det df^{-1}/dz|)``.  Every bijection acts on vectors ``(n, d)`` and returns a
log-determinant per example ``(n,)``.  The change of variables (lecture, week 15):

.. math:: \log p_x(\mathbf{x}) = \log p_z(f(\mathbf{x})) + \log\left|\det\frac{\partial f}{\partial
          \mathbf{x}}\right|, \qquad p_z = \mathcal{N}(0, I).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx
from jaxtyping import Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped
from helpers.networks import layers

LOG_2PI = math.log(2.0 * math.pi)


def checkerboard_mask(shape: Sequence[int], parity: int = 0) -> np.ndarray:
    """A 0/1 mask ``(prod(shape),)`` that is 1 where the sum of the indices has ``parity``: on a
    lattice or an image the two halves of a checkerboard; for ``shape = (d,)`` alternate entries."""
    shape = validate.layer_sizes("shape", shape, at_least=1, what="the array's shape")
    validate.choice("parity", parity, (0, 1))
    return (np.indices(shape).sum(axis=0) % 2 == parity).astype(np.float32).ravel()


def half_mask(d: int, first: bool = True) -> np.ndarray:
    """A 0/1 mask ``(d,)`` keeping the first half of the coordinates (``first``) or the second; ``d``
    must be even, so the two halves are equal."""
    if not validate.is_integer(d) or d < 2 or d % 2:
        raise ValueError(f"d={d!r}; expected an even dimension >= 2 to split into equal halves")
    mask = (np.arange(d) < d // 2).astype(np.float32)
    return mask if first else 1 - mask


class AffineCoupling(nnx.Module):
    r"""Real-NVP's affine coupling layer (Dinh, Sohl-Dickstein and Bengio, ICLR 2017):

    .. math:: \mathbf{y} = \mathbf{m}\odot\mathbf{x} + (1 - \mathbf{m})\odot\left(\mathbf{x}\odot
              e^{\mathbf{s}(\mathbf{m}\odot\mathbf{x})} + \mathbf{t}(\mathbf{m}\odot\mathbf{x})\right),
              \qquad \log\left|\det\frac{\partial\mathbf{y}}{\partial\mathbf{x}}\right|
              = \sum_i (1 - m_i)\,s_i.

    The entries with :math:`m_i = 1` pass unchanged and condition the others, so the Jacobian is
    triangular (in an order that puts the kept entries first) with diagonal :math:`1` or
    :math:`e^{s_i}`.  :math:`\mathbf{s} = \tanh(\cdot)` bounds the scale; ``s, t`` come from an MLP
    ``d -> hidden... -> 2d`` whose last layer starts at zero (a fresh layer is the identity).
    ``mask (d,)`` of 0/1; ``x (n, d)`` -> ``(y (n, d), log_det (n,))``.
    """

    def __init__(self, mask, hidden: Sequence[int], *, rngs: nnx.Rngs, activation="gelu"):
        mask = np.asarray(validate.array("mask", mask, ndim=1))
        if mask.size < 2 or not np.all((mask == 0) | (mask == 1)) or mask.min() == mask.max():
            raise ValueError(f"mask={mask.tolist()}; expected 0s and 1s (at least one of each)")
        self.mask = nnx.Variable(jnp.asarray(mask, jnp.float32))
        d = mask.size
        self.net = layers.MLP([d, *validate.layer_sizes("hidden", hidden, 1), 2 * d], activation, rngs=rngs)
        last = self.net.layers[-1]
        last.kernel[...] = jnp.zeros_like(last.kernel[...])

    def _check(self, x):
        d = self.mask[...].shape[0]
        if x.ndim != 2 or x.shape[1] != d:
            raise ValueError(f"x has shape {tuple(x.shape)}; expected (n, {d}) to match the mask")

    def shift_and_log_scale(self, x_kept: jax.Array) -> tuple[jax.Array, jax.Array]:
        """The conditioner: ``(s, t)`` from the kept entries, zero on the kept entries themselves."""
        raw_s, t = jnp.split(self.net(x_kept), 2, axis=-1)
        free = 1.0 - self.mask[...]
        return free * jnp.tanh(raw_s), free * t

    def __call__(self, x: jax.Array) -> tuple[jax.Array, jax.Array]:
        self._check(x)
        m = self.mask[...]
        s, t = self.shift_and_log_scale(m * x)
        return m * x + (1 - m) * (x * jnp.exp(s) + t), jnp.sum(s, axis=-1)

    forward = __call__

    def inverse(self, y: jax.Array) -> tuple[jax.Array, jax.Array]:
        self._check(y)
        m = self.mask[...]
        s, t = self.shift_and_log_scale(m * y)
        return m * y + (1 - m) * (y - t) * jnp.exp(-s), -jnp.sum(s, axis=-1)


class ActNorm(nnx.Module):
    r"""Glow's activation normalisation (Kingma and Dhariwal, NeurIPS 2018), a learned affine map
    per coordinate:

    .. math:: y_i = (x_i - b_i)\,e^{-\ell_i}, \qquad \log|\det| = -\sum_i \ell_i,

    initialised from data (:meth:`initialize`): :math:`b_i, e^{\ell_i}` the mean and standard
    deviation of a batch, so the first batch leaves it with zero mean and unit variance.
    """

    def __init__(self, d: int):
        validate.positive_int(d=d)
        self.bias = nnx.Param(jnp.zeros(d))
        self.log_scale = nnx.Param(jnp.zeros(d))

    def initialize(self, x: jax.Array) -> None:
        """Data-dependent initialisation from a batch ``x (n, d)``, n >= 2."""
        x = validate.finite("x", validate.array("x", x, (None, self.bias[...].shape[0])))
        if x.shape[0] < 2:
            raise ValueError(f"x has {x.shape[0]} example; expected at least 2 to set a variance")
        self.bias[...] = jnp.mean(x, axis=0)
        self.log_scale[...] = jnp.log(jnp.std(x, axis=0) + 1e-6)

    def __call__(self, x):
        return (x - self.bias[...]) * jnp.exp(-self.log_scale[...]), -jnp.sum(self.log_scale[...]) * jnp.ones(
            x.shape[0]
        )

    forward = __call__

    def inverse(self, y):
        return y * jnp.exp(self.log_scale[...]) + self.bias[...], jnp.sum(self.log_scale[...]) * jnp.ones(
            y.shape[0]
        )


class Permutation(nnx.Module):
    r"""A fixed reordering :math:`y_i = x_{\pi(i)}`: volume preserving, :math:`\log|\det| = 0`."""

    def __init__(self, permutation):
        perm = np.asarray(validate.array("permutation", permutation, ndim=1, kind="integer"))
        if sorted(perm.tolist()) != list(range(perm.size)):
            raise ValueError(f"permutation={perm.tolist()}; expected each of 0..{perm.size - 1} once")
        self.perm = nnx.Variable(jnp.asarray(perm))
        self.inv = nnx.Variable(jnp.asarray(np.argsort(perm)))

    def __call__(self, x):
        return x[:, self.perm[...]], jnp.zeros(x.shape[0])

    forward = __call__

    def inverse(self, y):
        return y[:, self.inv[...]], jnp.zeros(y.shape[0])


class InvertibleLinear(nnx.Module):
    r"""Glow's invertible 1x1 mixing in its LU form, here on all ``d`` coordinates:

    .. math:: \mathbf{y} = W\mathbf{x},\quad W = P\,L\,(U + \mathrm{diag}\,e^{\boldsymbol\ell}),
              \qquad \log|\det W| = \sum_i \ell_i,

    ``P`` a fixed random permutation, ``L`` unit lower triangular, ``U`` strictly upper triangular,
    so the determinant costs O(d) and the inverse two triangular solves.
    """

    def __init__(self, d: int, *, rngs: nnx.Rngs):
        validate.positive_int(d=d)
        self.perm = nnx.Variable(jax.random.permutation(rngs.params(), d))
        self.lower = nnx.Param(jnp.zeros((d, d)))
        self.upper = nnx.Param(jnp.zeros((d, d)))
        self.log_diag = nnx.Param(jnp.zeros(d))

    def _factors(self):
        d = self.log_diag[...].shape[0]
        low = jnp.tril(self.lower[...], -1) + jnp.eye(d)
        up = jnp.triu(self.upper[...], 1) + jnp.diag(jnp.exp(self.log_diag[...]))
        return low, up

    def __call__(self, x):
        low, up = self._factors()
        y = (x @ up.T) @ low.T
        return y[:, self.perm[...]], jnp.sum(self.log_diag[...]) * jnp.ones(x.shape[0])

    forward = __call__

    def inverse(self, y):
        low, up = self._factors()
        v = jnp.zeros_like(y).at[:, self.perm[...]].set(y)  # undo P
        v = jax.scipy.linalg.solve_triangular(low, v.T, lower=True)
        x = jax.scipy.linalg.solve_triangular(up, v, lower=False).T
        return x, -jnp.sum(self.log_diag[...]) * jnp.ones(y.shape[0])


class Logit(nnx.Module):
    r"""The logit transform of pixels in [0, 1] (Dinh et al. 2017), squeezed by :math:`\alpha` away
    from 0 and 1:

    .. math:: y = \mathrm{logit}(s),\ s = \alpha + (1 - 2\alpha)x, \qquad
              \log\left|\frac{dy}{dx}\right| = \log(1 - 2\alpha) - \log s - \log(1 - s).
    """

    def __init__(self, alpha: float = 0.05):
        validate.fraction(alpha=alpha)
        if not 0 < alpha < 0.5:
            raise ValueError(f"alpha={alpha!r}; expected a number in (0, 0.5)")
        self.alpha = float(alpha)

    def __call__(self, x):
        x = validate.unit_interval("x", x, "pixels in [0, 1] (dequantised images)")
        s = self.alpha + (1 - 2 * self.alpha) * x
        log_det = math.log(1 - 2 * self.alpha) - jnp.log(s) - jnp.log1p(-s)
        return jnp.log(s) - jnp.log1p(-s), jnp.sum(log_det, axis=-1)

    forward = __call__

    def inverse(self, y):
        s = jax.nn.sigmoid(y)
        log_det = jnp.log(s) + jnp.log1p(-s) - math.log(1 - 2 * self.alpha)
        return (s - self.alpha) / (1 - 2 * self.alpha), jnp.sum(log_det, axis=-1)


class Flow(nnx.Module):
    r"""A normalizing flow :math:`f = f_K\circ\dots\circ f_1`, a list of bijections; log-determinants
    add, :math:`\log|\det J_f| = \sum_k \log|\det J_{f_k}|`, and the density is

    .. math:: \log p_x(\mathbf{x}) = -\tfrac12\lVert f(\mathbf{x})\rVert^2 - \tfrac d2\log 2\pi
              + \sum_k \log|\det J_{f_k}|.
    """

    def __init__(self, bijections: Sequence[nnx.Module]):
        if not bijections or not all(callable(getattr(b, "inverse", None)) for b in bijections):
            raise TypeError(f"bijections={bijections!r}; expected a list of modules with inverse()")
        self.layers = nnx.List(list(bijections))

    def __call__(self, x):
        log_det = jnp.zeros(x.shape[0])
        for layer in self.layers:
            x, ld = layer(x)
            log_det = log_det + ld
        return x, log_det

    forward = __call__

    def inverse(self, z):
        log_det = jnp.zeros(z.shape[0])
        for layer in reversed(self.layers):
            z, ld = layer.inverse(z)
            log_det = log_det + ld
        return z, log_det

    def log_prob(self, x):
        """:math:`\\log p_x(\\mathbf{x})` ``(n,)`` of points ``x (n, d)``."""
        z, log_det = self(x)
        return -0.5 * jnp.sum(z**2, axis=-1) - 0.5 * z.shape[-1] * LOG_2PI + log_det

    def sample(self, key, n: int, d: int):
        r"""``n`` draws ``x (n, d)`` and their :math:`\log q(\mathbf{x}) = \log p_z(\mathbf{z})
        - \log|\det J_{f^{-1}}(\mathbf{z})|`, ``(n,)``: the density of a pushed-forward draw."""
        validate.key("key", key)
        validate.positive_int(n=n, d=d)
        z = jax.random.normal(key, (n, d))
        x, log_det = self.inverse(z)
        return x, -0.5 * jnp.sum(z**2, axis=-1) - 0.5 * d * LOG_2PI - log_det


def initialize(flow: Flow, x) -> None:
    """Data-dependent initialisation: pass ``x (n, d)`` through the flow, setting each
    :class:`ActNorm` from what reaches it, so each starts with zero mean and unit variance."""
    for layer in flow.layers:
        if isinstance(layer, ActNorm):
            layer.initialize(x)
        x, _ = layer(x)


def negative_log_likelihood(model: Flow, batch, key) -> jax.Array:
    r"""Maximum likelihood: :math:`-\frac1n\sum_i\log p_x(\mathbf{x}_i)` (nats per example), the
    loss contract ``(model, batch, key)`` of :func:`helpers.core.train.gradient_step`."""
    return -jnp.mean(model.log_prob(batch))


@shaped
def dequantize(key, pixels: Real[AnyArray, "n d"], levels: int = 256) -> jax.Array:
    r"""Uniform dequantisation of integer pixels :math:`k\in\{0..K-1\}`: :math:`x = (k + u)/K`,
    :math:`u\sim U[0, 1)`.  A density :math:`p` on :math:`[0, 1)^D` then bounds the discrete model
    (Theis, van den Oord and Bethge, ICLR 2016):
    :math:`\log P(\mathbf{k}) \ge \mathbb{E}_u\log p(\mathbf{x}) - D\log K`."""
    validate.key("key", key)
    validate.positive_int(levels=levels)
    pixels = validate.values_in("pixels", pixels, 0, levels - 1, f"integer levels in [0, {levels - 1}]")
    return (pixels + jax.random.uniform(key, pixels.shape)) / levels


def dequantized_nll(model: Flow, batch, key, levels: int = 256) -> jax.Array:
    r"""The discrete negative log-likelihood bound in nats per image,
    :math:`-\log p(\mathbf{x}) + D\log K` with :math:`\mathbf{x}` = :func:`dequantize` (batch)."""
    x = dequantize(key, batch, levels)
    return -jnp.mean(model.log_prob(x)) + x.shape[-1] * math.log(levels)


def reverse_kl(model: Flow, batch, key, action: Callable, n: int, shape: Sequence[int]) -> jax.Array:
    r"""The reverse KL (no data needed; Albergo, Kanwar and Shanahan 2019), up to :math:`\log Z`:

    .. math:: D_{KL}(q\,\|\,p) - \log Z = \mathbb{E}_{\mathbf{x}\sim q}\left[\log q(\mathbf{x})
              + S(\mathbf{x})\right], \qquad p = e^{-S}/Z,

    from ``n`` draws of the flow reshaped to ``shape`` for ``action(x (n, *shape)) -> (n,)``.
    ``batch`` is ignored (train with ``train.fit(..., batch_size=None)``)."""
    d = int(np.prod(shape))
    x, log_q = model.sample(key, n, d)
    return jnp.mean(log_q + action(x.reshape(n, *shape)))


@shaped
def effective_sample_size(log_weights: Float[AnyArray, " n"]) -> jax.Array:
    r"""Kish's effective sample size per draw, :math:`\mathrm{ESS}/n = (\sum_i w_i)^2/(n\sum_i
    w_i^2)`, in (0, 1]; 1 when every weight is equal (the flow is exact)."""
    log_weights = validate.finite("log_weights", log_weights)
    lw = log_weights - jnp.max(log_weights)
    return jnp.exp(2 * jax.nn.logsumexp(lw) - jax.nn.logsumexp(2 * lw)) / lw.shape[0]


@shaped
def reweight(log_weights: Float[AnyArray, " n"], values: Float[AnyArray, "n ..."]):
    r"""The self-normalised importance estimate of :math:`\langle O\rangle_p` and its standard error:

    .. math:: \hat O = \frac{\sum_i w_i O_i}{\sum_i w_i}, \qquad
              \sigma_{\hat O}^2 = \frac{\sum_i w_i^2 (O_i - \hat O)^2}{(\sum_i w_i)^2}.

    ``log_weights (n,)`` (:math:`\log p - \log q` up to a constant), ``values (n, ...)`` -> two arrays
    of the trailing shape."""
    log_weights = validate.finite("log_weights", log_weights)
    w = jnp.exp(log_weights - jnp.max(log_weights))
    w = (w / jnp.sum(w)).reshape(-1, *([1] * (values.ndim - 1)))
    mean = jnp.sum(w * values, axis=0)
    return mean, jnp.sqrt(jnp.sum(w**2 * (values - mean) ** 2, axis=0))
