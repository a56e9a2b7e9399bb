# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Scalar :math:`\phi^4` theory on a periodic :math:`L\times L` lattice: the action, a Hybrid Monte
Carlo reference sampler, and the free field's exact two-point function.

Configurations are ``(n, L, L)`` float arrays (n lattices).  The action follows Albergo, Kanwar and
Shanahan (Phys. Rev. D 100, 034515, 2019) and their tutorial (arXiv:2101.08176):

.. math:: S(\phi) = \sum_x\Big[\sum_{\mu=1}^{2}(\phi_{x+\hat\mu} - \phi_x)^2 + m^2\phi_x^2
          + \lambda\phi_x^4\Big], \qquad p(\phi) = e^{-S(\phi)}/Z,

so the hopping term is :math:`\phi^T(-\Delta)\phi`, with the lattice Laplacian :math:`\Delta`.
"""

from __future__ import annotations

from functools import partial

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


def _couplings(m2, lam) -> None:
    validate.number(m2=m2)
    validate.nonnegative_number(lam=lam)


@shaped
def phi4_action(phi: Real[AnyArray, "n L L"], m2, lam) -> jax.Array:
    r"""The lattice action of each configuration,

    .. math:: S(\phi) = \sum_x\Big[\sum_\mu(\phi_{x+\hat\mu} - \phi_x)^2 + m^2\phi_x^2
              + \lambda\phi_x^4\Big],

    periodic in both directions.  ``phi (n, L, L)`` -> ``(n,)``; ``m2`` may be negative (the
    double well), ``lam >= 0``.
    """
    _couplings(m2, lam)
    validate.lattice_size(phi.shape[1])
    phi = validate.finite("phi", phi)
    hop = sum((jnp.roll(phi, -1, axis=a) - phi) ** 2 for a in (1, 2))
    return jnp.sum(hop + m2 * phi**2 + lam * phi**4, axis=(1, 2))


@shaped
def phi4_force(phi: Float[AnyArray, "n L L"], m2, lam) -> jax.Array:
    r"""The gradient of the action,
    :math:`\partial S/\partial\phi_x = 2\sum_\mu(2\phi_x - \phi_{x+\hat\mu} - \phi_{x-\hat\mu})
    + 2m^2\phi_x + 4\lambda\phi_x^3`, ``(n, L, L)``."""
    neighbours = sum(jnp.roll(phi, s, axis=a) for a in (1, 2) for s in (1, -1))
    return 2 * (4 * phi - neighbours) + 2 * m2 * phi + 4 * lam * phi**3


def hmc_trajectory(key, phi, m2, lam, n_leapfrog: int, step_size: float):
    r"""One Hybrid Monte Carlo update of every chain (Duane, Kennedy, Pendleton and Roweth 1987):
    momenta :math:`\pi\sim\mathcal{N}(0, I)`, ``n_leapfrog`` leapfrog steps of
    :math:`H = \tfrac12\pi^2 + S(\phi)`,

    .. math:: \pi \leftarrow \pi - \tfrac\epsilon2\nabla S,\quad \phi \leftarrow \phi + \epsilon\pi,
              \quad \pi \leftarrow \pi - \tfrac\epsilon2\nabla S,

    then acceptance with probability :math:`\min(1, e^{-\Delta H})`; leapfrog is reversible and
    volume preserving, so the chain leaves :math:`e^{-S}` invariant.  Returns ``(phi, accepted)``.
    """
    k_mom, k_acc = jax.random.split(key)
    pi = jax.random.normal(k_mom, phi.shape, phi.dtype)
    h0 = 0.5 * jnp.sum(pi**2, axis=(1, 2)) + phi4_action(phi, m2, lam)

    def leapfrog(carry, _):
        x, p = carry
        p = p - 0.5 * step_size * phi4_force(x, m2, lam)
        x = x + step_size * p
        p = p - 0.5 * step_size * phi4_force(x, m2, lam)
        return (x, p), None

    (new, pi), _ = jax.lax.scan(leapfrog, (phi, pi), None, length=n_leapfrog)
    h1 = 0.5 * jnp.sum(pi**2, axis=(1, 2)) + phi4_action(new, m2, lam)
    accept = jax.random.uniform(k_acc, h0.shape) < jnp.exp(h0 - h1)
    return jnp.where(accept[:, None, None], new, phi), accept


@shaped
def hmc(
    key,
    phi: Float[AnyArray, "n L L"],
    m2,
    lam,
    n_trajectories: int,
    n_leapfrog: int = 10,
    step_size: float = 0.1,
) -> tuple[jax.Array, jax.Array]:
    """``n_trajectories`` updates of :func:`hmc_trajectory` under one ``lax.scan``, from ``phi (n, L, L)``
    (n independent chains).  Returns every configuration ``(n_trajectories, n, L, L)`` and the
    acceptance ``(n_trajectories, n)`` booleans."""
    validate.key("key", key)
    _couplings(m2, lam)
    validate.lattice_size(phi.shape[1])
    validate.positive_int(n_trajectories=n_trajectories, n_leapfrog=n_leapfrog)
    validate.positive_number(step_size=step_size)
    phi = validate.finite("phi", phi)
    return _hmc(key, phi, m2, lam, n_trajectories, n_leapfrog, step_size)


@partial(jax.jit, static_argnums=(4, 5))
def _hmc(key, phi, m2, lam, n_trajectories, n_leapfrog, step_size):
    def update(x, k):
        x, accepted = hmc_trajectory(k, x, m2, lam, n_leapfrog, step_size)
        return x, (x, accepted)

    return jax.lax.scan(update, phi, jax.random.split(key, n_trajectories))[1]


@shaped
def magnetization(phi: Real[AnyArray, "*batch L L"]) -> jax.Array:
    r"""The magnetisation per site :math:`m = \frac1V\sum_x\phi_x`, ``(..., L, L)`` -> ``(...)``."""
    return jnp.mean(phi, axis=(-2, -1))


@shaped
def two_point(phi: Real[AnyArray, "*batch L L"]) -> jax.Array:
    r"""The two-point function of each configuration, averaged over translations,

    .. math:: G(\mathbf{x}) = \frac1V\sum_{\mathbf{y}}\phi_{\mathbf{y}}\,\phi_{\mathbf{y}+\mathbf{x}},

    through the FFT (Wiener-Khinchin).  ``(..., L, L)`` -> ``(..., L, L)``; its ensemble mean is
    :math:`\langle\phi_0\phi_{\mathbf{x}}\rangle` and its sum over :math:`\mathbf{x}` is
    :math:`V m^2`, the susceptibility's estimator."""
    f = jnp.fft.fft2(phi)
    return jnp.real(jnp.fft.ifft2(f * jnp.conj(f))) / (phi.shape[-1] * phi.shape[-2])


def free_field_two_point(L: int, m2: float) -> np.ndarray:
    r"""The free field's (:math:`\lambda = 0`, :math:`m^2 > 0`) exact two-point function.  The action
    is :math:`\phi^T(-\Delta + m^2)\phi`, so the covariance is :math:`\frac12(-\Delta + m^2)^{-1}`,
    diagonal in momentum space:

    .. math:: \langle\phi_0\phi_{\mathbf{x}}\rangle = \frac1V\sum_{\mathbf{k}}
              \frac{e^{i\mathbf{k}\cdot\mathbf{x}}}{2\left(m^2 + \sum_\mu 4\sin^2(k_\mu/2)\right)},
              \qquad k_\mu = 2\pi n_\mu/L.

    Returns ``(L, L)`` float64.
    """
    validate.lattice_size(L)
    validate.positive_number(m2=m2)
    k = 2 * np.pi * np.arange(L) / L
    p2 = 4 * np.sin(k[:, None] / 2) ** 2 + 4 * np.sin(k[None, :] / 2) ** 2
    return np.real(np.fft.ifft2(1.0 / (2.0 * (m2 + p2))))
