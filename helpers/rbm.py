r"""Restricted Boltzmann machines: energies, free energies, Gibbs sampling, CD-k and PCD, exact and AIS log Z.

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
"""

from __future__ import annotations

import math
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax

Params = dict[str, jax.Array]
MAX_ENUMERATED = 25  # 2^25 states of the smaller layer is the most exact_log_partition will sum


def init_params(key: jax.Array, n_visible: int, n_hidden: int, data_mean=None, scale: float = 0.01) -> Params:
    """Small random weights ``N(0, scale^2)``, zero hidden biases, and visible biases
    :math:`a_i = \\log(p_i / (1 - p_i))` from the data's mean ``p`` when given (Hinton's practical
    guide: the RBM then starts as the independent-pixel model of the data), else zero."""
    for name, value in (("n_visible", n_visible), ("n_hidden", n_hidden)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name}={value!r}; expected a positive integer")
    a = jnp.zeros(n_visible)
    if data_mean is not None:
        p = jnp.clip(jnp.asarray(data_mean, jnp.float32), 1e-3, 1 - 1e-3)
        a = jnp.log(p) - jnp.log1p(-p)
    return {"a": a, "b": jnp.zeros(n_hidden), "W": scale * jax.random.normal(key, (n_visible, n_hidden))}


def _check_x(params: Params, x: jax.Array) -> jax.Array:
    x = jnp.asarray(x)
    if x.ndim != 2 or x.shape[1] != params["a"].shape[0]:
        raise ValueError(f"x has shape {x.shape}; expected (n, {params['a'].shape[0]}) visible units")
    return x


def _check_sigma(sigma):
    if sigma is None:
        return None
    if isinstance(sigma, jax.core.Tracer):  # inside a compiled step: checked when the step was built
        return sigma
    values = np.asarray(sigma, np.float32)  # NumPy, so the check is not staged into a jit trace
    if not np.all(values > 0):
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
    z = params["a"] + h @ params["W"].T
    return z if sigma is not None else jax.nn.sigmoid(z)


def sample_hidden(key: jax.Array, params: Params, x: jax.Array, sigma=None) -> jax.Array:
    """Draw ``h ~ p(h | x)``: ``(n, n_v)`` -> ``(n, n_h)`` in {0, 1}."""
    p = hidden_probabilities(params, x, sigma)
    return (jax.random.uniform(key, p.shape) < p).astype(p.dtype)


def sample_visible(key: jax.Array, params: Params, h: jax.Array, sigma=None) -> jax.Array:
    """Draw ``x ~ p(x | h)``: Bernoulli (binary) or Gaussian visible units, ``(n, n_h)`` -> ``(n, n_v)``."""
    mean = visible_mean(params, h, sigma)
    if sigma is None:
        return (jax.random.uniform(key, mean.shape) < mean).astype(mean.dtype)
    return mean + sigma * jax.random.normal(key, mean.shape)


def _gibbs_step(params, x, key, sigma):
    k_h, k_x = jax.random.split(key)
    return sample_visible(k_x, params, sample_hidden(k_h, params, x, sigma), sigma)


@partial(jax.jit, static_argnames=("k",))
def _gibbs(key, params, x0, k, sigma):
    def step(x, kk):
        return _gibbs_step(params, x, kk, sigma), None

    return jax.lax.scan(step, x0, jax.random.split(key, k))[0]


def gibbs(key: jax.Array, params: Params, x0: jax.Array, k: int, sigma=None) -> jax.Array:
    r"""``k`` steps of block Gibbs sampling, :math:`\mathbf{h} \sim p(\mathbf{h}|\mathbf{x})` then
    :math:`\mathbf{x} \sim p(\mathbf{x}|\mathbf{h})`, as one ``lax.scan``; every row of ``x0`` ``(n, n_v)``
    is a chain.  Returns the visible state after k steps, ``(n, n_v)``."""
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; expected a positive integer number of Gibbs steps")
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


def make_epoch(optimizer: optax.GradientTransformation, batch_size: int, k: int = 1, persistent: bool = False,
               sigma=None):
    r"""Build a jitted ``epoch(params, opt_state, chains, key, data) -> (params, opt_state, chains, recon)``.

    Each step takes a batch :math:`\mathbf{x}^+`, runs ``k`` Gibbs steps from the batch itself
    (CD-k) or from the persistent chains ``chains (batch_size, n_v)`` (PCD, ``persistent=True``,
    Tieleman 2008) to get :math:`\mathbf{x}^-`, and applies ``optimizer`` to the gradient of
    :func:`contrastive_loss`.  The whole epoch is one ``lax.scan``; ``recon`` is the mean squared
    one-step reconstruction error per batch, a cheap progress signal (not the likelihood).
    """
    if not isinstance(k, int) or k < 1:
        raise ValueError(f"k={k!r}; expected a positive integer number of Gibbs steps")
    sigma = _check_sigma(sigma)

    def step(carry, inputs):
        params, opt_state, chains = carry
        x_pos, key = inputs
        k_neg, k_rec = jax.random.split(key)
        start = chains if persistent else x_pos
        x_neg = _gibbs(k_neg, params, start, k, sigma)
        grads = jax.grad(contrastive_loss)(params, x_pos, x_neg, sigma)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        params = optax.apply_updates(params, updates)
        recon = visible_mean(params, hidden_probabilities(params, x_pos, sigma), sigma)
        return (params, opt_state, x_neg if persistent else chains), jnp.mean((recon - x_pos) ** 2)

    @jax.jit
    def epoch(params, opt_state, chains, key, data):
        n_batches = data.shape[0] // batch_size
        k_perm, k_steps = jax.random.split(key)
        order = jax.random.permutation(k_perm, data.shape[0])[: n_batches * batch_size]
        batches = data[order].reshape(n_batches, batch_size, data.shape[1])
        (params, opt_state, chains), recon = jax.lax.scan(
            step, (params, opt_state, chains), (batches, jax.random.split(k_steps, n_batches)))
        return params, opt_state, chains, recon

    return epoch


def _states(start, count, n):  # the binary states start .. start+count-1 of n units, (count, n)
    idx = start + jnp.arange(count)
    return ((idx[:, None] >> jnp.arange(n)) & 1).astype(jnp.float32)


def exact_log_partition(params: Params, sigma=None, chunk_bits: int = 14) -> jax.Array:
    r"""Exact :math:`\log Z` by summing over every state of the smaller layer.

    Binary, enumerating h (when :math:`n_h \le n_v`):
    :math:`\log Z = \log\sum_\mathbf{h} e^{\mathbf{b}^T\mathbf{h}}
    \prod_i\left(1 + e^{a_i + (W\mathbf{h})_i}\right)`;
    enumerating x instead: :math:`\log Z = \log\sum_\mathbf{x} e^{-F(\mathbf{x})}`.  Gaussian visible units
    are integrated analytically, so h is enumerated:
    :math:`Z = \sum_\mathbf{h} e^{\mathbf{b}^T\mathbf{h}}\prod_i \sqrt{2\pi}\sigma_i
    \exp\left(\frac{(a_i + (W\mathbf{h})_i)^2 - a_i^2}{2\sigma_i^2}\right)`.

    The :math:`2^{\min(n_v, n_h)}` terms are summed in chunks of :math:`2^{\rm chunk\_bits}` with a
    running log-sum-exp, so memory stays small.  Refuses more than 25 enumerated units.
    """
    sigma = _check_sigma(sigma)
    n_v, n_h = params["W"].shape
    over_hidden = sigma is not None or n_h <= n_v
    n = n_h if over_hidden else n_v
    if n > MAX_ENUMERATED:
        raise ValueError(
            f"exact log Z needs 2^{n} terms (min(n_v, n_h) = {n} > {MAX_ENUMERATED}); "
            "use ais_log_partition for a model this large"
        )
    chunk = 2 ** min(chunk_bits, n)
    return _exact_log_z(params, sigma, n, chunk, over_hidden)


@partial(jax.jit, static_argnames=("n", "chunk", "over_hidden"))
def _exact_log_z(params, sigma, n, chunk, over_hidden):
    def term(states):
        if not over_hidden:
            return -free_energy(params, states)
        wh = states @ params["W"].T  # (chunk, n_v)
        if sigma is None:
            return states @ params["b"] + jnp.sum(jax.nn.softplus(params["a"] + wh), axis=1)
        a = params["a"]
        per_unit = 0.5 * math.log(2 * math.pi) + jnp.log(sigma) + ((a + wh) ** 2 - a**2) / (2 * sigma**2)
        return states @ params["b"] + jnp.sum(per_unit, axis=1)

    starts = jnp.arange(0, 2**n, chunk)
    partial_sums = jax.lax.map(lambda s: jax.scipy.special.logsumexp(term(_states(s, chunk, n))), starts)
    return jax.scipy.special.logsumexp(partial_sums)


def ais_schedule(n_low: int = 500, n_mid: int = 4000, n_high: int = 10000) -> jax.Array:
    r"""Salakhutdinov and Murray's inverse temperatures: ``n_low`` steps on [0, 0.5], ``n_mid`` on
    [0.5, 0.9], ``n_high`` on [0.9, 1] (14 500 by default), ending at exactly 1."""
    return jnp.concatenate([jnp.linspace(0.0, 0.5, n_low, endpoint=False),
                            jnp.linspace(0.5, 0.9, n_mid, endpoint=False),
                            jnp.linspace(0.9, 1.0, n_high + 1)])


def ais_log_partition(key: jax.Array, params: Params, betas, n_runs: int = 100, base_bias=None):
    r"""Annealed importance sampling estimate of :math:`\log Z` for a binary-binary RBM (Salakhutdinov
    and Murray, ICML 2008).

    Base model A: independent visible units with biases ``base_bias`` (default 0; the data's
    log-odds is better) and :math:`Z_A = 2^{n_h}\prod_i(1 + e^{a^A_i})`.  Intermediate models
    :math:`p_k^*(\mathbf{x}) = e^{(1-\beta_k)\mathbf{a}_A^T\mathbf{x} + \beta_k\mathbf{a}^T\mathbf{x}}
    \prod_j\left(1 + e^{\beta_k(b_j + (\mathbf{x}^TW)_j)}\right)` are RBMs, so one Gibbs step at
    :math:`\beta_k` is a valid transition.  Each of ``n_runs`` parallel runs accumulates
    :math:`\log w = \sum_k [\log p_k^*(\mathbf{x}_{k-1}) - \log p_{k-1}^*(\mathbf{x}_{k-1})]`, and

    .. math:: \log\hat Z = \log Z_A + \log\frac{1}{M}\sum_{m=1}^M w^{(m)}.

    ``betas``: increasing from 0 to 1, at least 2 values (:func:`ais_schedule`).  Returns
    ``(log_z, standard_error, log_w (n_runs,))``; the standard error is the delta-method
    :math:`\mathrm{sd}(w)/(\bar w\sqrt M)` of the log estimate.
    """
    betas = jnp.asarray(betas, jnp.float32)
    if betas.ndim != 1 or betas.shape[0] < 2:
        raise ValueError(f"betas has shape {betas.shape}; expected at least 2 inverse temperatures")
    ends_ok = abs(float(betas[0])) < 1e-7 and abs(float(betas[-1]) - 1.0) < 1e-7
    if not ends_ok or not bool(jnp.all(jnp.diff(betas) >= 0)):
        raise ValueError("betas must increase from 0 to 1")
    if not isinstance(n_runs, int) or n_runs < 2:
        raise ValueError(f"n_runs={n_runs!r}; expected an integer >= 2")
    n_v, n_h = params["W"].shape
    base = jnp.zeros(n_v) if base_bias is None else jnp.asarray(base_bias, jnp.float32)
    log_w = _ais(key, params, betas, n_runs, base)
    log_z_base = n_h * math.log(2.0) + jnp.sum(jax.nn.softplus(base))
    log_mean_w = jax.scipy.special.logsumexp(log_w) - math.log(n_runs)
    w = jnp.exp(log_w - jnp.max(log_w))
    se = jnp.std(w) / (jnp.mean(w) * math.sqrt(n_runs))
    return log_z_base + log_mean_w, se, log_w


@partial(jax.jit, static_argnames=("n_runs",))
def _ais(key, params, betas, n_runs, base):
    def log_p_star(x, beta):
        visible = ((1 - beta) * base + beta * params["a"]) @ x.T
        return visible + jnp.sum(jax.nn.softplus(beta * hidden_input(params, x)), axis=1)

    def tempered(beta):
        return {"a": (1 - beta) * base + beta * params["a"], "b": beta * params["b"], "W": beta * params["W"]}

    k0, k_run = jax.random.split(key)
    x = (jax.random.uniform(k0, (n_runs, base.shape[0])) < jax.nn.sigmoid(base)).astype(jnp.float32)

    def step(carry, inputs):
        x, log_w = carry
        beta_prev, beta, k = inputs
        log_w = log_w + log_p_star(x, beta) - log_p_star(x, beta_prev)
        x = _gibbs_step(tempered(beta), x, k, None)
        return (x, log_w), None

    keys = jax.random.split(k_run, betas.shape[0] - 1)
    (x, log_w), _ = jax.lax.scan(step, (x, jnp.zeros(n_runs)), (betas[:-1], betas[1:], keys))
    return log_w


def log_likelihood(params: Params, x: jax.Array, log_z, sigma=None) -> jax.Array:
    r""":math:`\log p(\mathbf{x}) = -F(\mathbf{x}) - \log Z`, per example: ``(n, n_v)`` -> ``(n,)`` nats."""
    return -free_energy(params, x, sigma) - log_z
