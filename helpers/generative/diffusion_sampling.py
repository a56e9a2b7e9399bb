r"""Denoising diffusion models, sampling side: ancestral (DDPM) and DDIM sampling of the reverse process.

A noise predictor is any callable ``eps_fn(x_t, t) -> eps_hat`` with ``x_t (n, *shape)`` and
``t (n,)`` integers, such as the NNX modules of :mod:`helpers.generative.denoisers`; each sampler runs its
steps as one ``lax.scan``, vectorised over the n samples.  Schedules, the posterior and
:math:`\hat{\mathbf{x}}_0` come from :mod:`helpers.generative.diffusion` (notation there).
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Int, Real

from helpers.core import arrays, validate
from helpers.core.validate import AnyArray, shaped
from helpers.generative.diffusion import EpsFn, Schedule, posterior, predict_x0
from helpers.networks import layers

_DATA_SHAPE = "(n_samples, *data_shape)"


@shaped
def ddpm_step(key, model: EpsFn, schedule: Schedule, x_t: Real[AnyArray, " n *dims"],
              t: Int[AnyArray, " n"], clip=None) -> jax.Array:
    r"""One step of ancestral sampling, :math:`\mathbf{x}_{t-1} \sim p_\theta(\mathbf{x}_{t-1}|\mathbf{x}_t)
    = \mathcal{N}(\boldsymbol\mu_q(\mathbf{x}_t, \hat{\mathbf{x}}_0), \sigma_q^2(t)I)`:

    predict :math:`\hat{\mathbf{x}}_0` from :math:`\hat{\boldsymbol\epsilon}_\theta(\mathbf{x}_t, t)`
    (:func:`predict_x0`; clipped to [-clip, clip] when ``clip`` is given, as for images), then draw
    from the posterior (:func:`posterior`) with it.  Without clipping this is Ho et al.'s
    :math:`\mathbf{x}_{t-1} = \frac{1}{\sqrt{\alpha_t}}\left(\mathbf{x}_t -
    \frac{1 - \alpha_t}{\sqrt{1 - \bar\alpha_t}}\hat{\boldsymbol\epsilon}\right) + \sigma_q\mathbf{z}`.
    ``x_t (n, ...)``, ``t (n,)`` in 1..T.
    """
    validate.key("key", key)
    t = validate.time_index("t", t, schedule.T)
    x0_hat = predict_x0(schedule, x_t, t, _predict_noise(model, x_t, t))
    if clip is not None:
        x0_hat = jnp.clip(x0_hat, -clip, clip)
    mean, var = posterior(schedule, x_t, x0_hat, t)
    noise = jax.random.normal(key, x_t.shape)
    return mean + jnp.sqrt(arrays.per_example(var, x_t)) * noise  # var = 0 at t = 1


def _predict_noise(model: EpsFn, x: jax.Array, t: jax.Array) -> jax.Array:
    eps = model(x, t)
    if eps.shape != x.shape:
        raise ValueError(f"the model returned shape {eps.shape} for x of shape {x.shape}; "
                         f"a noise predictor must return one value per input value")
    return eps


@shaped
def ddpm_sample(key, model: EpsFn, schedule: Schedule, shape, clip=None,
                return_path=False):
    r"""Ancestral sampling: :math:`\mathbf{x}_T \sim \mathcal{N}(0, I)`, then :func:`ddpm_step` for
    t = T..1, one ``lax.scan`` vectorised over the n samples.

    ``model``: an NNX module or a callable ``eps_fn(x_t, t)``; ``shape = (n, *data_shape)``.  Returns
    ``x_0`` ``shape``, and with ``return_path`` also every :math:`\mathbf{x}_t` as ``(T + 1, *shape)``,
    index t.
    """
    validate.key("key", key)
    shape = validate.layer_sizes("shape", shape, 2, _DATA_SHAPE)
    validate.optional_positive(clip=clip)
    return _ddpm(key, layers.as_module(model), schedule, shape, None if clip is None else float(clip),
                 return_path)


@partial(jax.jit, static_argnames=("shape", "clip", "return_path"))
def _ddpm(key, model, schedule, shape, clip, return_path):
    k_init, k_steps = jax.random.split(key)

    def step(x, inputs):
        t, k = inputs
        x = ddpm_step(k, model, schedule, x, jnp.full(shape[:1], t), clip)
        return x, x if return_path else None

    x_T = jax.random.normal(k_init, shape)
    x0, path = jax.lax.scan(step, x_T, (jnp.arange(schedule.T, 0, -1), jax.random.split(k_steps, schedule.T)))
    if return_path:
        return x0, jnp.concatenate([path[::-1], x_T[None]])
    return x0


@shaped
def ddim_step(key, model: EpsFn, schedule: Schedule, x: Real[AnyArray, " n *dims"], t, t_prev,
              eta=0.0, clip=None) -> jax.Array:
    r"""One DDIM step (Song, Meng and Ermon 2021) from time ``t`` to ``t_prev < t`` (integers):

    .. math:: \mathbf{x}_{t'} = \sqrt{\bar\alpha_{t'}}\,\hat{\mathbf{x}}_0
              + \sqrt{1 - \bar\alpha_{t'} - s^2}\;\hat{\boldsymbol\epsilon} + s\mathbf{z},
              \qquad s = \eta\sqrt{\frac{1 - \bar\alpha_{t'}}{1 - \bar\alpha_t}
              \left(1 - \frac{\bar\alpha_t}{\bar\alpha_{t'}}\right)},

    with :math:`t' =` ``t_prev``.  :math:`\eta = 0` is deterministic; :math:`\eta = 1` with
    :math:`t' = t - 1` is :func:`ddpm_step`.  With ``clip``, :math:`\hat{\mathbf{x}}_0` is clipped
    and :math:`\hat{\boldsymbol\epsilon}` recomputed from it, so the two stay consistent.
    """
    validate.key("key", key)
    validate.nonnegative_number(eta=eta)
    t, t_prev = validate.time_index("t", t, schedule.T), validate.integers_in("t_prev", t_prev, 0, schedule.T)
    if validate.concrete(t) is not None and validate.concrete(t_prev) is not None and not t_prev < t:
        raise ValueError(f"t={int(t)}, t_prev={int(t_prev)}; expected t_prev < t")
    ab, ab_prev = schedule.alpha_bars[t], schedule.alpha_bars[t_prev]
    tt = jnp.full(x.shape[:1], t)
    eps = _predict_noise(model, x, tt)
    x0_hat = predict_x0(schedule, x, tt, eps)
    if clip is not None:
        x0_hat = jnp.clip(x0_hat, -clip, clip)
        eps = (x - jnp.sqrt(ab) * x0_hat) / jnp.sqrt(1 - ab)
    s = eta * jnp.sqrt((1 - ab_prev) / (1 - ab) * (1 - ab / ab_prev))
    return (jnp.sqrt(ab_prev) * x0_hat + jnp.sqrt(jnp.maximum(1 - ab_prev - s**2, 0.0)) * eps
            + s * jax.random.normal(key, x.shape))


@shaped
def ddim_sample(key, model: EpsFn, schedule: Schedule, shape, steps=50, eta=0.0,
                clip=None) -> jax.Array:
    r"""DDIM sampling on the sub-sequence :math:`\tau_i = iT/S`, i = S..1 (S = ``steps``, which must
    divide T), :func:`ddim_step` from :math:`\tau_i` to :math:`\tau_{i-1}` with :math:`\tau_0 = 0`
    (:math:`\bar\alpha_0 = 1`), starting at :math:`\mathbf{x}_T \sim \mathcal{N}(0, I)`.
    Returns ``x_0`` of ``shape = (n, *data_shape)``.
    """
    validate.key("key", key)
    shape = validate.layer_sizes("shape", shape, 2, _DATA_SHAPE)
    if not validate.is_integer(steps) or not 1 <= steps <= schedule.T or schedule.T % steps:
        raise ValueError(f"steps={steps!r}; expected a divisor of T = {schedule.T} between 1 and T")
    validate.nonnegative_number(eta=eta)
    validate.optional_positive(clip=clip)
    clip = None if clip is None else float(clip)
    return _ddim(key, layers.as_module(model), schedule, shape, steps, float(eta), clip)


@partial(jax.jit, static_argnames=("shape", "steps", "clip"))
def _ddim(key, model, schedule, shape, steps, eta, clip):
    k_init, k_steps = jax.random.split(key)
    stride = schedule.T // steps

    def step(x, inputs):
        i, k = inputs
        return ddim_step(k, model, schedule, x, i * stride, (i - 1) * stride, eta, clip), None

    x0, _ = jax.lax.scan(
        step, jax.random.normal(k_init, shape), (jnp.arange(steps, 0, -1), jax.random.split(k_steps, steps))
    )
    return x0
