r"""Variational Monte Carlo: Metropolis sampling of :math:`|\psi|^2`, local energies, the energy's
gradient and stochastic reconfiguration, for any wavefunction given as its logarithm.

Units :math:`\hbar = m = 1`.  A trial state is a function ``log_psi(params, x) -> (batch,)`` of a
batch of configurations ``x (batch, ...)`` (real :math:`\log|\psi_\theta(x)|`; the states here are
real and, where they change sign, the sign is carried separately), and ``params`` any pytree.  The
variational energy is an average over :math:`|\psi_\theta|^2`,

.. math:: E(\theta) = \frac{\langle\psi_\theta|H|\psi_\theta\rangle}{\langle\psi_\theta|\psi_\theta\rangle}
          = \mathbb{E}_{x\sim|\psi_\theta|^2}\left[E_L(x)\right], \qquad
          E_L(x) = \frac{(H\psi_\theta)(x)}{\psi_\theta(x)},

and :math:`E(\theta) \ge E_0` (the variational principle), with equality and zero variance of
:math:`E_L` only for an eigenstate.  Spin wavefunctions and their local energies are in
:mod:`helpers.physics.nqs`, exact spectra in :mod:`helpers.physics.spin_chains`.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from jax.flatten_util import ravel_pytree
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


def _check_log_psi(log_psi, params, x) -> None:
    """``log_psi(params, x)`` must return one real number per configuration, shape ``(batch,)``."""
    validate.callable_("log_psi", log_psi)
    out = jax.eval_shape(log_psi, params, x)
    if getattr(out, "shape", None) != (x.shape[0],):
        raise ValueError(f"log_psi returned shape {getattr(out, 'shape', out)} for {x.shape[0]} "
                         f"configurations; expected ({x.shape[0]},), one log|psi| per configuration")


def _metropolis_scan(key, log_psi, params, x0, n_steps, thin, propose):
    """The Markov chain: ``n_steps`` kept states, ``thin`` proposals between kept states."""
    def proposal(carry, k):
        x, lp = carry
        k_move, k_accept = jax.random.split(k)
        x_new = propose(k_move, x)
        lp_new = log_psi(params, x_new)
        accept = jnp.log(jax.random.uniform(k_accept, lp.shape)) < 2.0 * (lp_new - lp)
        mask = accept.reshape(accept.shape + (1,) * (x.ndim - 1))
        return (jnp.where(mask, x_new, x), jnp.where(accept, lp_new, lp)), jnp.mean(accept)

    def kept(carry, k):
        carry, accepted = jax.lax.scan(proposal, carry, jax.random.split(k, thin))
        return carry, (carry[0], jnp.mean(accepted))

    _, (samples, accepted) = jax.lax.scan(kept, (x0, log_psi(params, x0)), jax.random.split(key, n_steps))
    return samples, jnp.mean(accepted)


@shaped
def metropolis_gaussian(key, log_psi: Callable, params, x0: Float[AnyArray, " walkers *site"], n_steps: int,
                        step_size, thin: int = 1) -> tuple[Float[Array, " n_steps walkers *site"], Array]:
    r"""Metropolis sampling of :math:`|\psi(x)|^2` in continuous space, all walkers at once.

    Each proposal moves every coordinate, :math:`x' = x + \delta\,\xi` with :math:`\xi \sim
    \mathcal{N}(0, 1)` (``step_size`` :math:`\delta`), and is accepted with probability

    .. math:: A(x \to x') = \min\left(1, \frac{|\psi(x')|^2}{|\psi(x)|^2}\right)
              = \min\left(1, e^{2[\log|\psi(x')| - \log|\psi(x)|]}\right).

    ``x0 (walkers, ...)`` -> the states after every ``thin`` proposals, ``(n_steps, walkers, ...)``,
    and the acceptance rate.  A ``lax.scan`` over steps; nothing leaves the compiled program.
    """
    validate.key("key", key)
    validate.positive_int(n_steps=n_steps, thin=thin)
    validate.positive_number(step_size=step_size)
    x0 = validate.finite("x0", x0)
    _check_log_psi(log_psi, params, x0)

    def propose(k, x):
        return x + step_size * jax.random.normal(k, x.shape, x.dtype)

    return _metropolis_scan(key, log_psi, params, x0, n_steps, thin, propose)


@shaped
def metropolis_flip(key, log_psi: Callable, params, s0: Real[AnyArray, "walkers n"], n_steps: int,
                    thin: int = 1) -> tuple[Real[Array, "n_steps walkers n"], Array]:
    r"""Metropolis sampling of :math:`|\psi(\mathbf{s})|^2` over spins :math:`s_i = \pm 1`.

    Each proposal flips one site :math:`i` drawn uniformly per walker,
    :math:`\mathbf{s}' = \mathbf{s}` with :math:`s_i \to -s_i` (a symmetric proposal), accepted with
    :math:`\min(1, |\psi(\mathbf{s}')|^2 / |\psi(\mathbf{s})|^2)`.  ``s0 (walkers, n)`` -> the states
    after every ``thin`` proposals (``thin = n`` is one sweep), ``(n_steps, walkers, n)``, and the
    acceptance rate.
    """
    validate.key("key", key)
    validate.positive_int(n_steps=n_steps, thin=thin)
    s0 = validate.spins("s0", s0)
    _check_log_psi(log_psi, params, s0)

    def propose(k, s):
        site = jax.random.randint(k, (s.shape[0],), 0, s.shape[1])
        return s * (1 - 2 * jax.nn.one_hot(site, s.shape[1], dtype=s.dtype))

    return _metropolis_scan(key, log_psi, params, s0, n_steps, thin, propose)


@shaped
def local_energy(log_psi: Callable, potential: Callable, params,
                 x: Float[AnyArray, " batch *coords"]) -> Float[Array, " batch"]:
    r"""The local energy of :math:`H = -\frac12\nabla^2 + V(x)` by automatic differentiation.

    With :math:`\psi = e^{\log\psi}`, :math:`\nabla^2\psi/\psi = \nabla^2\log\psi + |\nabla\log\psi|^2`, so

    .. math:: E_L(x) = -\frac{1}{2}\sum_k\left[\frac{\partial^2\log\psi}{\partial x_k^2}
              + \left(\frac{\partial\log\psi}{\partial x_k}\right)^2\right] + V(x),

    the sum over every coordinate of ``x (batch, ...)`` (particles times dimensions).  The gradient
    is ``jax.grad``, the Laplacian the trace of ``jax.hessian`` (a few coordinates), vectorised
    over chunks of 2048 configurations (bounded memory).  ``potential(x) -> (batch,)``; returns
    ``(batch,)``.
    """
    validate.callable_("potential", potential)
    x = validate.finite("x", x)
    _check_log_psi(log_psi, params, x)
    shape = x.shape[1:]

    def one(flat):
        return log_psi(params, flat.reshape((1,) + shape))[0]

    def kinetic(flat):
        grad = jax.grad(one)(flat)
        return -0.5 * (jnp.trace(jax.hessian(one)(flat)) + jnp.sum(grad**2))

    flat = x.reshape(x.shape[0], -1)
    return jax.lax.map(kinetic, flat, batch_size=min(flat.shape[0], 2048)) + potential(x)


@shaped
def log_derivatives(log_psi: Callable, params,
                    x: Real[AnyArray, " batch *site"]) -> Float[Array, "batch n_params"]:
    r""":math:`O_k(x) = \partial\log\psi_\theta(x)/\partial\theta_k` for every configuration, the
    parameters flattened in ``jax.flatten_util.ravel_pytree``'s order: ``(batch, n_params)``."""
    _check_log_psi(log_psi, params, x)
    flat, unravel = ravel_pytree(params)

    def one(theta, xi):
        return log_psi(unravel(theta), xi[None])[0]

    return jax.vmap(jax.grad(one), in_axes=(None, 0))(flat, x)


@shaped
def energy_gradient(o: Float[AnyArray, "batch n_params"],
                    e_loc: Float[AnyArray, " batch"]) -> Float[Array, " n_params"]:
    r"""The gradient of the variational energy from samples of :math:`|\psi_\theta|^2` (real
    :math:`\psi`):

    .. math:: \frac{\partial E}{\partial\theta_k} = 2\,\mathbb{E}\left[(E_L - E)\,O_k\right]
              = 2\,\mathbb{E}\left[(E_L - \bar E_L)(O_k - \bar O_k)\right].

    Subtracting the mean of :math:`O_k` changes nothing in expectation and lowers the noise.
    ``o (batch, n_params)``, ``e_loc (batch,)`` -> ``(n_params,)``.
    """
    e_loc = validate.finite("e_loc", e_loc)
    return 2.0 * jnp.mean((e_loc - e_loc.mean())[:, None] * (o - o.mean(axis=0)), axis=0)


@shaped
def sr_direction(o: Float[AnyArray, "batch n_params"], e_loc: Float[AnyArray, " batch"],
                 diag_shift=1e-3) -> Float[Array, " n_params"]:
    r"""Stochastic reconfiguration (Sorella): the update :math:`\delta\theta` solving

    .. math:: (S + \epsilon\,\mathbb{1})\,\delta\theta = F, \quad
              S_{kl} = \mathbb{E}[\Delta O_k\,\Delta O_l], \quad
              F_k = \mathbb{E}[\Delta O_k\,(E_L - \bar E_L)], \quad \Delta O = O - \bar O,

    so :math:`\theta \leftarrow \theta - \eta\,\delta\theta` is imaginary-time evolution
    :math:`e^{-\eta H}` projected onto the variational manifold (:math:`S` is its metric, the
    quantum Fisher information; :math:`F` is half the energy gradient).  ``diag_shift``
    :math:`\epsilon > 0` regularises :math:`S`.  ``o (batch, n_params)``, ``e_loc (batch,)`` ->
    ``(n_params,)``.
    """
    validate.positive_number(diag_shift=diag_shift)
    e_loc = validate.finite("e_loc", e_loc)
    d_o = o - o.mean(axis=0)
    s = d_o.T @ d_o / o.shape[0]
    f = d_o.T @ (e_loc - e_loc.mean()) / o.shape[0]
    return jnp.linalg.solve(s + diag_shift * jnp.eye(s.shape[0], dtype=s.dtype), f)


def vmc_step(log_psi: Callable, sample: Callable, e_local: Callable, optimizer: optax.GradientTransformation,
             diag_shift=None):
    r"""A training step for :func:`helpers.core.train.fit` (full batch, ``data=None``): sample,
    measure, update.

    ``sample(key, params, walkers) -> (samples (n_keep, walkers, ...), acceptance)`` (e.g.
    :func:`metropolis_gaussian` with its settings bound), ``e_local(params, x) -> (batch,)``.  The
    carry is ``(params, opt_state, walkers)``; the walkers continue from step to step.  The update
    handed to ``optimizer`` is the energy gradient (:func:`energy_gradient`), or with
    ``diag_shift`` the stochastic-reconfiguration direction (:func:`sr_direction`; use
    ``optax.sgd(eta)``).  Metrics: ``energy`` (the mean of :math:`E_L`), ``variance``, ``acceptance``.
    """
    for name, fn in (("log_psi", log_psi), ("sample", sample), ("e_local", e_local)):
        validate.callable_(name, fn)
    validate.optimizer("optimizer", optimizer)
    validate.optional_positive(diag_shift=diag_shift)

    def step(carry, batch, key):
        params, opt_state, walkers = carry
        samples, acceptance = sample(key, params, walkers)
        x = samples.reshape((-1,) + samples.shape[2:])
        e_loc = e_local(params, x)
        o = log_derivatives(log_psi, params, x)
        direction = energy_gradient(o, e_loc) if diag_shift is None else sr_direction(o, e_loc, diag_shift)
        flat, unravel = ravel_pytree(params)
        updates, opt_state = optimizer.update(unravel(direction.astype(flat.dtype)), opt_state, params)
        params = optax.apply_updates(params, updates)
        metrics = {"energy": jnp.mean(e_loc), "variance": jnp.var(e_loc), "acceptance": acceptance}
        return (params, opt_state, samples[-1]), metrics

    return step


def blocking_errors(series: Real[AnyArray, " n"]) -> np.ndarray:
    r"""Standard errors of the mean of a correlated series from blocking (Flyvbjerg and Petersen 1989).

    Level :math:`l` averages neighbouring pairs :math:`l` times (blocks of :math:`2^l`) and reports
    :math:`\sqrt{\mathrm{Var}(\text{blocks}) / (n_\text{blocks} - 1)}`; the estimates rise with
    :math:`l` and level off at the true error once blocks are longer than the correlation time,
    where it agrees with :math:`\sqrt{\tau_\text{int}\,\mathrm{Var}(x) / n}`.  Returns one error per
    level, down to 16 blocks.
    """
    x = np.asarray(validate.finite("series", validate.array("series", series, ndim=1)), np.float64)
    if x.size < 32:
        raise ValueError(f"series has {x.size} values; expected at least 32 for blocking")
    errors = []
    while x.size >= 16:
        errors.append(np.sqrt(np.var(x) / (x.size - 1)))
        x = 0.5 * (x[: x.size // 2 * 2 : 2] + x[1 : x.size // 2 * 2 : 2])
    return np.asarray(errors)


@shaped
def fidelity(log_psi: Float[AnyArray, " batch"], log_phi: Float[AnyArray, " batch"]) -> Array:
    r"""The overlap :math:`F = |\langle\phi|\psi\rangle|^2 / (\langle\psi|\psi\rangle\langle\phi|\phi\rangle)`
    of two real states from samples :math:`x \sim |\psi|^2`, with :math:`r = \phi(x)/\psi(x)`:

    .. math:: F = \frac{\mathbb{E}_{|\psi|^2}[r]^2}{\mathbb{E}_{|\psi|^2}[r^2]},

    which needs neither state normalised.  ``log_psi``, ``log_phi (batch,)``: both logarithms at the
    same samples."""
    log_r = validate.finite("log_phi", log_phi) - validate.finite("log_psi", log_psi)
    r = jnp.exp(log_r - jnp.max(log_r))
    return jnp.mean(r) ** 2 / jnp.mean(r**2)
