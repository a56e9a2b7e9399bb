r"""Restricted Boltzmann machines: energies, free energies, Gibbs sampling, CD-k and PCD, exact log Z.

Notation (the lecture's): visible units :math:`\mathbf{x}` ``(n, n_v)``, hidden units
:math:`\mathbf{h}` ``(n, n_h)``, parameters :math:`\Theta = \{\mathbf{a}, \mathbf{b}, W\}` held in a
dict ``{"a": (n_v,), "b": (n_h,), "W": (n_v, n_h)}``.  **Sign convention:** the Boltzmann
distribution is :math:`p(\mathbf{x}, \mathbf{h}) = e^{-E(\mathbf{x}, \mathbf{h})}/Z`, so low energy
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

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

from helpers.core import parallel, rng, validate
from helpers.core.validate import positive_int

Params = dict[str, jax.Array]
MAX_ENUMERATED = 25  # 2^25 states of the smaller layer is the most exact_log_partition will sum


def init_params(key: jax.Array, n_visible: int, n_hidden: int, data_mean=None, scale: float = 0.01) -> Params:
    """Small random weights ``N(0, scale^2)``, zero hidden biases, and visible biases
    :math:`a_i = \\log(p_i / (1 - p_i))` from the data's mean ``p`` when given (Hinton's practical
    guide: the RBM then starts as the independent-pixel model of the data), else zero."""
    validate.key("key", key)
    positive_int(n_visible=n_visible, n_hidden=n_hidden)
    validate.positive_number(scale=scale)
    a = jnp.zeros(n_visible)
    if data_mean is not None:
        validate.array("data_mean", data_mean, (n_visible,))
        validate.values_in("data_mean", data_mean, 0.0, 1.0, "pixel means in [0, 1]")
        p = jnp.clip(jnp.asarray(data_mean, jnp.float32), 1e-3, 1 - 1e-3)
        a = jnp.log(p) - jnp.log1p(-p)
    return {"a": a, "b": jnp.zeros(n_hidden), "W": scale * jax.random.normal(key, (n_visible, n_hidden))}


def check_params(params: Params) -> None:
    """Raise ``ValueError`` unless ``params`` is a dict of ``a (n_v,)``, ``b (n_h,)`` and ``W (n_v, n_h)``."""
    if not isinstance(params, dict) or not {"a", "b", "W"} <= set(params):
        found = sorted(params) if isinstance(params, dict) else type(params).__name__
        raise ValueError(f"params is {found}; expected a dict with 'a' (n_v,), 'b' (n_h,) and "
                         "'W' (n_v, n_h), as init_params makes")
    W = validate.array("params['W']", params["W"], ndim=2)
    validate.array("params['a']", params["a"], (W.shape[0],))
    validate.array("params['b']", params["b"], (W.shape[1],))


def _check_x(params: Params, x: jax.Array) -> jax.Array:
    check_params(params)
    x = x if isinstance(x, jax.core.Tracer) else jnp.asarray(x)
    if x.ndim != 2 or x.shape[1] != params["a"].shape[0]:
        raise ValueError(f"x has shape {x.shape}; expected (n, {params['a'].shape[0]}) visible units")
    return x


def _check_h(params: Params, h: jax.Array) -> None:
    check_params(params)
    if np.ndim(h) != 2 or np.shape(h)[1] != params["b"].shape[0]:
        raise ValueError(f"h has shape {np.shape(h)}; expected (n, {params['b'].shape[0]}) hidden units")


def _check_sigma(sigma):
    if sigma is None:
        return None
    if isinstance(sigma, jax.core.Tracer):  # inside a compiled step: checked when the step was built
        return sigma
    values = np.asarray(sigma, np.float32)  # NumPy, so the check is not staged into a jit trace
    if values.ndim > 1 or not np.all(np.isfinite(values) & (values > 0)):
        raise ValueError(f"sigma={values!r}; expected positive standard deviations")
    return jnp.asarray(values)


def energy(params: Params, x: jax.Array, h: jax.Array, sigma=None) -> jax.Array:
    r"""Joint energy :math:`E(\mathbf{x}, \mathbf{h})` (module docstring).

    ``x (n, n_v)``, ``h (n, n_h)`` -> ``(n,)``.
    """
    x = _check_x(params, x)
    sigma = _check_sigma(sigma)
    if sigma is None:
        return -x @ params["a"] - h @ params["b"] - jnp.sum((x @ params["W"]) * h, axis=1)
    xs = x / sigma**2
    return (jnp.sum((x - params["a"]) ** 2 / (2 * sigma**2), axis=1) - h @ params["b"]
            - jnp.sum((xs @ params["W"]) * h, axis=1))


def hidden_input(params: Params, x: jax.Array, sigma=None) -> jax.Array:
    r"""Input to the hidden units, ``(n, n_v)`` -> ``(n, n_h)``.

    :math:`b_j + \sum_i x_i w_{ij}` (binary) or :math:`b_j + \sum_i x_i w_{ij}/\sigma_i^2` (Gaussian).
    """
    x = _check_x(params, x)
    x = x if sigma is None else x / sigma**2
    return params["b"] + x @ params["W"]


def free_energy(params: Params, x: jax.Array, sigma=None) -> jax.Array:
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
    x = _check_x(params, x)
    sigma = _check_sigma(sigma)
    softplus = jnp.sum(jax.nn.softplus(hidden_input(params, x, sigma)), axis=1)
    if sigma is None:
        return -x @ params["a"] - softplus
    return jnp.sum((x - params["a"]) ** 2 / (2 * sigma**2), axis=1) - softplus


def hidden_probabilities(params: Params, x: jax.Array, sigma=None) -> jax.Array:
    r"""The hidden units are independent given x, each on with probability

    .. math:: p(h_j = 1 | \mathbf{x}) = \mathrm{sigmoid}\left(b_j + \textstyle\sum_i x_i w_{ij}\right)

    (with :math:`x_i/\sigma_i^2` in place of :math:`x_i` for Gaussian visible units).

    ``(n, n_v)`` -> ``(n, n_h)``.
    """
    return jax.nn.sigmoid(hidden_input(params, x, sigma))


def visible_mean(params: Params, h: jax.Array, sigma=None) -> jax.Array:
    r"""Mean of the visible units given h, ``(n, n_h)`` -> ``(n, n_v)``.

    Binary: :math:`p(x_i = 1 | \mathbf{h}) = \mathrm{sigmoid}(a_i + \sum_j w_{ij} h_j)`; Gaussian: the
    mean of :math:`p(x_i | \mathbf{h}) = \mathcal{N}(a_i + \sum_j w_{ij} h_j, \sigma_i^2)`.
    """
    _check_h(params, h)
    z = params["a"] + h @ params["W"].T
    return z if sigma is not None else jax.nn.sigmoid(z)


def sample_hidden(key: jax.Array, params: Params, x: jax.Array, sigma=None) -> jax.Array:
    """Draw ``h ~ p(h | x)``: ``(n, n_v)`` -> ``(n, n_h)`` in {0, 1}."""
    validate.key("key", key)
    return rng.bernoulli(key, hidden_probabilities(params, x, sigma))


def sample_visible(key: jax.Array, params: Params, h: jax.Array, sigma=None) -> jax.Array:
    """Draw ``x ~ p(x | h)``: Bernoulli (binary) or Gaussian visible units, ``(n, n_h)`` -> ``(n, n_v)``."""
    validate.key("key", key)
    mean = visible_mean(params, h, sigma)
    if sigma is None:
        return rng.bernoulli(key, mean)
    return mean + sigma * jax.random.normal(key, mean.shape)


def gibbs_step(key: jax.Array, params: Params, x: jax.Array, sigma=None) -> jax.Array:
    r"""One step of block Gibbs sampling, every row of ``x (n, n_v)`` a chain:
    :math:`\mathbf{h} \sim p(\mathbf{h}|\mathbf{x})`, then :math:`\mathbf{x}' \sim p(\mathbf{x}|\mathbf{h})`.
    Each layer is drawn at once, since its units are independent given the other layer."""
    k_h, k_x = jax.random.split(key)
    return sample_visible(k_x, params, sample_hidden(k_h, params, x, sigma), sigma)


@partial(jax.jit, static_argnames=("k",))
def _gibbs(key, params, x0, k, sigma):
    def step(x, kk):
        return gibbs_step(kk, params, x, sigma), None

    return jax.lax.scan(step, x0, jax.random.split(key, k))[0]


def gibbs(key: jax.Array, params: Params, x0: jax.Array, k: int, sigma=None) -> jax.Array:
    """``k`` steps of :func:`gibbs_step` as one ``lax.scan``; every row of ``x0`` ``(n, n_v)`` is a chain.
    Returns the visible state after k steps, ``(n, n_v)``."""
    validate.key("key", key)
    positive_int(k=k)
    return _gibbs(key, params, _check_x(params, x0), k, _check_sigma(sigma))


def phase_gradients(params: Params, x_pos: jax.Array, x_neg: jax.Array, sigma=None) -> Params:
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
    gradient becomes :math:`\langle (x_i - a_i)/\sigma_i^2\rangle`.  Returns a dict like ``params``:
    the *ascent* direction.
    """
    x_pos, x_neg = _check_x(params, x_pos), _check_x(params, x_neg)

    def phase(x):
        ph = hidden_probabilities(params, x, sigma)
        xs = x if sigma is None else x / sigma**2
        da = x if sigma is None else (x - params["a"]) / sigma**2
        return {"a": da.mean(0), "b": ph.mean(0), "W": xs.T @ ph / x.shape[0]}

    pos, neg = phase(x_pos), phase(x_neg)
    return jax.tree.map(lambda p, n: p - n, pos, neg)


def contrastive_loss(params: Params, x_pos: jax.Array, x_neg: jax.Array, sigma=None) -> jax.Array:
    r""":math:`\langle F(\mathbf{x})\rangle_{\rm data} - \langle F(\mathbf{x})\rangle_{\rm model}`, with the
    model samples held fixed; its gradient is minus :func:`phase_gradients`."""
    x_neg = jax.lax.stop_gradient(x_neg)
    return jnp.mean(free_energy(params, x_pos, sigma)) - jnp.mean(free_energy(params, x_neg, sigma))


def cd_step(optimizer: optax.GradientTransformation, k: int = 1, persistent: bool = False, sigma=None,
            mesh=None):
    r"""Contrastive divergence as a step of :func:`helpers.core.train.fit`; carry ``(params, opt_state,
    chains)``.

    Each step takes a batch :math:`\mathbf{x}^+` ``(B, n_v)``, runs ``k`` Gibbs steps from the batch
    itself (CD-k, Hinton 2002) or from the persistent chains ``(B, n_v)`` (PCD-k, Tieleman 2008;
    ``chains`` may be ``None`` for CD) to get :math:`\mathbf{x}^-`, and lets ``optimizer`` descend
    minus :func:`phase_gradients`, the positive phase minus the negative phase written out by hand
    (no automatic differentiation).  It reports ``"loss"``, the contrastive free-energy gap
    :math:`\langle F\rangle_{\rm data} - \langle F\rangle_{\rm model}` (:func:`contrastive_loss`), whose
    gradient this is; a progress signal, not the likelihood.

    With a ``mesh`` (:mod:`helpers.core.parallel`; pass the same one to :func:`helpers.core.train.fit`) the
    Gibbs chains, persistent or started at the batch, are split over its devices along the chain
    axis (their number must divide over them) and the parameters are replicated: each device runs
    its own chains, and the phase averages are summed across devices.  The Bernoulli draws are
    counter-based (:mod:`helpers.core.rng`), so the chains and the loss are those of one device up to the
    order of floating-point sums (``tests/test_parallel.py``).
    """
    validate.optimizer("optimizer", optimizer)
    positive_int(k=k)
    sigma = _check_sigma(sigma)
    parallel.check_mesh(mesh)

    def step(carry, x_pos, key):
        params, opt_state, chains = carry
        start = chains if persistent else x_pos
        parallel.check_divisible("chains.shape[0]" if persistent else "batch size", start.shape[0], mesh)
        x_neg = parallel.constrain(_gibbs(key, params, parallel.constrain(start, mesh), k, sigma), mesh)
        descent = jax.tree.map(jnp.negative, phase_gradients(params, x_pos, x_neg, sigma))
        updates, opt_state = optimizer.update(descent, opt_state, params)
        metrics = {"loss": contrastive_loss(params, x_pos, x_neg, sigma)}
        return (optax.apply_updates(params, updates), opt_state, x_neg if persistent else chains), metrics

    return step


def hidden_free_energy(params: Params, h: jax.Array, sigma=None) -> jax.Array:
    r"""Free energy of the hidden units, the visible units summed (binary) or integrated (Gaussian) out,
    :math:`e^{-F(\mathbf{h})} = \sum_\mathbf{x} e^{-E(\mathbf{x}, \mathbf{h})}`:

    .. math:: F(\mathbf{h}) = -\mathbf{b}^T\mathbf{h}
              - \sum_i \mathrm{softplus}\left(a_i + (W\mathbf{h})_i\right)
              \quad\text{(binary)},\qquad
              F(\mathbf{h}) = -\mathbf{b}^T\mathbf{h} - \sum_i\left[\log\sqrt{2\pi}\sigma_i
              + \frac{(a_i + (W\mathbf{h})_i)^2 - a_i^2}{2\sigma_i^2}\right]\quad\text{(Gaussian)}.

    ``h (n, n_h)`` -> ``(n,)``.
    """
    _check_h(params, h)
    wh = h @ params["W"].T  # (n, n_v)
    if sigma is None:
        return -h @ params["b"] - jnp.sum(jax.nn.softplus(params["a"] + wh), axis=1)
    a = params["a"]
    per_unit = 0.5 * math.log(2 * math.pi) + jnp.log(sigma) + ((a + wh) ** 2 - a**2) / (2 * sigma**2)
    return -h @ params["b"] - jnp.sum(per_unit, axis=1)


def exact_log_partition(params: Params, sigma=None, chunk_bits: int = 14) -> jax.Array:
    r"""Exact :math:`\log Z` by summing over every state of the smaller layer, the other summed out:

    .. math:: \log Z = \log\sum_\mathbf{h} e^{-F(\mathbf{h})} \ \ (n_h \le n_v\text{, or Gaussian units})
              \qquad\text{or}\qquad \log Z = \log\sum_\mathbf{x} e^{-F(\mathbf{x})},

    with :func:`hidden_free_energy` and :func:`free_energy`.  The :math:`2^{\min(n_v, n_h)}` terms are
    summed :math:`2^{\rm chunk\_bits}` at a time with a running log-sum-exp, so memory stays small and
    nothing overflows.  Refuses more than 25 enumerated units (use
    :func:`helpers.generative.ais.log_partition`).
    """
    check_params(params)
    positive_int(chunk_bits=chunk_bits)
    sigma = _check_sigma(sigma)
    n_v, n_h = params["W"].shape
    over_hidden = sigma is not None or n_h <= n_v
    n = n_h if over_hidden else n_v
    if n > MAX_ENUMERATED:
        raise ValueError(
            f"exact log Z needs 2^{n} terms (min(n_v, n_h) = {n} > {MAX_ENUMERATED}); "
            "use ais.log_partition for a model this large"
        )
    free = hidden_free_energy if over_hidden else free_energy
    return _log_sum_over_states(free, params, sigma, n, 2 ** min(chunk_bits, n))


@partial(jax.jit, static_argnames=("free", "n", "chunk"))
def _log_sum_over_states(free, params, sigma, n, chunk):
    r""":math:`\log\sum_\mathbf{s} e^{-F(\mathbf{s})}` over :math:`2^n` states, ``chunk`` at a time."""

    def chunk_sum(start):
        states = (((start + jnp.arange(chunk))[:, None] >> jnp.arange(n)) & 1).astype(jnp.float32)
        return jax.scipy.special.logsumexp(-free(params, states, sigma))

    return jax.scipy.special.logsumexp(jax.lax.map(chunk_sum, jnp.arange(0, 2**n, chunk)))


def log_likelihood(params: Params, x: jax.Array, log_z, sigma=None) -> jax.Array:
    r""":math:`\log p(\mathbf{x}) = -F(\mathbf{x}) - \log Z`, per example: ``(n, n_v)`` -> ``(n,)`` nats."""
    validate.finite("log_z", log_z)
    return -free_energy(params, x, sigma) - log_z
