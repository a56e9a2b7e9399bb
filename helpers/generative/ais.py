r"""Annealed importance sampling (AIS) of an RBM's partition function (Neal 2001; Salakhutdinov and
Murray, ICML 2008), for models too large for :func:`helpers.generative.rbm.exact_log_partition`.

A base model A with a known :math:`Z_A` (independent visible units) is moved to the target RBM B
through a ladder of intermediate RBMs :math:`p_\beta` (:func:`tempered`),
:math:`0 = \beta_0 < \dots < \beta_K = 1` (:func:`beta_schedule`); every run accumulates an importance
weight along the ladder (:func:`ladder_step`), and :func:`log_partition` averages them.
Parameters are :class:`helpers.generative.rbm.RBMParams` ``(a (n_v,), b (n_h,), W (n_v, n_h))``.
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
from jaxtyping import Float, Real

from helpers.core import parallel, rng, validate
from helpers.core.validate import AnyArray, shaped
from helpers.generative import rbm


def beta_schedule(n_low: int = 500, n_mid: int = 4000, n_high: int = 10000) -> jax.Array:
    r"""Salakhutdinov and Murray's inverse temperatures: ``n_low`` steps on [0, 0.5], ``n_mid`` on
    [0.5, 0.9], ``n_high`` on [0.9, 1] (14 500 by default), ending at exactly 1."""
    validate.positive_int(n_low=n_low, n_mid=n_mid, n_high=n_high)
    return jnp.concatenate([jnp.linspace(0.0, 0.5, n_low, endpoint=False),
                            jnp.linspace(0.5, 0.9, n_mid, endpoint=False),
                            jnp.linspace(0.9, 1.0, n_high + 1)])


@shaped
def tempered(params: rbm.Params, base_bias: Real[AnyArray, " n_v"], beta) -> rbm.RBMParams:
    r"""The RBM between the base model A (independent visible units with biases ``base_bias``, no
    weights) and the target B: its energy is :math:`(1 - \beta)E_A + \beta E_B`, so

    .. math:: \mathbf{a}_\beta = (1 - \beta)\mathbf{a}_A + \beta\mathbf{a}, \qquad
              \mathbf{b}_\beta = \beta\mathbf{b}, \qquad W_\beta = \beta W,

    and its unnormalised marginal is :math:`p_\beta^*(\mathbf{x}) = e^{-F_\beta(\mathbf{x})}` with the
    free energy of these parameters.  :math:`\beta = 0` is A, with
    :math:`Z_A = 2^{n_h}\prod_i(1 + e^{a^A_i})`; :math:`\beta = 1` is B.
    """
    validate.fraction(beta=beta)
    a = (1 - beta) * base_bias + beta * params.a
    return rbm.RBMParams(a, beta * params.b, beta * params.W)


@shaped
def ladder_step(key, params: rbm.Params, base_bias: Real[AnyArray, " n_v"], x: Real[AnyArray, "M n_v"],
                log_w: Float[AnyArray, " M"], beta_prev, beta) -> tuple[jax.Array, jax.Array]:
    r"""One rung of the annealing ladder, for every run at once (``x (M, n_v)``, ``log_w (M,)``):

    .. math:: \log w \mathrel{+}= \log p^*_{\beta_k}(\mathbf{x}) - \log p^*_{\beta_{k-1}}(\mathbf{x}),
              \qquad \log p^*_\beta(\mathbf{x}) = -F_\beta(\mathbf{x}) = \mathbf{a}_\beta^T\mathbf{x}
              + \sum_j \mathrm{softplus}\left(\beta\,(b_j + (\mathbf{x}^TW)_j)\right),

    then one Gibbs step of :math:`p_{\beta_k}` (:func:`tempered`), which leaves it invariant and makes
    the final weights unbiased for :math:`Z_B/Z_A`.  The hidden input :math:`\mathbf{b} + \mathbf{x}^TW`
    serves both terms and the hidden draw, so a rung costs two matrix products.
    """
    validate.key("key", key)
    x = validate.unit_interval("x", x, "visible units in [0, 1]")
    return _rung(key, params, base_bias, x, log_w, beta_prev, beta)


def _rung(key, params, base_bias, x, log_w, beta_prev, beta):
    hidden_in = params.b + x @ params.W  # (M, n_h), the hidden input of rbm.hidden_input

    def log_p_star(b):
        return x @ ((1 - b) * base_bias + b * params.a) + jnp.sum(jax.nn.softplus(b * hidden_in), axis=1)

    log_w = log_w + log_p_star(beta) - log_p_star(beta_prev)
    k_h, k_x = jax.random.split(key)
    h = rng.bernoulli(k_h, jax.nn.sigmoid(beta * hidden_in))  # p_beta(h | x)
    return rbm.sample_visible(k_x, tempered(params, base_bias, beta), h), log_w


@partial(jax.jit, static_argnames=("n_runs", "mesh"))
def _log_weights(key, params, betas, n_runs, base_bias, mesh=None):
    k0, k_run = jax.random.split(key)
    x = rng.bernoulli(k0, jnp.broadcast_to(jax.nn.sigmoid(base_bias), (n_runs, base_bias.shape[0])))
    x = parallel.constrain(x, mesh)  # the runs split over the devices

    def rung(carry, inputs):
        beta_prev, beta, k = inputs
        return _rung(k, params, base_bias, *carry, beta_prev, beta), None

    keys = jax.random.split(k_run, betas.shape[0] - 1)
    (_, log_w), _ = jax.lax.scan(rung, (x, jnp.zeros(n_runs)), (betas[:-1], betas[1:], keys))
    return log_w


def _check_ladder(betas, n_runs, base_bias, n_v):
    betas = jnp.asarray(betas, jnp.float32)
    if betas.shape[0] < 2:
        raise ValueError(f"betas has shape {betas.shape}; expected at least 2 inverse temperatures")
    ends_ok = abs(float(betas[0])) < 1e-7 and abs(float(betas[-1]) - 1.0) < 1e-7
    if not ends_ok or not bool(jnp.all(jnp.diff(betas) >= 0)):
        raise ValueError(f"betas run from {float(betas[0])} to {float(betas[-1])}; expected them to "
                         "increase from 0 to 1")
    if not validate.is_integer(n_runs) or n_runs < 2:
        raise ValueError(f"n_runs={n_runs!r}; expected an integer >= 2")
    if base_bias is None:
        return betas, jnp.zeros(n_v)
    return betas, jnp.asarray(validate.finite("base_bias", base_bias), jnp.float32)


@shaped
def log_partition(key, params: rbm.Params, betas: Real[AnyArray, " K"], n_runs=100,
                  base_bias: Real[AnyArray, " n_v"] | None = None, mesh=None):
    r"""Annealed importance sampling estimate of :math:`\log Z` for a binary-binary RBM (Neal 2001;
    Salakhutdinov and Murray, ICML 2008).

    Each of ``n_runs`` parallel runs draws :math:`\mathbf{x}` from the base model A, then climbs the
    ladder ``betas`` (increasing from 0 to 1, :func:`beta_schedule`) with :func:`ladder_step`,
    accumulating :math:`\log w`; then

    .. math:: \log\hat Z = \log Z_A + \log\frac{1}{M}\sum_{m=1}^M w^{(m)},
              \qquad \log Z_A = n_h\log 2 + \sum_i \mathrm{softplus}(a^A_i).

    ``base_bias``: the base model's visible biases (default 0; the data's log-odds is better).
    Returns ``(log_z, standard_error, log_w (n_runs,))``; the standard error is the delta-method
    :math:`\mathrm{sd}(w)/(\bar w\sqrt M)` of the log estimate.  With a ``mesh``
    (:mod:`helpers.core.parallel`) the runs are split over its devices.
    """
    validate.key("key", key)
    betas, base = _check_ladder(betas, n_runs, base_bias, params.W.shape[0])
    parallel.check_mesh(mesh)
    parallel.check_divisible("n_runs", n_runs, mesh)
    n_h = params.W.shape[1]
    log_w = _log_weights(key, params, betas, n_runs, base, mesh)
    log_z_base = n_h * math.log(2.0) + jnp.sum(jax.nn.softplus(base))
    log_mean_w = jax.scipy.special.logsumexp(log_w) - math.log(n_runs)
    w = jnp.exp(log_w - jnp.max(log_w))
    se = jnp.std(w) / (jnp.mean(w) * math.sqrt(n_runs))
    return log_z_base + log_mean_w, se, log_w
