r"""Energy-based models: Langevin and MALA samplers, a replay buffer, the contrastive-divergence loss.

Sign convention (kept everywhere): :math:`p_\theta(\mathbf{x}) = e^{-E_\theta(\mathbf{x})} / Z_\theta`,
so *low* energy means *high* probability, and the score is
:math:`\nabla_\mathbf{x} \log p = -\nabla_\mathbf{x} E`.

``energy_fn`` maps a batch ``(n, *shape)`` to energies ``(n,)``; chains are the rows of the batch
and run in parallel.  Loops over steps are ``jax.lax.scan``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jaxtyping import Float, Int, Real, Shaped

from helpers.core import parallel, train, validate
from helpers.core.arrays import per_example
from helpers.core.validate import AnyArray, shaped

EnergyFn = Callable[[jax.Array], jax.Array]


def _grad_energy(energy_fn: EnergyFn, x: jax.Array) -> jax.Array:
    # Each chain's energy depends on its own row only, so the gradient of the sum is per-chain.
    return jax.grad(lambda z: jnp.sum(energy_fn(z)))(x)


def _energy_and_grad(energy_fn: EnergyFn, x: jax.Array) -> tuple[jax.Array, jax.Array]:
    # One forward and one backward pass for both (n,) energies and their (n, *shape) gradients.
    energies, vjp = jax.vjp(energy_fn, x)
    return energies, vjp(jnp.ones_like(energies))[0]


def _step_sizes(step_size, n_steps: int, steps_name: str = "n_steps") -> jax.Array:
    validate.positive_int(**{steps_name: n_steps})
    if np.ndim(step_size) == 0:
        validate.positive_number(step_size=step_size)
    elif np.shape(step_size) != (n_steps,):
        raise ValueError(f"step_size has shape {np.shape(step_size)}; expected a number or ({n_steps},), "
                         "one per step")
    else:
        step_size = validate.values_in("step_size", np.asarray(step_size, np.float64), 1e-300, math.inf,
                                       "positive step sizes, one per step")
    return jnp.broadcast_to(jnp.asarray(step_size, jnp.float32), (n_steps,))


def _checked_start(key, x, name: str = "x0"):
    """The chains' start ``x``, its values checked finite (also inside ``jit``)."""
    validate.key("key", key)
    return validate.finite(name, x)


@shaped
def langevin_step(key, energy_fn: EnergyFn, x: Float[AnyArray, "n d ..."], step_size, grad_clip=None,
                  bounds=None) -> Float[AnyArray, "n d ..."]:
    r"""One step of unadjusted Langevin dynamics, all chains (rows of ``x``) at once:

    .. math:: \mathbf{x}_{k+1} = \mathbf{x}_k - \frac{\epsilon}{2} \nabla_\mathbf{x} E(\mathbf{x}_k)
              + \sqrt{\epsilon}\, \boldsymbol{\xi}_k, \qquad \boldsymbol{\xi}_k \sim \mathcal{N}(0, I).

    ``grad_clip`` clips each gradient component to [-c, c] (Du and Mordatch's stabiliser for learned
    energies); ``bounds = (lo, hi)`` projects the step back into the box (projected Langevin, for
    images whose pixels live in [lo, hi]).
    """
    x = _checked_start(key, x, "x")
    return _langevin_step(key, energy_fn, x, step_size, grad_clip, bounds)


def _langevin_step(key, energy_fn, x, step_size, grad_clip, bounds):
    g = _grad_energy(energy_fn, x)
    if grad_clip is not None:
        g = jnp.clip(g, -grad_clip, grad_clip)
    x = x - 0.5 * step_size * g + jnp.sqrt(step_size) * jax.random.normal(key, x.shape)
    return x if bounds is None else jnp.clip(x, *bounds)


@shaped
def langevin(
    key,
    energy_fn: EnergyFn,
    x0: Float[AnyArray, "n d ..."],
    step_size,
    n_steps,
    grad_clip=None,
    keep_every=0,
    bounds=None,
):
    r"""``n_steps`` steps of :func:`langevin_step` as one ``lax.scan``.

    ``step_size`` is :math:`\epsilon` (a number, or an array of ``n_steps`` values for a schedule).
    Returns the final ``x (n, *shape)``; with ``keep_every = j > 0`` also the path
    ``(n_steps // j, n, *shape)`` of the states after steps j, 2j, ...  For finite :math:`\epsilon`
    the chain's stationary law is biased; see :func:`mala`.
    """
    x0 = _checked_start(key, x0)
    sizes = _step_sizes(step_size, n_steps)
    _check_langevin(grad_clip, bounds)
    validate.nonnegative_int(keep_every=keep_every)
    return _langevin(key, energy_fn, x0, sizes, grad_clip, keep_every, bounds)


def _check_langevin(grad_clip, bounds):
    validate.optional_positive(grad_clip=grad_clip)
    if bounds is not None:
        pair = isinstance(bounds, tuple | list) and len(bounds) == 2
        numbers = pair and not any(isinstance(b, str | bool) for b in bounds)
        if not numbers or not float(bounds[0]) < float(bounds[1]):
            raise ValueError(f"bounds={bounds!r}; expected None or a pair (lo, hi) with lo < hi")


@partial(jax.jit, static_argnames=("energy_fn", "grad_clip", "keep_every", "bounds"))
def _langevin(key, energy_fn, x0, sizes, grad_clip, keep_every, bounds=None):
    def run(x, keys, eps):
        def step(x, inputs):
            return _langevin_step(inputs[0], energy_fn, x, inputs[1], grad_clip, bounds), None

        return jax.lax.scan(step, x, (keys, eps))[0]

    keys = jax.random.split(key, sizes.shape[0])
    if not keep_every:
        return run(x0, keys, sizes)
    n_kept = sizes.shape[0] // keep_every
    cut = n_kept * keep_every
    blocks = (keys[:cut].reshape(n_kept, keep_every, *keys.shape[1:]),
              sizes[:cut].reshape(n_kept, keep_every))
    x, path = jax.lax.scan(lambda x, inputs: (run(x, *inputs),) * 2, x0, blocks)
    return run(x, keys[cut:], sizes[cut:]), path  # the last n_steps mod keep_every steps too


def mala_step(key: jax.Array, energy_fn: EnergyFn, state, step_size):
    r"""One Metropolis-adjusted Langevin step: the Langevin step as a proposal, then accept or reject.

    Proposal :math:`\mathbf{x}' \sim q(\cdot|\mathbf{x})
    = \mathcal{N}(\mathbf{x} - \frac{\epsilon}{2}\nabla E(\mathbf{x}),\ \epsilon I)`, accepted with
    probability

    .. math:: \alpha = \min\left(1,\ \frac{e^{-E(\mathbf{x}')}\, q(\mathbf{x}|\mathbf{x}')}
              {e^{-E(\mathbf{x})}\, q(\mathbf{x}'|\mathbf{x})}\right),

    which makes :math:`p \propto e^{-E}` exactly stationary for any :math:`\epsilon`.  ``state`` is
    ``(x, E(x), grad E(x))`` for every chain (so each step evaluates the energy once); returns the
    new state and which chains accepted ``(n,)``.
    """
    x, e, g = state
    axes = tuple(range(1, x.ndim))

    def log_q(to, frm, grad_frm):  # log N(to; frm - eps/2 grad, eps I), constants dropped
        return -jnp.sum((to - frm + 0.5 * step_size * grad_frm) ** 2, axis=axes) / (2.0 * step_size)

    k_prop, k_acc = jax.random.split(key)
    proposal = x - 0.5 * step_size * g + jnp.sqrt(step_size) * jax.random.normal(k_prop, x.shape)
    e_prop, g_prop = _energy_and_grad(energy_fn, proposal)
    log_alpha = -e_prop + e + log_q(x, proposal, g_prop) - log_q(proposal, x, g)
    accept = jnp.log(jax.random.uniform(k_acc, e.shape)) < log_alpha
    keep = per_example(accept, x)
    return (jnp.where(keep, proposal, x), jnp.where(accept, e_prop, e), jnp.where(keep, g_prop, g)), accept


@shaped
def mala(key, energy_fn: EnergyFn, x0: Float[AnyArray, "n d ..."], step_size, n_steps):
    """``n_steps`` steps of :func:`mala_step` as one ``lax.scan``.

    Returns (final ``x``, acceptance rate per chain ``(n,)``).
    """
    x0 = _checked_start(key, x0)
    return _mala(key, energy_fn, x0, _step_sizes(step_size, n_steps))


@partial(jax.jit, static_argnames=("energy_fn",))
def _mala(key, energy_fn, x0, sizes):
    def step(carry, inputs):
        state, accepted = carry
        state, accept = mala_step(inputs[0], energy_fn, state, inputs[1])
        return (state, accepted + accept), None

    carry = ((x0, *_energy_and_grad(energy_fn, x0)), jnp.zeros(x0.shape[0]))
    ((x, _, _), accepted), _ = jax.lax.scan(step, carry, (jax.random.split(key, sizes.shape[0]), sizes))
    return x, accepted / sizes.shape[0]


@shaped
def buffer_sample(key, buffer: Shaped[AnyArray, "size d ..."], batch_size, reinit_fraction,
                  noise_fn):
    """Draw Langevin starting points from a replay buffer ``(size, *shape)``.

    Each of the ``batch_size`` starts is a random buffer entry, except that a fraction
    ``reinit_fraction`` of them is replaced by fresh noise from ``noise_fn(key, n) -> (n, *shape)``
    (Du and Mordatch use 5 %), so the buffer keeps exploring.  Returns (starts, buffer indices);
    after the Langevin run, :func:`buffer_update` writes the new samples back at those indices.
    """
    validate.key("key", key)
    validate.positive_int(batch_size=batch_size)
    validate.fraction(reinit_fraction=reinit_fraction)
    validate.callable_("noise_fn", noise_fn)
    k_idx, k_noise, k_mask = jax.random.split(key, 3)
    idx = jax.random.randint(k_idx, (batch_size,), 0, buffer.shape[0])
    fresh = jax.random.uniform(k_mask, (batch_size,)) < reinit_fraction
    kept = buffer[idx]
    return jnp.where(per_example(fresh, kept), noise_fn(k_noise, batch_size), kept), idx


@shaped
def buffer_update(buffer: Shaped[AnyArray, " size *shape"], idx: Int[AnyArray, " k"],
                  samples: Shaped[AnyArray, " k *shape"]) -> Shaped[AnyArray, " size *shape"]:
    """Write ``samples (k, *shape)`` back into the buffer ``(size, *shape)`` at ``idx (k,)`` in
    [0, size) (a pure function: returns the new buffer).  Where an index repeats (starts drawn with
    replacement), the last of its samples is written, on any device and any number of them (a scatter
    with repeated indices is otherwise free to keep any one)."""
    idx = validate.integers_in("idx", idx, 0, buffer.shape[0] - 1)  # JAX drops an out-of-range write
    order = jnp.arange(idx.shape[0])
    overwritten = jnp.any((idx[:, None] == idx[None, :]) & (order[:, None] < order[None, :]), axis=1)
    return buffer.at[jnp.where(overwritten, buffer.shape[0], idx)].set(samples, mode="drop")


@shaped
def contrastive_divergence_loss(energy_fn: EnergyFn, x_data: Real[AnyArray, " n *shape"],
                                x_model: Real[AnyArray, " m *shape"], alpha) -> Float[AnyArray, ""]:
    r"""The EBM training loss with Du and Mordatch's energy regulariser:

    .. math:: \mathcal{L}(\theta) = \mathbb{E}_{\rm data} E_\theta(\mathbf{x}^+)
              - \mathbb{E}_{\rm model} E_\theta(\mathbf{x}^-)
              + \alpha\, \mathbb{E}\left[E_\theta(\mathbf{x}^+)^2 + E_\theta(\mathbf{x}^-)^2\right].

    Its gradient in :math:`\theta` is the negative of the log-likelihood gradient (positive phase
    minus negative phase) when :math:`\mathbf{x}^-` are samples of the model; ``x_model`` is
    treated as a constant (no gradient flows through the sampler).
    """
    validate.nonnegative_number(alpha=alpha)
    x_model = jax.lax.stop_gradient(x_model)
    e_pos, e_neg = energy_fn(x_data), energy_fn(x_model)
    return jnp.mean(e_pos) - jnp.mean(e_neg) + alpha * jnp.mean(e_pos**2 + e_neg**2)


def langevin_cd_step(
    optimizer: optax.GradientTransformation,
    noise_fn,
    *,
    langevin_steps: int,
    step_size: float,
    alpha: float = 0.1,
    grad_clip: float | None = None,
    bounds: tuple[float, float] | None = None,
    reinit_fraction: float = 0.05,
    mesh=None,
):
    r"""Contrastive divergence with a replay buffer, as a step of :func:`helpers.core.train.fit`.

    The carry is ``(model, opt_state, buffer)``: an energy network (an NNX module with
    :math:`E_\theta(\mathbf{x})` = ``model(x)[:, 0]``), its optimiser state, and the buffer
    ``(size, *shape)`` of the persistent chains' end points (start it as ``noise_fn(key, size)``).
    Each step takes a data batch :math:`\mathbf{x}^+`; draws the negatives :math:`\mathbf{x}^-` by
    ``langevin_steps`` Langevin steps from buffer entries (:func:`buffer_sample`; ``grad_clip`` and
    ``bounds`` as in :func:`langevin_step`); takes one optimiser step on
    :func:`contrastive_divergence_loss`; and writes the negatives back into the buffer.  Metrics:
    ``"loss"``, and the mean energies of the data and the negatives, ``"e_data"`` and ``"e_model"``.

    With a ``mesh`` (:mod:`helpers.core.parallel`; pass the same one to :func:`helpers.core.train.fit`) the
    buffer is split over its devices along the entry axis and the batch's Langevin chains along the
    chain axis (both sizes must divide over them); the network is replicated.  Starts are still drawn
    from the whole buffer, so the samples and the loss are those of one device up to the order of
    floating-point sums (``tests/test_parallel.py``); only a batch's worth of entries crosses devices.
    """
    sizes = _step_sizes(step_size, langevin_steps, "langevin_steps")
    _check_langevin(grad_clip, bounds)
    validate.fraction(reinit_fraction=reinit_fraction)
    validate.nonnegative_number(alpha=alpha)
    validate.optimizer("optimizer", optimizer)
    validate.callable_("noise_fn", noise_fn)
    parallel.check_mesh(mesh)

    def step(carry, x_pos, key):
        model, opt_state, buffer = carry
        parallel.check_divisible("buffer.shape[0]", buffer.shape[0], mesh)
        k_buffer, k_langevin = jax.random.split(key)
        buffer = parallel.constrain(buffer, mesh)
        x0, idx = buffer_sample(k_buffer, buffer, x_pos.shape[0], reinit_fraction, noise_fn)
        x0 = parallel.constrain(validate.finite("buffer", x0), mesh)  # a diverged chain stops here
        x_neg = _langevin(k_langevin, lambda x: model(x)[:, 0], x0, sizes, grad_clip, 0, bounds)

        def loss_fn(m):
            def energy(x):
                return m(x)[:, 0]

            loss = contrastive_divergence_loss(energy, x_pos, x_neg, alpha)
            return loss, {"e_data": jnp.mean(energy(x_pos)), "e_model": jnp.mean(energy(x_neg))}

        model, opt_state, metrics = train.apply_gradients(optimizer, model, opt_state, loss_fn)
        return (model, opt_state, parallel.constrain(buffer_update(buffer, idx, x_neg), mesh)), metrics

    return step
