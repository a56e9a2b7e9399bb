r"""Restricted Boltzmann machines: energies, free energies, Gibbs sampling, CD-k and PCD, exact log Z.

Notation (the lecture's): visible units :math:`\mathbf{x}` ``(n, n_v)``, hidden units
:math:`\mathbf{h}` ``(n, n_h)``, parameters :math:`\Theta = \{\mathbf{a}, \mathbf{b}, W\}` held in
:class:`RBMParams` ``(a (n_v,), b (n_h,), W (n_v, n_h))``, read as ``params.W``.
**Sign convention:** the Boltzmann distribution is
:math:`p(\mathbf{x}, \mathbf{h}) = e^{-E(\mathbf{x}, \mathbf{h})}/Z`, so low energy
is probable, and the free energy :math:`F` is defined by
:math:`p(\mathbf{x}) = e^{-F(\mathbf{x})}/Z`.

Binary-binary RBM (``sigma=None``), :math:`x_i, h_j \in \{0, 1\}`:

.. math:: E(\mathbf{x}, \mathbf{h}) = -\mathbf{a}^T\mathbf{x} - \mathbf{b}^T\mathbf{h}
          - \mathbf{x}^T W\mathbf{h}.

Gaussian-binary RBM (``sigma`` an array ``(n_v,)`` of standard deviations), :math:`x_i \in \mathbb{R}`:

.. math:: E(\mathbf{x}, \mathbf{h}) = \sum_i \frac{(x_i - a_i)^2}{2\sigma_i^2} - \mathbf{b}^T\mathbf{h}
          - \sum_{ij} \frac{x_i w_{ij} h_j}{\sigma_i^2}.

Annealed importance sampling of :math:`\log Z` for models too large to enumerate is in
:mod:`helpers.generative.ais`.
"""

from __future__ import annotations

import functools
import inspect
import math
import typing
from typing import Annotated, NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
import optax
from beartype.vale import Is
from jaxtyping import Float, Real

from helpers.core import parallel, rng, validate
from helpers.core.validate import AnyArray, positive_int, shaped

MAX_ENUMERATED = 25  # 2^25 states of the smaller layer is the most exact_log_partition will sum
_BINARY = "visible units in [0, 1] (divide 0..255 pixels by 255)"


class RBMParams(NamedTuple):
    r"""An RBM's parameters :math:`\Theta = \{\mathbf{a}, \mathbf{b}, W\}`, a pytree (optax, jit)."""

    a: Float[AnyArray, " n_v"]
    b: Float[AnyArray, " n_h"]
    W: Float[AnyArray, "n_v n_h"]


_FIELDS = typing.get_type_hints(RBMParams)


def _fits(params) -> bool:  # run by @shaped: the fields' sizes join the other arguments' n_v, n_h
    return isinstance(params, RBMParams) and all(any(isinstance(v, t) for t in typing.get_args(_FIELDS[name]))
                                                 for name, v in params._asdict().items())


Params = Annotated[RBMParams, Is[_fits]]  # RBMParams whose fields are a (n_v,), b (n_h,), W (n_v, n_h)
Sigma = float | np.floating | Real[AnyArray, "#n_v"] | Real[AnyArray, ""] | None  # standard deviations
Visible = Real[AnyArray, "n n_v"]
Hidden = Real[AnyArray, "n n_h"]


@shaped
def init_params(key, n_visible, n_hidden, data_mean: Real[AnyArray, " n_v"] | None = None,
                scale=0.01) -> RBMParams:
    """Small random weights ``N(0, scale^2)``, zero hidden biases, and visible biases
    :math:`a_i = \\log(p_i / (1 - p_i))` from the data's mean ``p`` when given (Hinton's practical
    guide: the RBM then starts as the independent-pixel model of the data), else zero."""
    validate.key("key", key)
    positive_int(n_visible=n_visible, n_hidden=n_hidden)
    validate.positive_number(scale=scale)
    a = jnp.zeros(n_visible)
    if data_mean is not None:
        if data_mean.shape != (n_visible,):
            raise ValueError(f"data_mean has shape {data_mean.shape}; expected ({n_visible},)")
        data_mean = validate.unit_interval("data_mean", data_mean, "pixel means in [0, 1]")
        p = jnp.clip(jnp.asarray(data_mean, jnp.float32), 1e-3, 1 - 1e-3)
        a = jnp.log(p) - jnp.log1p(-p)
    return RBMParams(a, jnp.zeros(n_hidden), scale * jax.random.normal(key, (n_visible, n_hidden)))


def _checked(sigma, **visible):
    """``sigma`` and each visible batch, checked and returned (in [0, 1]: binary units feed a Bernoulli)."""
    if sigma is not None:
        sigma = sigma if isinstance(sigma, jax.core.Tracer) else jnp.asarray(sigma, jnp.float32)
        sigma = validate.values_in("sigma", sigma, 1e-30, math.inf, "positive standard deviations")
    rule = validate.finite if sigma is not None else functools.partial(validate.unit_interval, what=_BINARY)
    return (sigma, *(rule(name, x) for name, x in visible.items()))


def _units(function):
    """``function`` @shaped, its ``key`` checked and its ``sigma`` and visible batches (``x``, ``x0``,
    ``x_pos``, ``x_neg``) passed through :func:`_checked`; ``function.unchecked``: the bare equation."""
    signature = inspect.signature(function)
    names = [name for name in ("x", "x0", "x_pos", "x_neg") if name in signature.parameters]

    @functools.wraps(function)
    def checked(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        if "key" in bound.arguments:
            validate.key("key", bound.arguments["key"])
        values = _checked(bound.arguments["sigma"], **{name: bound.arguments[name] for name in names})
        bound.arguments.update(zip(["sigma", *names], values, strict=True))
        return function(*bound.args, **bound.kwargs)

    checked = shaped(checked)
    checked.unchecked = function
    return checked


@_units
def energy(params: Params, x: Visible, h: Hidden, sigma: Sigma = None) -> Float[AnyArray, " n"]:
    r"""Joint energy :math:`E(\mathbf{x}, \mathbf{h})` (module docstring).

    ``x (n, n_v)``, ``h (n, n_h)`` -> ``(n,)``.
    """
    if sigma is None:
        return -x @ params.a - h @ params.b - jnp.sum((x @ params.W) * h, axis=1)
    xs = x / sigma**2
    return (jnp.sum((x - params.a) ** 2 / (2 * sigma**2), axis=1) - h @ params.b
            - jnp.sum((xs @ params.W) * h, axis=1))


@_units
def hidden_input(params: Params, x: Visible, sigma: Sigma = None) -> Float[AnyArray, "n n_h"]:
    r"""Input to the hidden units, ``(n, n_v)`` -> ``(n, n_h)``.

    :math:`b_j + \sum_i x_i w_{ij}` (binary) or :math:`b_j + \sum_i x_i w_{ij}/\sigma_i^2` (Gaussian).
    """
    return params.b + (x if sigma is None else x / sigma**2) @ params.W


@_units
def free_energy(params: Params, x: Visible, sigma: Sigma = None) -> Float[AnyArray, " n"]:
    r"""Free energy, the hidden units summed out:
    :math:`e^{-F(\mathbf{x})} = \sum_\mathbf{h} e^{-E(\mathbf{x}, \mathbf{h})}`, so

    .. math:: F(\mathbf{x}) = -\mathbf{a}^T\mathbf{x}
              - \sum_j \mathrm{softplus}\left(b_j + (\mathbf{x}^TW)_j\right)
              \quad\text{(binary)},\qquad
              F(\mathbf{x}) = \sum_i \frac{(x_i - a_i)^2}{2\sigma_i^2}
              - \sum_j \mathrm{softplus}\left(b_j + \textstyle\sum_i x_i w_{ij}/\sigma_i^2\right)
              \quad\text{(Gaussian)}.

    ``x (n, n_v)`` -> ``(n,)``.
    """
    softplus = jnp.sum(jax.nn.softplus(hidden_input.unchecked(params, x, sigma)), axis=1)
    if sigma is None:
        return -x @ params.a - softplus
    return jnp.sum((x - params.a) ** 2 / (2 * sigma**2), axis=1) - softplus


@_units
def hidden_probabilities(params: Params, x: Visible, sigma: Sigma = None) -> Float[AnyArray, "n n_h"]:
    r"""The hidden units are independent given x, each on with probability

    .. math:: p(h_j = 1 | \mathbf{x}) = \mathrm{sigmoid}\left(b_j + \textstyle\sum_i x_i w_{ij}\right)

    (with :math:`x_i/\sigma_i^2` in place of :math:`x_i` for Gaussian visible units).

    ``(n, n_v)`` -> ``(n, n_h)``.
    """
    return jax.nn.sigmoid(hidden_input.unchecked(params, x, sigma))


@_units
def visible_mean(params: Params, h: Hidden, sigma: Sigma = None) -> Float[AnyArray, "n n_v"]:
    r"""Mean of the visible units given h, ``(n, n_h)`` -> ``(n, n_v)``.

    Binary: :math:`p(x_i = 1 | \mathbf{h}) = \mathrm{sigmoid}(a_i + \sum_j w_{ij} h_j)`; Gaussian: the
    mean of :math:`p(x_i | \mathbf{h}) = \mathcal{N}(a_i + \sum_j w_{ij} h_j, \sigma_i^2)`.
    """
    z = params.a + h @ params.W.T
    return z if sigma is not None else jax.nn.sigmoid(z)


@_units
def sample_hidden(key, params: Params, x: Visible, sigma: Sigma = None) -> Float[AnyArray, "n n_h"]:
    """Draw ``h ~ p(h | x)``: ``(n, n_v)`` -> ``(n, n_h)`` in {0, 1}."""
    return rng.bernoulli(key, hidden_probabilities.unchecked(params, x, sigma))


@_units
def sample_visible(key, params: Params, h: Hidden, sigma: Sigma = None) -> Float[AnyArray, "n n_v"]:
    """Draw ``x ~ p(x | h)``: Bernoulli (binary) or Gaussian visible units, ``(n, n_h)`` -> ``(n, n_v)``."""
    mean = visible_mean.unchecked(params, h, sigma)
    return rng.bernoulli(key, mean) if sigma is None else mean + sigma * jax.random.normal(key, mean.shape)


@_units
def gibbs_step(key, params: Params, x: Visible, sigma: Sigma = None) -> Float[AnyArray, "n n_v"]:
    r"""One step of block Gibbs sampling, every row of ``x (n, n_v)`` a chain:
    :math:`\mathbf{h} \sim p(\mathbf{h}|\mathbf{x})`, then :math:`\mathbf{x}' \sim p(\mathbf{x}|\mathbf{h})`.
    Each layer is drawn at once, since its units are independent given the other layer."""
    k_h, k_x = jax.random.split(key)
    return sample_visible.unchecked(k_x, params, sample_hidden.unchecked(k_h, params, x, sigma), sigma)


@functools.partial(jax.jit, static_argnames=("k",))
def _gibbs(key, params, x0, k, sigma):
    def step(x, kk):
        return gibbs_step.unchecked(kk, params, x, sigma), None

    return jax.lax.scan(step, x0, jax.random.split(key, k))[0]


@_units
def gibbs(key, params: Params, x0: Visible, k, sigma: Sigma = None) -> Float[AnyArray, "n n_v"]:
    """``k`` steps of :func:`gibbs_step` as one ``lax.scan``; every row of ``x0`` ``(n, n_v)`` is a chain.
    Returns the visible state after k steps, ``(n, n_v)``."""
    positive_int(k=k)
    return _gibbs(key, params, x0, k, sigma)


@_units
def phase_gradients(params: Params, x_pos: Visible, x_neg: Visible, sigma: Sigma = None) -> RBMParams:
    r"""The lecture's log-likelihood gradient, positive phase minus negative phase, binary units:

    .. math:: \frac{\partial \log p}{\partial w_{ij}} = \langle x_i\, p(h_j{=}1|\mathbf{x})\rangle_{\rm data}
              - \langle x_i\, p(h_j{=}1|\mathbf{x})\rangle_{\rm model},\quad
              \frac{\partial \log p}{\partial a_i} = \langle x_i\rangle_{\rm data}
              - \langle x_i\rangle_{\rm model},\quad
              \frac{\partial \log p}{\partial b_j} = \langle p(h_j{=}1|\mathbf{x})\rangle_{\rm data}
              - \langle p(h_j{=}1|\mathbf{x})\rangle_{\rm model},

    i.e. :math:`-\partial E/\partial\theta` (:math:`\partial E/\partial w_{ij} = -x_i h_j` etc.) averaged over
    :math:`p(\mathbf{h}|\mathbf{x})`, with data ``x_pos`` and model samples ``x_neg`` (each ``(n, n_v)``).
    For Gaussian visible units x is replaced by :math:`x/\sigma^2` in the W gradient and the a
    gradient becomes :math:`\langle (x_i - a_i)/\sigma_i^2\rangle`.  Returns an :class:`RBMParams`:
    the *ascent* direction.
    """

    def phase(x):
        ph = hidden_probabilities.unchecked(params, x, sigma)
        xs = x if sigma is None else x / sigma**2
        da = x if sigma is None else (x - params.a) / sigma**2
        return RBMParams(da.mean(0), ph.mean(0), xs.T @ ph / x.shape[0])

    return jax.tree.map(lambda p, n: p - n, phase(x_pos), phase(x_neg))


@_units
def contrastive_loss(params: Params, x_pos: Visible, x_neg: Visible, sigma: Sigma = None) -> jax.Array:
    r""":math:`\langle F(\mathbf{x})\rangle_{\rm data} - \langle F(\mathbf{x})\rangle_{\rm model}`, with the
    model samples held fixed; its gradient is minus :func:`phase_gradients`."""
    free = free_energy.unchecked
    return jnp.mean(free(params, x_pos, sigma)) - jnp.mean(free(params, jax.lax.stop_gradient(x_neg), sigma))


@_units
def cd_step(optimizer: optax.GradientTransformation, k=1, persistent=False, sigma: Sigma = None, mesh=None):
    r"""Contrastive divergence as a step of :func:`helpers.core.train.fit`; carry ``(params, opt_state,
    chains)``.

    Each step takes a batch :math:`\mathbf{x}^+` ``(B, n_v)``, runs ``k`` Gibbs steps from the batch itself
    (CD-k, Hinton 2002) or from the persistent chains ``(B, n_v)`` (PCD-k, Tieleman 2008; ``chains`` may be
    ``None`` for CD) to get :math:`\mathbf{x}^-`, and lets ``optimizer`` descend minus
    :func:`phase_gradients` (by hand, no automatic differentiation).  It reports ``"loss"``, the gap
    :math:`\langle F\rangle_{\rm data} - \langle F\rangle_{\rm model}` (:func:`contrastive_loss`) whose
    gradient this is: a progress signal, not the likelihood.  Batch and chains: visible units in [0, 1]
    (binary) or finite (Gaussian), checked also inside the compiled step.

    With a ``mesh`` (:mod:`helpers.core.parallel`; pass it to :func:`helpers.core.train.fit` too) the chains
    are split over its devices (their number must divide over them), the parameters replicated and the
    phase averages summed across devices; the Bernoulli draws are counter-based (:mod:`helpers.core.rng`),
    so chains and loss are one device's up to the order of floating-point sums (``tests/test_parallel.py``).
    """
    validate.optimizer("optimizer", optimizer)
    positive_int(k=k)
    parallel.check_mesh(mesh)

    def step(carry, x_pos, key):
        params, opt_state, chains = carry
        _, x_pos, start = _checked(sigma, x=x_pos, chains=chains if persistent else x_pos)
        parallel.check_divisible("chains.shape[0]" if persistent else "batch size", start.shape[0], mesh)
        x_neg = parallel.constrain(_gibbs(key, params, parallel.constrain(start, mesh), k, sigma), mesh)
        descent = jax.tree.map(jnp.negative, phase_gradients.unchecked(params, x_pos, x_neg, sigma))
        updates, opt_state = optimizer.update(descent, opt_state, params)
        metrics = {"loss": contrastive_loss.unchecked(params, x_pos, x_neg, sigma)}
        return (optax.apply_updates(params, updates), opt_state, x_neg if persistent else chains), metrics

    return step


@_units
def hidden_free_energy(params: Params, h: Hidden, sigma: Sigma = None) -> Float[AnyArray, " n"]:
    r"""Free energy of the hidden units, the visible units summed (binary) or integrated (Gaussian) out,
    :math:`e^{-F(\mathbf{h})} = \sum_\mathbf{x} e^{-E(\mathbf{x}, \mathbf{h})}`:

    .. math:: F(\mathbf{h}) = -\mathbf{b}^T\mathbf{h}
              - \sum_i \mathrm{softplus}\left(a_i + (W\mathbf{h})_i\right)
              \quad\text{(binary)},\qquad
              F(\mathbf{h}) = -\mathbf{b}^T\mathbf{h} - \sum_i\left[\log\sqrt{2\pi}\sigma_i
              + \frac{(a_i + (W\mathbf{h})_i)^2 - a_i^2}{2\sigma_i^2}\right]\quad\text{(Gaussian)}.

    ``h (n, n_h)`` -> ``(n,)``.
    """
    wh = h @ params.W.T  # (n, n_v)
    if sigma is None:
        return -h @ params.b - jnp.sum(jax.nn.softplus(params.a + wh), axis=1)
    a = params.a
    per_unit = 0.5 * math.log(2 * math.pi) + jnp.log(sigma) + ((a + wh) ** 2 - a**2) / (2 * sigma**2)
    return -h @ params.b - jnp.sum(per_unit, axis=1)


@_units
def exact_log_partition(params: Params, sigma: Sigma = None, chunk_bits=14) -> Float[AnyArray, ""]:
    r"""Exact :math:`\log Z` by summing over every state of the smaller layer, the other summed out:

    .. math:: \log Z = \log\sum_\mathbf{h} e^{-F(\mathbf{h})} \ \ (n_h \le n_v\text{, or Gaussian units})
              \qquad\text{or}\qquad \log Z = \log\sum_\mathbf{x} e^{-F(\mathbf{x})},

    with :func:`hidden_free_energy` and :func:`free_energy`.  The :math:`2^{\min(n_v, n_h)}` terms are
    summed :math:`2^{\rm chunk\_bits}` at a time with a running log-sum-exp, so memory stays small and
    nothing overflows.  More than 25 enumerated units: :func:`helpers.generative.ais.log_partition`.
    """
    positive_int(chunk_bits=chunk_bits)
    n_v, n_h = params.W.shape
    over_hidden = sigma is not None or n_h <= n_v
    n = n_h if over_hidden else n_v
    if n > MAX_ENUMERATED:
        raise ValueError(f"exact log Z needs 2^{n} terms (min(n_v, n_h) = {n} > {MAX_ENUMERATED}); "
                         "use ais.log_partition for a model this large")
    free = (hidden_free_energy if over_hidden else free_energy).unchecked
    return _log_sum_over_states(free, params, sigma, n, 2 ** min(chunk_bits, n))


@functools.partial(jax.jit, static_argnames=("free", "n", "chunk"))
def _log_sum_over_states(free, params, sigma, n, chunk):
    r""":math:`\log\sum_\mathbf{s} e^{-F(\mathbf{s})}` over :math:`2^n` states, ``chunk`` at a time."""

    def chunk_sum(start):
        states = (((start + jnp.arange(chunk))[:, None] >> jnp.arange(n)) & 1).astype(jnp.float32)
        return jax.scipy.special.logsumexp(-free(params, states, sigma))

    return jax.scipy.special.logsumexp(jax.lax.map(chunk_sum, jnp.arange(0, 2**n, chunk)))


@shaped
def log_likelihood(params: Params, x: Visible, log_z: Real[AnyArray, ""] | float,
                   sigma: Sigma = None) -> Float[AnyArray, " n"]:
    r""":math:`\log p(\mathbf{x}) = -F(\mathbf{x}) - \log Z`, per example: ``(n, n_v)`` -> ``(n,)`` nats."""
    return -free_energy(params, x, sigma) - validate.finite("log_z", log_z)
