r"""Denoising diffusion models: noise schedules, the forward process, the ELBO's terms, and samplers.

Notation follows the lecture (after Luo, arXiv 2208.11970).  The encoder is the fixed chain

.. math:: q(\mathbf{x}_t|\mathbf{x}_{t-1}) = \mathcal{N}(\sqrt{\alpha_t}\,\mathbf{x}_{t-1}, (1 - \alpha_t)I),
          \qquad t = 1, \dots, T,

with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t}\alpha_s`.  A
:class:`Schedule` stores every per-step array with **index t**: entry 0 belongs to
:math:`\mathbf{x}_0` (:math:`\beta_0 = 0`, :math:`\bar\alpha_0 = 1`), entries 1..T to the
steps, so the code reads like the equations.  Time steps passed to functions are integers in
1..T, one per example, shape ``(n,)``.

A noise predictor is any callable ``eps_fn(x_t, t) -> eps_hat`` with ``x_t (n, *shape)`` and
``t (n,)`` integers; Flax NNX modules in this module (:class:`MLPDenoiser`) have that signature.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from flax import nnx

EpsFn = Callable[[jax.Array, jax.Array], jax.Array]


class Schedule(NamedTuple):
    """Per-step arrays of a noise schedule, each ``(T + 1,)`` and indexed by t (entry 0 is x_0)."""

    betas: jax.Array
    alphas: jax.Array
    alpha_bars: jax.Array

    @property
    def T(self) -> int:  # noqa: N802 (the lecture's symbol)
        return self.betas.shape[0] - 1


def schedule_from_betas(betas, dtype=jnp.float32) -> Schedule:
    r"""A :class:`Schedule` from :math:`\beta_1..\beta_T` ``(T,)``, each in (0, 1):
    :math:`\alpha_t = 1 - \beta_t`, :math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s` (computed in float64,
    stored as ``dtype``; pass ``jnp.float64`` under ``jax.enable_x64`` for exact identities)."""
    betas = np.asarray(betas, np.float64)
    if betas.ndim != 1 or betas.size < 1:
        raise ValueError(f"betas has shape {betas.shape}; expected a 1-D array of T >= 1 values")
    if not np.all((betas > 0) & (betas < 1)):
        raise ValueError(f"betas in [{betas.min()}, {betas.max()}]; expected every beta_t in (0, 1)")
    betas = np.concatenate([[0.0], betas])
    alphas = 1.0 - betas
    return Schedule(*(jnp.asarray(a, dtype) for a in (betas, alphas, np.cumprod(alphas))))


def _check_T(T) -> int:
    if not isinstance(T, int | np.integer) or T < 1:
        raise ValueError(f"T={T!r}; expected a positive integer number of steps")
    return int(T)


def linear_schedule(
    T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02, dtype=jnp.float32
) -> Schedule:
    r"""Ho, Jain and Abbeel (2020): :math:`\beta_t` linear from ``beta_start`` (t = 1) to
    ``beta_end`` (t = T)."""
    T = _check_T(T)
    return schedule_from_betas(np.linspace(beta_start, beta_end, T), dtype)


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999, dtype=jnp.float32) -> Schedule:
    r"""Nichol and Dhariwal (2021): :math:`\bar\alpha_t = f(t)/f(0)`,

    .. math:: f(t) = \cos^2\left(\frac{t/T + s}{1 + s}\frac\pi2\right),

    with :math:`\beta_t = 1 - \bar\alpha_t/\bar\alpha_{t-1}` clipped at ``max_beta`` (near t = T the
    formula gives :math:`\beta_T = 1`, which would destroy the signal in one step)."""
    T = _check_T(T)
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    return schedule_from_betas(np.clip(1 - f[1:] / f[:-1], 1e-8, max_beta), dtype)


def snr(schedule: Schedule) -> jax.Array:
    r"""Signal-to-noise ratio :math:`\mathrm{SNR}(t) = \bar\alpha_t/(1 - \bar\alpha_t)`, ``(T,)``
    for t = 1..T."""
    ab = schedule.alpha_bars[1:]
    return ab / (1 - ab)


def _bcast(values: jax.Array, x: jax.Array) -> jax.Array:  # (n,) -> (n, 1, ..., 1) against x (n, ...)
    return values.reshape(values.shape + (1,) * (x.ndim - values.ndim))


def _check_t(t, x) -> jax.Array:
    t = jnp.asarray(t)
    if t.shape != x.shape[:1]:
        raise ValueError(f"t has shape {t.shape}; expected one time step per example, ({x.shape[0]},)")
    return t


def q_sample(schedule: Schedule, x0: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    r"""Draw from the closed form
    :math:`q(\mathbf{x}_t|\mathbf{x}_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\mathbf{x}_0, (1 - \bar\alpha_t)I)`:

    .. math:: \mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0 + \sqrt{1 - \bar\alpha_t}\,\boldsymbol\epsilon,
              \quad \boldsymbol\epsilon \sim \mathcal{N}(0, I).

    ``x0 (n, ...)``, ``t (n,)`` in 0..T, ``eps`` like ``x0`` -> ``x_t`` like ``x0``.
    """
    if eps.shape != x0.shape:
        raise ValueError(f"eps has shape {eps.shape}; expected the shape of x0, {x0.shape}")
    t = _check_t(t, x0)
    ab = _bcast(schedule.alpha_bars[t], x0)
    return jnp.sqrt(ab) * x0 + jnp.sqrt(1 - ab) * eps


def posterior(schedule: Schedule, x_t: jax.Array, x0: jax.Array, t: jax.Array) -> tuple[jax.Array, jax.Array]:
    r"""Mean and variance of the tractable posterior :math:`q(\mathbf{x}_{t-1}|\mathbf{x}_t, \mathbf{x}_0)`:

    .. math:: \boldsymbol\mu_q = \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})\,\mathbf{x}_t
              + \sqrt{\bar\alpha_{t-1}}(1 - \alpha_t)\,\mathbf{x}_0}{1 - \bar\alpha_t},
              \qquad \sigma_q^2(t) = \frac{(1 - \alpha_t)(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}.

    ``x_t``, ``x0`` ``(n, ...)``, ``t (n,)`` in 1..T -> mean like ``x_t``, variance ``(n,)``.
    """
    if x_t.shape != x0.shape:
        raise ValueError(f"x_t {x_t.shape} and x0 {x0.shape}; expected the same shape")
    t = _check_t(t, x_t)
    a, ab, ab_prev = schedule.alphas[t], schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    mean = (
        _bcast(jnp.sqrt(a) * (1 - ab_prev), x_t) * x_t + _bcast(jnp.sqrt(ab_prev) * (1 - a), x_t) * x0
    ) / _bcast(1 - ab, x_t)
    return mean, (1 - a) * (1 - ab_prev) / (1 - ab)


def predict_x0(schedule: Schedule, x_t: jax.Array, t: jax.Array, eps: jax.Array) -> jax.Array:
    r"""Invert the closed form for :math:`\mathbf{x}_0`:
    :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t - \sqrt{1 - \bar\alpha_t}\,\hat{\boldsymbol\epsilon})
    /\sqrt{\bar\alpha_t}`."""
    ab = _bcast(schedule.alpha_bars[t], x_t)
    return (x_t - jnp.sqrt(1 - ab) * eps) / jnp.sqrt(ab)


def prior_kl(schedule: Schedule, x0: jax.Array) -> jax.Array:
    r"""The prior-matching term :math:`D_{KL}(q(\mathbf{x}_T|\mathbf{x}_0)\,\|\,\mathcal{N}(0, I))`
    per example, in nats:

    .. math:: \frac12\sum_i\left[\bar\alpha_T x_{0,i}^2 + (1 - \bar\alpha_T) - 1
              - \log(1 - \bar\alpha_T)\right].

    ``x0 (n, ...)`` -> ``(n,)``.
    """
    ab = schedule.alpha_bars[-1]
    per_dim = 0.5 * (ab * x0**2 + (1 - ab) - 1 - jnp.log1p(-ab))
    return jnp.sum(per_dim.reshape(x0.shape[0], -1), axis=1)


def denoising_weight(schedule: Schedule, t: jax.Array) -> jax.Array:
    r"""The weight that turns a squared noise error into the denoising-matching KL:

    .. math:: D_{KL}\left(q(\mathbf{x}_{t-1}|\mathbf{x}_t, \mathbf{x}_0)\,\|\,
              p_\theta(\mathbf{x}_{t-1}|\mathbf{x}_t)\right)
              = \frac{1}{2\sigma_q^2(t)}\frac{(1 - \alpha_t)^2}{(1 - \bar\alpha_t)\,\alpha_t}
              \lVert\boldsymbol\epsilon - \hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)\rVert^2,

    for :math:`p_\theta` with the posterior's variance and the mean of :func:`posterior` with
    :math:`\mathbf{x}_0` replaced by :func:`predict_x0`.  ``t (n,)`` in 2..T -> ``(n,)``; at
    t = 1, :math:`\sigma_q^2 = 0` and the term is the reconstruction term instead.
    """
    a, ab, ab_prev = schedule.alphas[t], schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    var = (1 - a) * (1 - ab_prev) / (1 - ab)
    return (1 - a) ** 2 / (2 * var * (1 - ab) * a)


def min_snr_weight(schedule: Schedule, t: jax.Array, gamma: float) -> jax.Array:
    r"""Min-SNR-:math:`\gamma` weight on the noise error (Hang et al. 2023):

    .. math:: w_t = \frac{\min(\mathrm{SNR}_t, \gamma)}{\mathrm{SNR}_t}, \qquad
              w_t\lVert\boldsymbol\epsilon - \hat{\boldsymbol\epsilon}\rVert^2
              = \min(\mathrm{SNR}_t, \gamma)\,\lVert\mathbf{x}_0 - \hat{\mathbf{x}}_0\rVert^2,

    since :math:`\boldsymbol\epsilon - \hat{\boldsymbol\epsilon} = \sqrt{\mathrm{SNR}_t}\,
    (\hat{\mathbf{x}}_0 - \mathbf{x}_0)`.  It caps the weight of the nearly noise-free steps, whose
    small errors otherwise dominate the gradient.  ``t (n,)`` -> ``(n,)``.
    """
    if not gamma > 0:
        raise ValueError(f"gamma={gamma!r}; expected a positive number")
    ab = schedule.alpha_bars[t]
    return jnp.minimum(1.0, gamma * (1 - ab) / ab)  # = 1 where SNR <= gamma, also at SNR = 0


def simple_loss(
    eps_fn: EpsFn, x0: jax.Array, key: jax.Array, schedule: Schedule, min_snr_gamma: float | None = None
) -> jax.Array:
    r"""Ho et al.'s simple loss

    .. math:: \mathbb{E}_{t, \boldsymbol\epsilon}\, w_t\left\lVert\boldsymbol\epsilon
              - \hat{\boldsymbol\epsilon}_\theta(\sqrt{\bar\alpha_t}\mathbf{x}_0
              + \sqrt{1 - \bar\alpha_t}\boldsymbol\epsilon, t)\right\rVert^2,

    with :math:`t \sim U\{1..T\}`, one t and one :math:`\boldsymbol\epsilon` per example, the squared
    norm averaged over dimensions and examples; :math:`w_t = 1`, or :func:`min_snr_weight` when
    ``min_snr_gamma`` is given.  ``x0 (n, ...)`` -> scalar.
    """
    k_t, k_eps = jax.random.split(key)
    t = jax.random.randint(k_t, x0.shape[:1], 1, schedule.T + 1)
    eps = jax.random.normal(k_eps, x0.shape, x0.dtype)
    squared = (eps - eps_fn(q_sample(schedule, x0, t, eps), t)) ** 2
    if min_snr_gamma is None:
        return jnp.mean(squared)
    return jnp.mean(_bcast(min_snr_weight(schedule, t, min_snr_gamma), x0) * squared)


def _check_shape(shape) -> tuple[int, ...]:
    shape = tuple(shape)
    if len(shape) < 2 or any(not isinstance(s, int | np.integer) or s < 1 for s in shape):
        raise ValueError(f"shape={shape!r}; expected (n_samples, *data_shape) with positive integers")
    return tuple(int(s) for s in shape)


def _as_fn(model):
    """A Flax NNX module becomes (graphdef, state) so the samplers can be jitted; callables pass through."""
    if isinstance(model, nnx.Module):
        graphdef, state = nnx.split(model)
        return graphdef, state
    return model, None


def _call(fn, state, x, t):
    return (nnx.merge(fn, state) if state is not None else fn)(x, t)


def ddpm_sample(
    model, schedule: Schedule, key: jax.Array, shape, clip: float | None = None, return_path: bool = False
):
    r"""Ancestral sampling of :math:`p_\theta(\mathbf{x}_{t-1}|\mathbf{x}_t)
    = \mathcal{N}(\boldsymbol\mu_q(\mathbf{x}_t, \hat{\mathbf{x}}_0), \sigma_q^2(t)I)`:

    start at :math:`\mathbf{x}_T \sim \mathcal{N}(0, I)`, and for t = T..1 predict
    :math:`\hat{\mathbf{x}}_0` from :math:`\hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)`
    (:func:`predict_x0`; clipped to [-clip, clip] when ``clip`` is given, as for images), then draw
    :math:`\mathbf{x}_{t-1}` from the posterior (:func:`posterior`) with it.  Without clipping this
    is Ho et al.'s :math:`\mathbf{x}_{t-1} = \frac{1}{\sqrt{\alpha_t}}\left(\mathbf{x}_t -
    \frac{1 - \alpha_t}{\sqrt{1 - \bar\alpha_t}}\hat{\boldsymbol\epsilon}\right) + \sigma_q\mathbf{z}`.

    ``model``: an NNX module or a callable ``eps_fn(x_t, t)``; ``shape = (n, *data_shape)``.  One
    ``lax.scan`` over the T steps, vectorised over the n samples.  Returns ``x_0`` ``shape``, and
    with ``return_path`` also every :math:`\mathbf{x}_t` as ``(T + 1, *shape)``, index t.
    """
    shape = _check_shape(shape)
    fn, state = _as_fn(model)
    return _ddpm(fn, state, schedule, key, shape, clip, return_path)


@partial(jax.jit, static_argnames=("fn", "shape", "clip", "return_path"))
def _ddpm(fn, state, schedule, key, shape, clip, return_path):
    k_init, k_steps = jax.random.split(key)

    def step(x, inputs):
        t_scalar, k = inputs
        t = jnp.full(shape[:1], t_scalar)
        x0_hat = predict_x0(schedule, x, t, _call(fn, state, x, t))
        if clip is not None:
            x0_hat = jnp.clip(x0_hat, -clip, clip)
        mean, var = posterior(schedule, x, x0_hat, t)
        x = mean + jnp.sqrt(_bcast(var, x)) * jax.random.normal(k, shape)  # var = 0 at t = 1
        return x, x if return_path else None

    ts = jnp.arange(schedule.T, 0, -1)
    x_T = jax.random.normal(k_init, shape)
    x0, path = jax.lax.scan(step, x_T, (ts, jax.random.split(k_steps, schedule.T)))
    if return_path:
        return x0, jnp.concatenate([path[::-1], x_T[None]])
    return x0


def ddim_sample(
    model,
    schedule: Schedule,
    key: jax.Array,
    shape,
    steps: int = 50,
    eta: float = 0.0,
    clip: float | None = None,
) -> jax.Array:
    r"""DDIM (Song, Meng and Ermon 2021) on the sub-sequence :math:`\tau_i = iT/S`, i = S..1 (S = ``steps``):

    .. math:: \mathbf{x}_{\tau_{i-1}} = \sqrt{\bar\alpha_{\tau_{i-1}}}\,\hat{\mathbf{x}}_0
              + \sqrt{1 - \bar\alpha_{\tau_{i-1}} - s_i^2}\;\hat{\boldsymbol\epsilon} + s_i\mathbf{z},
              \qquad s_i = \eta\sqrt{\frac{1 - \bar\alpha_{\tau_{i-1}}}{1 - \bar\alpha_{\tau_i}}
              \left(1 - \frac{\bar\alpha_{\tau_i}}{\bar\alpha_{\tau_{i-1}}}\right)},

    with :math:`\tau_0 = 0` (:math:`\bar\alpha_0 = 1`).  :math:`\eta = 0` is deterministic given
    :math:`\mathbf{x}_T`; :math:`\eta = 1` with S = T is ancestral sampling (:func:`ddpm_sample`).
    ``steps`` must divide T.  Returns ``x_0`` of ``shape = (n, *data_shape)``.
    """
    shape = _check_shape(shape)
    if not isinstance(steps, int) or not 1 <= steps <= schedule.T or schedule.T % steps:
        raise ValueError(f"steps={steps!r}; expected a divisor of T = {schedule.T} between 1 and T")
    if not eta >= 0:
        raise ValueError(f"eta={eta!r}; expected a non-negative number")
    fn, state = _as_fn(model)
    return _ddim(fn, state, schedule, key, shape, steps, float(eta), clip)


@partial(jax.jit, static_argnames=("fn", "shape", "steps", "clip"))
def _ddim(fn, state, schedule, key, shape, steps, eta, clip):
    k_init, k_steps = jax.random.split(key)
    stride = schedule.T // steps

    def step(x, inputs):
        i, k = inputs
        t = jnp.full(shape[:1], i * stride)
        ab, ab_prev = schedule.alpha_bars[i * stride], schedule.alpha_bars[(i - 1) * stride]
        eps = _call(fn, state, x, t)
        x0_hat = predict_x0(schedule, x, t, eps)
        if clip is not None:
            x0_hat = jnp.clip(x0_hat, -clip, clip)
            eps = (x - jnp.sqrt(ab) * x0_hat) / jnp.sqrt(1 - ab)  # keep eps consistent with the clipped x0
        s = eta * jnp.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
        x = (
            jnp.sqrt(ab_prev) * x0_hat
            + jnp.sqrt(jnp.maximum(1 - ab_prev - s**2, 0.0)) * eps
            + s * jax.random.normal(k, shape)
        )
        return x, None

    x0, _ = jax.lax.scan(
        step, jax.random.normal(k_init, shape), (jnp.arange(steps, 0, -1), jax.random.split(k_steps, steps))
    )
    return x0


def time_embedding(t: jax.Array, dim: int, max_period: float = 10_000.0) -> jax.Array:
    r"""Sinusoidal embedding of integer time steps (Vaswani et al. 2017; Ho et al. 2020):

    .. math:: \mathrm{emb}(t) = [\sin(t\omega_1), \dots, \sin(t\omega_{d/2}),
              \cos(t\omega_1), \dots, \cos(t\omega_{d/2})],
              \qquad \omega_k = \mathrm{max\_period}^{-(k-1)/(d/2)}.

    ``t (n,)`` -> ``(n, dim)``; ``dim`` must be even.
    """
    if not isinstance(dim, int) or dim < 2 or dim % 2:
        raise ValueError(f"dim={dim!r}; expected an even integer >= 2")
    half = dim // 2
    freqs = jnp.exp(-math.log(max_period) * jnp.arange(half) / half)
    angles = jnp.asarray(t, jnp.float32)[:, None] * freqs[None, :]
    return jnp.concatenate([jnp.sin(angles), jnp.cos(angles)], axis=-1)


class ResidualBlock(nnx.Module):
    r"""Pre-norm residual block whose normalised input is scaled and shifted by the time embedding (FiLM):

    .. math:: \mathbf{y} = \mathbf{h} + W_2\,\mathrm{swish}\left(W_1\left[(1 + \boldsymbol\gamma_t)
              \odot\mathrm{LN}(\mathbf{h}) + \boldsymbol\beta_t\right]\right),
              \qquad [\boldsymbol\gamma_t, \boldsymbol\beta_t] = U\mathbf{e}_t.
    """

    def __init__(self, width: int, emb_dim: int, *, rngs: nnx.Rngs, mixed_width: int | None = None):
        self.norm = nnx.LayerNorm(width, use_scale=False, use_bias=False, rngs=rngs)
        self.film = nnx.Linear(emb_dim, 2 * width, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)
        self.dense1 = nnx.Linear(mixed_width or width, width, rngs=rngs)
        self.dense2 = nnx.Linear(width, width, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

    def mix(self, z: jax.Array) -> jax.Array:
        """What ``W_1`` sees of the conditioned features; here each example's own (subclasses widen it)."""
        return z

    def __call__(self, h: jax.Array, emb: jax.Array) -> jax.Array:
        gamma, beta = jnp.split(self.film(emb), 2, axis=-1)
        return h + self.dense2(jax.nn.swish(self.dense1(self.mix((1 + gamma) * self.norm(h) + beta))))


def _check_positive(**values) -> None:
    for name, value in values.items():
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}; expected a positive integer")


def _time_mlp(emb_dim: int, rngs: nnx.Rngs) -> nnx.Sequential:
    """The learned map applied to the sinusoidal embedding before it conditions the blocks."""
    return nnx.Sequential(
        nnx.Linear(emb_dim, 4 * emb_dim, rngs=rngs),
        jax.nn.swish,
        nnx.Linear(4 * emb_dim, emb_dim, rngs=rngs),
        jax.nn.swish,
    )


class MLPDenoiser(nnx.Module):
    r"""Noise predictor :math:`\hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)` for flat data:
    a residual MLP.

    ``MLPDenoiser(data_dim, width, depth, T)``: the input ``(n, data_dim)`` (or ``(n, *shape)``,
    flattened and restored) goes through a linear layer to ``width``, ``depth``
    :class:`ResidualBlock` s each fed the sinusoidal embedding of t/T·1000 (so the embedding's
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
        _check_positive(data_dim=data_dim, width=width, depth=depth, T=T)
        self.data_dim, self.T, self.emb_dim = data_dim, T, emb_dim
        self.embed = _time_mlp(emb_dim, rngs)
        self.inp = nnx.Linear(data_dim, width, rngs=rngs)
        self.blocks = nnx.List([ResidualBlock(width, emb_dim, rngs=rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.out = nnx.Linear(width, data_dim, rngs=rngs)

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        shape = x.shape
        h = self.inp(x.reshape(shape[0], -1))
        emb = self.embed(time_embedding(t * (1000.0 / self.T), self.emb_dim))
        for block in self.blocks:
            h = block(h, emb)
        return self.out(jax.nn.swish(self.norm(h))).reshape(shape)


class VPrediction(nnx.Module):
    r"""A network that predicts the velocity (Salimans and Ho 2022), used as a noise predictor:

    .. math:: \mathbf{v} = \sqrt{\bar\alpha_t}\,\boldsymbol\epsilon - \sqrt{1 - \bar\alpha_t}\,\mathbf{x}_0,
              \qquad \hat{\boldsymbol\epsilon} = \sqrt{1 - \bar\alpha_t}\,\mathbf{x}_t
              + \sqrt{\bar\alpha_t}\,\hat{\mathbf{v}}_\theta(\mathbf{x}_t, t).

    The target :math:`\mathbf{v}` has unit variance at every t for unit-variance data, whereas a
    noise predictor must reproduce almost all of :math:`\mathbf{x}_t` at large t and a tiny part of
    it at small t, so the same network learns v more easily.  ``VPrediction(net, schedule)`` with
    ``net(x_t, t) -> v_hat``; calling it returns :math:`\hat{\boldsymbol\epsilon}` like ``x_t``,
    so the losses and samplers above take it unchanged.
    """

    def __init__(self, net: nnx.Module, schedule: Schedule):
        self.net = net
        self.sqrt_ab = nnx.Variable(jnp.sqrt(schedule.alpha_bars))  # (T + 1,), not trained
        self.sqrt_1mab = nnx.Variable(jnp.sqrt(1 - schedule.alpha_bars))

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        a, b = _bcast(self.sqrt_ab[...][t], x), _bcast(self.sqrt_1mab[...][t], x)
        return b * x + a * self.net(x, t)


def _periodic_3x3(h: jax.Array, L: int) -> jax.Array:
    """``(n, L*L, w)`` -> ``(n, L*L, 9w)``: each site's features beside its 8 periodic neighbours'."""
    grid = h.reshape(h.shape[0], L, L, h.shape[-1])
    shifted = [jnp.roll(grid, (dy, dx), axis=(1, 2)) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]
    return jnp.concatenate(shifted, axis=-1).reshape(h.shape[0], L * L, 9 * h.shape[-1])


class LatticeBlock(ResidualBlock):
    r""":class:`ResidualBlock` on a periodic lattice: its first layer mixes each site's 3x3
    neighbourhood (a periodic 3x3 convolution), so stacked blocks see ever larger patches:

    .. math:: \mathbf{y}_i = \mathbf{h}_i + W_2\,\mathrm{swish}\Big(\sum_{j \in 3\times3(i)} W_{1,j-i}
              \left[(1 + \boldsymbol\gamma_t)\odot\mathrm{LN}(\mathbf{h}_j) + \boldsymbol\beta_t\right]\Big).

    ``h (n, L*L, width)``, ``emb (n, 1, emb_dim)`` -> like ``h``.
    """

    def __init__(self, L: int, width: int, emb_dim: int, *, rngs: nnx.Rngs):
        super().__init__(width, emb_dim, rngs=rngs, mixed_width=9 * width)
        self.L = L

    def mix(self, z: jax.Array) -> jax.Array:
        return _periodic_3x3(z, self.L)


class SpinDenoiser(nnx.Module):
    r"""Noise predictor for :math:`\pm1` spins on a periodic :math:`L\times L` lattice (Ising configurations).

    For spins :math:`s_i = \pm1` the best prediction of :math:`\mathbf{x}_0` is known in part.  By
    Bayes' rule with :math:`q(x_{t,i}|s_i) \propto \exp(\sqrt{\bar\alpha_t}\,x_{t,i}s_i/(1 - \bar\alpha_t))`,

    .. math:: \mathbb{E}[s_i\,|\,\mathbf{x}_t]
              = \tanh\left(\frac{\sqrt{\bar\alpha_t}}{1 - \bar\alpha_t}\,x_{t,i}
              + h_i(\mathbf{x}_{t,\setminus i}, t)\right),

    exactly: the first term is the evidence of the site's own noisy value, and the *cavity field*
    :math:`h_i = \operatorname{artanh}\mathbb{E}[s_i|\mathbf{x}_{t,\setminus i}]` depends only on the other
    sites.  The network learns :math:`h_i`: each site's periodic :math:`(2r+1)^2` neighbourhood *without
    the site itself* goes through a linear layer to ``width`` features, ``depth``
    :class:`LatticeBlock` s and a linear read-out, all shared by the sites (a convolutional network,
    so it commutes with lattice translations as the Ising energy does).  The output is
    :math:`\hat{\boldsymbol\epsilon}
    = (\mathbf{x}_t - \sqrt{\bar\alpha_t}\hat{\mathbf{x}}_0)/\sqrt{1 - \bar\alpha_t}`.
    Input ``(n, L, L)`` or ``(n, L*L)``, ``t (n,)``; output like the input.
    """

    def __init__(
        self,
        L: int,
        schedule: Schedule,
        radius: int = 2,
        width: int = 32,
        depth: int = 1,
        emb_dim: int = 64,
        *,
        rngs: nnx.Rngs,
    ):
        _check_positive(L=L, width=width, depth=depth)
        if not isinstance(radius, int) or not 1 <= radius < L:
            raise ValueError(f"radius={radius!r}; expected an integer in [1, {L - 1}]")
        self.L, self.T, self.emb_dim = L, schedule.T, emb_dim
        rows, cols = np.divmod(np.arange(L * L), L)
        offsets = np.arange(-radius, radius + 1)
        dy, dx = (a.ravel() for a in np.meshgrid(offsets, offsets, indexing="ij"))
        dy, dx = dy[(dy != 0) | (dx != 0)], dx[(dy != 0) | (dx != 0)]  # the cavity: leave the site out
        neighbours = ((rows[:, None] + dy) % L) * L + (cols[:, None] + dx) % L
        self.neighbours = nnx.Variable(jnp.asarray(neighbours))  # (L*L, (2r+1)^2 - 1) site indices
        self.sqrt_ab = nnx.Variable(jnp.sqrt(schedule.alpha_bars))  # (T + 1,), not trained
        self.sqrt_1mab = nnx.Variable(jnp.sqrt(1 - schedule.alpha_bars))
        self.embed = _time_mlp(emb_dim, rngs)
        self.patch = nnx.Linear(neighbours.shape[1], width, rngs=rngs)
        self.blocks = nnx.List([LatticeBlock(L, width, emb_dim, rngs=rngs) for _ in range(depth)])
        self.norm = nnx.LayerNorm(width, rngs=rngs)
        self.out = nnx.Linear(width, 1, kernel_init=nnx.initializers.zeros_init(), rngs=rngs)

    def cavity_field(self, x: jax.Array, t: jax.Array) -> jax.Array:
        r"""The learned :math:`h_i(\mathbf{x}_{t,\setminus i}, t)`: ``x (n, L*L)``, ``t (n,)``
        -> ``(n, L*L)``.  (The site's own value never enters: it is not among its neighbours.)"""
        h = self.patch(x[:, self.neighbours[...]])  # (n, L*L, width)
        emb = self.embed(time_embedding(t * (1000.0 / self.T), self.emb_dim))[:, None, :]
        for block in self.blocks:
            h = block(h, emb)
        return self.out(jax.nn.swish(self.norm(h)))[..., 0]

    def __call__(self, x: jax.Array, t: jax.Array) -> jax.Array:
        shape = x.shape
        flat = x.reshape(shape[0], self.L * self.L)
        a, b = self.sqrt_ab[...][t][:, None], self.sqrt_1mab[...][t][:, None]
        x0_hat = jnp.tanh(a * flat / b**2 + self.cavity_field(flat, t))
        return ((flat - a * x0_hat) / b).reshape(shape)
