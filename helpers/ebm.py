r"""Energy-based models: Langevin and MALA samplers, a replay buffer, the contrastive-divergence loss.

Sign convention (kept everywhere): :math:`p_\theta(\mathbf{x}) = e^{-E_\theta(\mathbf{x})} / Z_\theta`,
so *low* energy means *high* probability, and the score is
:math:`\nabla_\mathbf{x} \log p = -\nabla_\mathbf{x} E`.

``energy_fn`` maps a batch ``(n, *shape)`` to energies ``(n,)``; chains are the rows of the batch
and run in parallel.  Loops over steps are ``jax.lax.scan``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from tqdm.auto import tqdm

EnergyFn = Callable[[jax.Array], jax.Array]


def _grad_energy(energy_fn: EnergyFn, x: jax.Array) -> jax.Array:
    # Each chain's energy depends on its own row only, so the gradient of the sum is per-chain.
    return jax.grad(lambda z: jnp.sum(energy_fn(z)))(x)


def _energy_and_grad(energy_fn: EnergyFn, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    # One forward and one backward pass for both (n,) energies and their (n, *shape) gradients.
    energies, vjp = jax.vjp(energy_fn, x)
    return energies, vjp(jnp.ones_like(energies))[0]


def _step_sizes(step_size, n_steps: int) -> jax.Array:
    if not isinstance(n_steps, int) or n_steps < 1:
        raise ValueError(f"n_steps={n_steps!r}; expected a positive integer")
    sizes = jnp.broadcast_to(jnp.asarray(step_size, jnp.float32), (n_steps,))
    if not bool(jnp.all(sizes > 0)):
        raise ValueError(f"step_size={step_size!r}; expected positive values (a number or one per step)")
    return sizes


def langevin(
    key: jax.Array,
    energy_fn: EnergyFn,
    x0: jax.Array,
    step_size,
    n_steps: int,
    grad_clip: float | None = None,
    keep_every: int = 0,
    bounds: tuple[float, float] | None = None,
):
    r"""Unadjusted Langevin dynamics, all chains at once:

    .. math:: \mathbf{x}_{k+1} = \mathbf{x}_k - \frac{\epsilon_k}{2} \nabla_\mathbf{x} E(\mathbf{x}_k)
              + \sqrt{\epsilon_k}\, \boldsymbol{\xi}_k, \qquad \boldsymbol{\xi}_k \sim \mathcal{N}(0, I).

    ``step_size`` is :math:`\epsilon` (a number, or an array of ``n_steps`` values for a
    schedule); ``grad_clip`` clips each gradient component to [-c, c] (Du & Mordatch's
    stabiliser for learned energies); ``bounds = (lo, hi)`` projects every step back into the box
    (projected Langevin, for images whose pixels live in [lo, hi]).  Returns the final ``x (n, *shape)``; with
    ``keep_every = j > 0`` also the path ``(n_steps // j, n, *shape)`` of every j-th state.
    For finite :math:`\epsilon` the chain's stationary law is biased; see :func:`mala`.
    """
    sizes = _step_sizes(step_size, n_steps)
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip={grad_clip!r}; expected a positive number or None")
    if not isinstance(keep_every, int) or keep_every < 0:
        raise ValueError(f"keep_every={keep_every!r}; expected an integer >= 0")
    _check_bounds(bounds)
    return _langevin(key, energy_fn, x0, sizes, grad_clip, keep_every, bounds)


def _check_bounds(bounds):
    if bounds is not None and not (len(bounds) == 2 and float(bounds[0]) < float(bounds[1])):
        raise ValueError(f"bounds={bounds!r}; expected None or a pair (lo, hi) with lo < hi")


@partial(jax.jit, static_argnames=("energy_fn", "grad_clip", "keep_every", "bounds"))
def _langevin(key, energy_fn, x0, sizes, grad_clip, keep_every, bounds=None):
    def step(x, inputs):
        k, eps = inputs
        g = _grad_energy(energy_fn, x)
        if grad_clip is not None:
            g = jnp.clip(g, -grad_clip, grad_clip)
        x = x - 0.5 * eps * g + jnp.sqrt(eps) * jax.random.normal(k, x.shape)
        if bounds is not None:
            x = jnp.clip(x, *bounds)
        return x, x

    keys = jax.random.split(key, sizes.shape[0])
    if not keep_every:
        return jax.lax.scan(lambda x, i: (step(x, i)[0], None), x0, (keys, sizes))[0]
    n_kept = sizes.shape[0] // keep_every
    blocks = (keys[: n_kept * keep_every].reshape(n_kept, keep_every, *keys.shape[1:]),
              sizes[: n_kept * keep_every].reshape(n_kept, keep_every))

    def block(x, inputs):
        x, _ = jax.lax.scan(step, x, inputs)
        return x, x

    return jax.lax.scan(block, x0, blocks)


def mala(key: jax.Array, energy_fn: EnergyFn, x0: jax.Array, step_size: float, n_steps: int):
    r"""Metropolis-adjusted Langevin: the Langevin step as a proposal, then accept or reject.

    Proposal :math:`\mathbf{x}' \sim q(\cdot|\mathbf{x})
    = \mathcal{N}(\mathbf{x} - \frac{\epsilon}{2}\nabla E(\mathbf{x}),\ \epsilon I)`,
    accepted with probability

    .. math:: \alpha = \min\left(1,\ \frac{e^{-E(\mathbf{x}')}\, q(\mathbf{x}|\mathbf{x}')}
              {e^{-E(\mathbf{x})}\, q(\mathbf{x}'|\mathbf{x})}\right),

    which makes :math:`p \propto e^{-E}` exactly stationary for any :math:`\epsilon`.
    Returns (final ``x``, acceptance rate per chain ``(n,)``).
    """
    sizes = _step_sizes(step_size, n_steps)
    return _mala(key, energy_fn, x0, sizes)


@partial(jax.jit, static_argnames=("energy_fn",))
def _mala(key, energy_fn, x0, sizes):
    axes = tuple(range(1, x0.ndim))

    def log_q(to, frm, grad_frm, eps):  # log N(to; frm - eps/2 grad, eps I), constants dropped
        return -jnp.sum((to - frm + 0.5 * eps * grad_frm) ** 2, axis=axes) / (2.0 * eps)

    def step(carry, inputs):
        x, e, g, accepted = carry
        k, eps = inputs
        k_prop, k_acc = jax.random.split(k)
        proposal = x - 0.5 * eps * g + jnp.sqrt(eps) * jax.random.normal(k_prop, x.shape)
        e_prop, g_prop = _energy_and_grad(energy_fn, proposal)
        log_alpha = -e_prop + e + log_q(x, proposal, g_prop, eps) - log_q(proposal, x, g, eps)
        accept = jnp.log(jax.random.uniform(k_acc, e.shape)) < log_alpha
        keep = accept.reshape(-1, *([1] * (x.ndim - 1)))
        return (jnp.where(keep, proposal, x), jnp.where(accept, e_prop, e),
                jnp.where(keep, g_prop, g), accepted + accept), None

    carry = (x0, *_energy_and_grad(energy_fn, x0), jnp.zeros(x0.shape[0]))
    (x, _, _, accepted), _ = jax.lax.scan(step, carry, (jax.random.split(key, sizes.shape[0]), sizes))
    return x, accepted / sizes.shape[0]


def buffer_sample(buffer: jax.Array, key: jax.Array, batch_size: int, reinit_fraction: float, noise_fn):
    """Draw Langevin starting points from a replay buffer ``(size, *shape)``.

    Each of the ``batch_size`` starts is a random buffer entry, except that a fraction
    ``reinit_fraction`` of them is replaced by fresh noise from ``noise_fn(key, n) -> (n, *shape)``
    (Du & Mordatch use 5 %), so the buffer keeps exploring.  Returns (starts, buffer indices);
    after the Langevin run, :func:`buffer_update` writes the new samples back at those indices.
    """
    if not 0.0 <= reinit_fraction <= 1.0:
        raise ValueError(f"reinit_fraction={reinit_fraction!r}; expected a value in [0, 1]")
    k_idx, k_noise, k_mask = jax.random.split(key, 3)
    idx = jax.random.randint(k_idx, (batch_size,), 0, buffer.shape[0])
    fresh = jax.random.uniform(k_mask, (batch_size,)) < reinit_fraction
    fresh = fresh.reshape(-1, *([1] * (buffer.ndim - 1)))
    return jnp.where(fresh, noise_fn(k_noise, batch_size), buffer[idx]), idx


def buffer_update(buffer: jax.Array, idx: jax.Array, samples: jax.Array) -> jax.Array:
    """Write ``samples`` back into the buffer at ``idx`` (a pure function: returns the new buffer)."""
    return buffer.at[idx].set(samples)


def contrastive_divergence_loss(energy_fn: EnergyFn, x_data: jax.Array, x_model: jax.Array, alpha: float):
    r"""The EBM training loss with Du & Mordatch's energy regulariser:

    .. math:: \mathcal{L}(\theta) = \mathbb{E}_{\rm data} E_\theta(\mathbf{x}^+)
              - \mathbb{E}_{\rm model} E_\theta(\mathbf{x}^-)
              + \alpha\, \mathbb{E}\left[E_\theta(\mathbf{x}^+)^2 + E_\theta(\mathbf{x}^-)^2\right].

    Its gradient in :math:`\theta` is the negative of the log-likelihood gradient (positive phase
    minus negative phase) when :math:`\mathbf{x}^-` are samples of the model; ``x_model`` is
    treated as a constant (no gradient flows through the sampler).
    """
    x_model = jax.lax.stop_gradient(x_model)
    e_pos, e_neg = energy_fn(x_data), energy_fn(x_model)
    return jnp.mean(e_pos) - jnp.mean(e_neg) + alpha * jnp.mean(e_pos**2 + e_neg**2)


def fit(
    model,
    optimizer,
    data: jax.Array,
    *,
    key: jax.Array,
    steps: int,
    batch_size: int,
    noise_fn,
    langevin_steps: int,
    step_size: float,
    alpha: float = 0.1,
    grad_clip: float | None = None,
    bounds: tuple[float, float] | None = None,
    buffer_size: int = 8192,
    reinit_fraction: float = 0.05,
    chunk: int = 100,
    progress: bool = True,
) -> tuple[dict[str, list[float]], jax.Array]:
    r"""Train an energy network (an NNX module, :math:`E_\theta(\mathbf{x})` = ``model(x)[:, 0]``) in place.

    Each step: a data batch :math:`\mathbf{x}^+`; negatives :math:`\mathbf{x}^-` from
    ``langevin_steps`` Langevin steps started from the replay buffer (:func:`buffer_sample`); one
    optimiser step on :func:`contrastive_divergence_loss`; the negatives go back into the buffer.
    ``grad_clip`` and ``bounds`` are passed to the Langevin steps (see :func:`langevin`).
    ``chunk`` steps run as one compiled ``lax.scan``.  Returns the history per chunk (mean loss
    and mean energies of data and negatives: ``"loss"``, ``"e_data"``, ``"e_model"``) and the
    final replay buffer, whose entries are the end points of the model's persistent Langevin
    chains.
    """
    if not isinstance(steps, int) or steps < chunk or steps % chunk:
        raise ValueError(f"steps={steps!r}; expected a positive multiple of chunk={chunk}")
    sizes = _step_sizes(step_size, langevin_steps)
    _check_bounds(bounds)
    data = jnp.asarray(data)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)

    def energy_of(p):
        return lambda x: nnx.merge(graphdef, p, rest)(x)[:, 0]

    def step(carry, k):
        params, opt_state, buffer = carry
        k_batch, k_buffer, k_langevin = jax.random.split(k, 3)
        x_pos = data[jax.random.randint(k_batch, (batch_size,), 0, data.shape[0])]
        x0, idx = buffer_sample(buffer, k_buffer, batch_size, reinit_fraction, noise_fn)
        x_neg = _langevin(k_langevin, energy_of(params), x0, sizes, grad_clip, 0, bounds)

        def loss_fn(p):
            energy = energy_of(p)
            return contrastive_divergence_loss(energy, x_pos, x_neg, alpha), (energy(x_pos), energy(x_neg))

        (loss, (e_pos, e_neg)), grads = jax.value_and_grad(loss_fn, has_aux=True)(params)
        updates, opt_state = optimizer.update(grads, opt_state, params)
        carry = (optax.apply_updates(params, updates), opt_state, buffer_update(buffer, idx, x_neg))
        return carry, (loss, jnp.mean(e_pos), jnp.mean(e_neg))

    @jax.jit
    def run_chunk(carry, key):
        carry, (loss, e_pos, e_neg) = jax.lax.scan(step, carry, jax.random.split(key, chunk))
        return carry, (jnp.mean(loss), jnp.mean(e_pos), jnp.mean(e_neg))

    k_buffer, k_train = jax.random.split(key)
    carry = (params, optimizer.init(params), noise_fn(k_buffer, buffer_size))
    history = {"loss": [], "e_data": [], "e_model": []}
    chunk_keys = jax.random.split(k_train, steps // chunk)
    for k in tqdm(chunk_keys, desc="EBM training", disable=not progress, leave=False):
        carry, (loss, e_pos, e_neg) = run_chunk(carry, k)
        for name, value in zip(history, (loss, e_pos, e_neg), strict=True):
            history[name].append(float(value))
    nnx.update(model, carry[0])
    return history, carry[2]
