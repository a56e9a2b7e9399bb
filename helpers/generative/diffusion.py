r"""Denoising diffusion models, training side: noise schedules, the forward process, the ELBO's terms and
the losses.

Notation follows the lecture (after Luo, arXiv 2208.11970).  The encoder is the fixed chain

.. math:: q(\mathbf{x}_t|\mathbf{x}_{t-1}) = \mathcal{N}(\sqrt{\alpha_t}\,\mathbf{x}_{t-1}, (1 - \alpha_t)I),
          \qquad t = 1, \dots, T,

with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t}\alpha_s`.  A
:class:`Schedule` stores every per-step array with **index t**: entry 0 belongs to
:math:`\mathbf{x}_0` (:math:`\beta_0 = 0`, :math:`\bar\alpha_0 = 1`), entries 1..T to the
steps, so the code reads like the equations.  Time steps passed to functions are integers in
1..T, one per example, shape ``(n,)``; a step outside 1..T is refused, also under ``jax.jit`` and
inside :func:`helpers.core.train.fit` (JAX would clamp the index without a word).  The samplers are in
:mod:`helpers.generative.diffusion_sampling`, the noise predictors (``MLPDenoiser``, ``VPrediction``,
``SpinDenoiser``) in :mod:`helpers.generative.denoisers`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float, Int, Real

from helpers.core import arrays, validate
from helpers.core.validate import AnyArray, shaped

EpsFn = Callable[[jax.Array, jax.Array], jax.Array]


class Schedule(NamedTuple):
    """Per-step arrays of a noise schedule, each ``(T + 1,)`` and indexed by t (entry 0 is x_0)."""

    betas: jax.Array
    alphas: jax.Array
    alpha_bars: jax.Array

    @property
    def T(self) -> int:  # noqa: N802 (the lecture's symbol)
        return self.betas.shape[0] - 1


@shaped
def schedule_from_betas(betas: Real[AnyArray, " T"], dtype=jnp.float32) -> Schedule:
    r"""A :class:`Schedule` from :math:`\beta_1..\beta_T` ``(T,)``, each in (0, 1):
    :math:`\alpha_t = 1 - \beta_t`, :math:`\bar\alpha_t = \prod_{s=1}^t \alpha_s` (computed in float64,
    stored as ``dtype``; pass ``jnp.float64`` under ``jax.enable_x64`` for exact identities)."""
    betas = np.asarray(betas, np.float64)
    if betas.size < 1 or not np.all((betas > 0) & (betas < 1)):
        low, high = np.min(betas, initial=np.inf), np.max(betas, initial=-np.inf)
        raise ValueError(f"betas has {betas.size} values in [{low:g}, {high:g}]; "
                         f"expected T >= 1 values, each in (0, 1)")
    betas = np.concatenate([[0.0], betas])
    alphas = 1.0 - betas
    return Schedule(*(jnp.asarray(a, dtype) for a in (betas, alphas, np.cumprod(alphas))))


def linear_schedule(
    T: int = 1000, beta_start: float = 1e-4, beta_end: float = 0.02, dtype=jnp.float32
) -> Schedule:
    r"""Ho, Jain and Abbeel (2020): :math:`\beta_t` linear from ``beta_start`` (t = 1) to
    ``beta_end`` (t = T)."""
    validate.positive_int(T=T)
    validate.fraction(beta_start=beta_start, beta_end=beta_end)
    return schedule_from_betas(np.linspace(beta_start, beta_end, int(T)), dtype)


def cosine_schedule(T: int = 1000, s: float = 0.008, max_beta: float = 0.999, dtype=jnp.float32) -> Schedule:
    r"""Nichol and Dhariwal (2021): :math:`\bar\alpha_t = f(t)/f(0)`,

    .. math:: f(t) = \cos^2\left(\frac{t/T + s}{1 + s}\frac\pi2\right),

    with :math:`\beta_t = 1 - \bar\alpha_t/\bar\alpha_{t-1}` clipped at ``max_beta`` (near t = T the
    formula gives :math:`\beta_T = 1`, which would destroy the signal in one step)."""
    validate.positive_int(T=T)
    validate.positive_number(s=s)
    validate.fraction(max_beta=max_beta)
    f = np.cos((np.arange(T + 1) / T + s) / (1 + s) * np.pi / 2) ** 2
    return schedule_from_betas(np.clip(1 - f[1:] / f[:-1], 1e-8, max_beta), dtype)


@shaped
def snr(schedule: Schedule) -> jax.Array:
    r"""Signal-to-noise ratio :math:`\mathrm{SNR}(t) = \bar\alpha_t/(1 - \bar\alpha_t)`, ``(T,)``
    for t = 1..T."""
    ab = schedule.alpha_bars[1:]
    return ab / (1 - ab)


@shaped
def q_sample(schedule: Schedule, x0: Real[AnyArray, " n *dims"], t: Int[AnyArray, " n"],
             eps: Real[AnyArray, " n *dims"]) -> jax.Array:
    r"""Draw from the closed form
    :math:`q(\mathbf{x}_t|\mathbf{x}_0) = \mathcal{N}(\sqrt{\bar\alpha_t}\mathbf{x}_0, (1 - \bar\alpha_t)I)`:

    .. math:: \mathbf{x}_t = \sqrt{\bar\alpha_t}\,\mathbf{x}_0 + \sqrt{1 - \bar\alpha_t}\,\boldsymbol\epsilon,
              \quad \boldsymbol\epsilon \sim \mathcal{N}(0, I).

    ``x0 (n, ...)``, ``t (n,)`` in 1..T, ``eps`` like ``x0`` -> ``x_t`` like ``x0``.
    """
    t = validate.time_index("t", t, schedule.T)
    ab = arrays.per_example(schedule.alpha_bars[t], x0)
    return jnp.sqrt(ab) * x0 + jnp.sqrt(1 - ab) * eps


@shaped
def posterior(schedule: Schedule, x_t: Real[AnyArray, " n *dims"], x0: Real[AnyArray, " n *dims"],
              t: Int[AnyArray, " n"]) -> tuple[jax.Array, jax.Array]:
    r"""Mean and variance of the tractable posterior :math:`q(\mathbf{x}_{t-1}|\mathbf{x}_t, \mathbf{x}_0)`:

    .. math:: \boldsymbol\mu_q = \frac{\sqrt{\alpha_t}(1 - \bar\alpha_{t-1})\,\mathbf{x}_t
              + \sqrt{\bar\alpha_{t-1}}(1 - \alpha_t)\,\mathbf{x}_0}{1 - \bar\alpha_t},
              \qquad \sigma_q^2(t) = \frac{(1 - \alpha_t)(1 - \bar\alpha_{t-1})}{1 - \bar\alpha_t}.

    ``x_t``, ``x0`` ``(n, ...)``, ``t (n,)`` in 1..T -> mean like ``x_t``, variance ``(n,)``.
    """
    t = validate.time_index("t", t, schedule.T)
    a, ab, ab_prev = schedule.alphas[t], schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    mean = (
        arrays.per_example(jnp.sqrt(a) * (1 - ab_prev), x_t) * x_t
        + arrays.per_example(jnp.sqrt(ab_prev) * (1 - a), x_t) * x0
    ) / arrays.per_example(1 - ab, x_t)
    return mean, (1 - a) * (1 - ab_prev) / (1 - ab)


@shaped
def predict_x0(schedule: Schedule, x_t: Real[AnyArray, " n *dims"], t: Int[AnyArray, " n"],
               eps: Real[AnyArray, " n *dims"]) -> jax.Array:
    r"""Invert the closed form for :math:`\mathbf{x}_0`:
    :math:`\hat{\mathbf{x}}_0 = (\mathbf{x}_t - \sqrt{1 - \bar\alpha_t}\,\hat{\boldsymbol\epsilon})
    /\sqrt{\bar\alpha_t}`; ``x_t``, ``eps`` ``(n, ...)``, ``t (n,)`` in 1..T."""
    t = validate.time_index("t", t, schedule.T)
    ab = arrays.per_example(schedule.alpha_bars[t], x_t)
    return (x_t - jnp.sqrt(1 - ab) * eps) / jnp.sqrt(ab)


@shaped
def prior_kl(schedule: Schedule, x0: Real[AnyArray, " n *dims"]) -> jax.Array:
    r"""The prior-matching term :math:`D_{KL}(q(\mathbf{x}_T|\mathbf{x}_0)\,\|\,\mathcal{N}(0, I))`
    per example, in nats:

    .. math:: \frac12\sum_i\left[\bar\alpha_T x_{0,i}^2 + (1 - \bar\alpha_T) - 1
              - \log(1 - \bar\alpha_T)\right].

    ``x0 (n, ...)`` -> ``(n,)``.
    """
    ab = schedule.alpha_bars[-1]
    per_dim = 0.5 * (ab * x0**2 + (1 - ab) - 1 - jnp.log1p(-ab))
    return jnp.sum(per_dim.reshape(x0.shape[0], -1), axis=1)


@shaped
def denoising_weight(schedule: Schedule, t: Int[AnyArray, " n"]) -> jax.Array:
    r"""The weight that turns a squared noise error into the denoising-matching KL:

    .. math:: D_{KL}\left(q(\mathbf{x}_{t-1}|\mathbf{x}_t, \mathbf{x}_0)\,\|\,
              p_\theta(\mathbf{x}_{t-1}|\mathbf{x}_t)\right)
              = \frac{1}{2\sigma_q^2(t)}\frac{(1 - \alpha_t)^2}{(1 - \bar\alpha_t)\,\alpha_t}
              \lVert\boldsymbol\epsilon - \hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)\rVert^2,

    for :math:`p_\theta` with the posterior's variance and the mean of :func:`posterior` with
    :math:`\mathbf{x}_0` replaced by :func:`predict_x0`.  ``t (n,)`` in 2..T -> ``(n,)``; at
    t = 1, :math:`\sigma_q^2 = 0` and the term is the reconstruction term instead.
    """
    t = validate.integers_in("t", t, 2, schedule.T)  # a time index in 2..T
    a, ab, ab_prev = schedule.alphas[t], schedule.alpha_bars[t], schedule.alpha_bars[t - 1]
    var = (1 - a) * (1 - ab_prev) / (1 - ab)
    return (1 - a) ** 2 / (2 * var * (1 - ab) * a)


@shaped
def min_snr_weight(schedule: Schedule, t: Int[AnyArray, " n"], gamma) -> jax.Array:
    r"""Min-SNR-:math:`\gamma` weight on the noise error (Hang et al. 2023):

    .. math:: w_t = \frac{\min(\mathrm{SNR}_t, \gamma)}{\mathrm{SNR}_t}, \qquad
              w_t\lVert\boldsymbol\epsilon - \hat{\boldsymbol\epsilon}\rVert^2
              = \min(\mathrm{SNR}_t, \gamma)\,\lVert\mathbf{x}_0 - \hat{\mathbf{x}}_0\rVert^2,

    since :math:`\boldsymbol\epsilon - \hat{\boldsymbol\epsilon} = \sqrt{\mathrm{SNR}_t}\,
    (\hat{\mathbf{x}}_0 - \mathbf{x}_0)`.  It caps the weight of the nearly noise-free steps, whose
    small errors otherwise dominate the gradient.  ``t (n,)`` -> ``(n,)``.
    """
    validate.positive_number(gamma=gamma)
    t = validate.time_index("t", t, schedule.T)
    ab = schedule.alpha_bars[t]
    return jnp.minimum(1.0, gamma * (1 - ab) / ab)  # = 1 where SNR <= gamma, also at SNR = 0


@shaped
def simple_loss(key, model: EpsFn, schedule: Schedule, x0: Float[AnyArray, " n *dims"],
                min_snr_gamma=None) -> jax.Array:
    r"""Ho et al.'s simple loss

    .. math:: \mathbb{E}_{t, \boldsymbol\epsilon}\, w_t\left\lVert\boldsymbol\epsilon
              - \hat{\boldsymbol\epsilon}_\theta(\sqrt{\bar\alpha_t}\mathbf{x}_0
              + \sqrt{1 - \bar\alpha_t}\boldsymbol\epsilon, t)\right\rVert^2,

    with :math:`t \sim U\{1..T\}`, one t and one :math:`\boldsymbol\epsilon` per example, the squared
    norm averaged over dimensions and examples; :math:`w_t = 1`, or :func:`min_snr_weight` when
    ``min_snr_gamma`` is given.  ``model(x_t, t)`` predicts the noise; ``x0 (n, ...)`` finite -> scalar.
    """
    validate.key("key", key)
    validate.optional_positive(min_snr_gamma=min_snr_gamma)
    x0 = validate.finite("x0", x0)
    k_t, k_eps = jax.random.split(key)
    t = jax.random.randint(k_t, x0.shape[:1], 1, schedule.T + 1)
    eps = jax.random.normal(k_eps, x0.shape, x0.dtype)
    squared = (eps - model(q_sample(schedule, x0, t, eps), t)) ** 2
    if min_snr_gamma is None:
        return jnp.mean(squared)
    return jnp.mean(arrays.per_example(min_snr_weight(schedule, t, min_snr_gamma), x0) * squared)


@shaped
def denoising_loss(model, batch: Float[AnyArray, " n *dims"], key, schedule: Schedule,
                   min_snr_gamma=None) -> jax.Array:
    """:func:`simple_loss` on a batch of clean data, as the loss of
    :func:`helpers.core.train.gradient_step` (whose losses take ``(model, batch, key)``, the key third)."""
    return simple_loss(key, model, schedule, batch, min_snr_gamma)
