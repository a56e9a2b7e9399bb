r"""Exact results for small quantum spin systems: the transverse-field Ising chain by exact
diagonalisation and by Pfeuty's free-fermion solution, its mean-field energy, and the quantum
Boltzmann machine's visible marginal and likelihood gradient (a few spins, exactly).

Basis: the :math:`\sigma^z` product states :math:`|s_1 \dots s_n\rangle`, state number
:math:`k = \sum_i b_i 2^{n-1-i}` with :math:`s_i = 1 - 2b_i` (spin 1 is the most significant bit,
the order of ``np.kron``); :func:`basis_states` lists them.  Chains are periodic,
:math:`s_{n+1} = s_1`.
"""

from __future__ import annotations

import jax.numpy as jnp
import jax.scipy.linalg
import numpy as np
import scipy.sparse
import scipy.sparse.linalg
from jaxtyping import Array, Float

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped

MAX_SPINS = 16  # 2^16 states: the largest chain diagonalised here


def _size(n: int, at_least: int = 2, most: int = MAX_SPINS) -> None:
    if not validate.is_integer(n) or not at_least <= n <= most:
        raise ValueError(f"n={n!r}; expected an integer number of spins in [{at_least}, {most}]")


def basis_states(n: int) -> np.ndarray:
    r"""Every spin configuration of ``n`` spins in state-number order, ``(2^n, n)`` int8 of
    :math:`\pm 1`; row :math:`k` is the basis state :math:`|k\rangle`."""
    _size(n, 1)
    bits = (np.arange(2**n)[:, None] >> np.arange(n - 1, -1, -1)) & 1
    return (1 - 2 * bits).astype(np.int8)


def tfim_hamiltonian(n: int, h, J=1.0) -> scipy.sparse.csr_matrix:
    r"""The periodic transverse-field Ising chain as a sparse matrix ``(2^n, 2^n)``:

    .. math:: H = -J\sum_{i=1}^{n}\sigma^z_i\sigma^z_{i+1} - h\sum_{i=1}^{n}\sigma^x_i,

    diagonal :math:`-J\sum_i s_i s_{i+1}` in the :math:`\sigma^z` basis, and :math:`-h` between
    states that differ by one flipped spin.  Float64.
    """
    _size(n)
    validate.number(h=h, J=J)
    s = basis_states(n).astype(np.float64)
    diagonal = -J * np.sum(s * np.roll(s, -1, axis=1), axis=1)
    rows = np.repeat(np.arange(2**n), n)
    cols = (np.arange(2**n)[:, None] ^ (1 << np.arange(n - 1, -1, -1))).ravel()
    flips = scipy.sparse.csr_matrix((np.full(rows.size, -float(h)), (rows, cols)), shape=(2**n, 2**n))
    return (scipy.sparse.diags(diagonal) + flips).tocsr()


def ground_state(n: int, h, J=1.0) -> tuple[float, np.ndarray]:
    r"""The ground-state energy :math:`E_0` and normalised state ``(2^n,)`` of :func:`tfim_hamiltonian`
    by Lanczos (``scipy.sparse.linalg.eigsh``), the sign fixed so that the amplitudes are positive
    (Perron-Frobenius: every off-diagonal element is :math:`-h \le 0`)."""
    energy, vector = scipy.sparse.linalg.eigsh(tfim_hamiltonian(n, h, J), k=1, which="SA", tol=1e-12)
    vector = vector[:, 0] * np.sign(np.sum(vector[:, 0]))
    return float(energy[0]), vector


def pfeuty_energy(n: int, h, J=1.0) -> float:
    r"""The exact ground-state energy of the periodic chain with an even number of spins from its
    mapping to free fermions (Pfeuty, Ann. Phys. **57**, 79, 1970): in the even-parity sector the
    fermions are antiperiodic, :math:`k = \pi(2m + 1)/n`, and

    .. math:: E_0 = -\sum_{m=0}^{n-1}\sqrt{J^2 + h^2 - 2Jh\cos\frac{\pi(2m+1)}{n}}.
    """
    _size(n, 2, 10**6)
    if n % 2:
        raise ValueError(f"n={n}; the closed form here is for an even number of spins")
    validate.number(h=h, J=J)
    k = np.pi * (2 * np.arange(n) + 1) / n
    return float(-np.sum(np.sqrt(J**2 + h**2 - 2 * J * h * np.cos(k))))


def mean_field_energy(n: int, h, J=1.0) -> float:
    r"""The best product state :math:`\bigotimes_i(\cos\frac\vartheta2|{\uparrow}\rangle
    + \sin\frac\vartheta2|{\downarrow}\rangle)`: :math:`E(\vartheta)/n = -J\cos^2\vartheta - h\sin\vartheta`,
    minimal at :math:`\sin\vartheta = h/2J` for :math:`|h| < 2J`:
    :math:`E_\text{MF} = -n(J + h^2/4J)`, else :math:`-n|h|` (with :math:`J > 0`)."""
    _size(n, 1, 10**6)
    validate.number(h=h)
    validate.positive_number(J=J)
    return float(-n * (J + h**2 / (4 * J)) if abs(h) < 2 * J else -n * abs(h))


@shaped
def chain_observables(psi: Float[AnyArray, " states"], n: int) -> dict[str, float]:
    r"""The transverse magnetisation :math:`\langle\sigma^x_i\rangle` and nearest-neighbour correlation
    :math:`\langle\sigma^z_i\sigma^z_{i+1}\rangle` (averaged over sites) of a real state ``psi (2^n,)``
    (normalised here)."""
    _size(n)
    if psi.shape != (2**n,):
        raise ValueError(f"psi has shape {psi.shape}; expected (2^n,) = ({2**n},) for n={n}")
    psi = np.asarray(validate.finite("psi", psi), np.float64)
    psi = psi / np.linalg.norm(psi)
    s = basis_states(n).astype(np.float64)
    zz = float(np.sum(psi**2 * np.mean(s * np.roll(s, -1, axis=1), axis=1)))
    flipped = np.arange(2**n)[:, None] ^ (1 << np.arange(n - 1, -1, -1))
    x = float(np.mean(np.sum(psi[:, None] * psi[flipped], axis=0)))
    return {"sigma_x": x, "zz": zz}


# --- the quantum Boltzmann machine (Amin et al., Phys. Rev. X 8, 021050, 2018) ---------------


def ising_operators(n: int) -> np.ndarray:
    r"""The diagonal operators of a fully connected Ising energy on ``n`` spins as rows of their
    diagonals: :math:`\sigma^z_i` (``n`` rows), then :math:`\sigma^z_i\sigma^z_j` for :math:`i < j`;
    ``(n + n(n-1)/2, 2^n)`` float64."""
    _size(n, 1, 10)
    s = basis_states(n).astype(np.float64)
    pairs = [s[:, i] * s[:, j] for i in range(n) for j in range(i + 1, n)]
    return np.stack([*s.T, *pairs])


@shaped
def qbm_hamiltonian(theta: Float[AnyArray, " n_ops"], n: int, gamma) -> Float[Array, "states states"]:
    r"""The quantum Boltzmann machine's Hamiltonian, dense ``(2^n, 2^n)``:

    .. math:: H = -\sum_k \theta_k A_k - \Gamma\sum_i \sigma^x_i,

    with :math:`A_k` the operators of :func:`ising_operators` (fields, then couplings).  At
    :math:`\Gamma = 0` it is diagonal: the classical energy :math:`E(\mathbf{s})` of a Boltzmann
    machine with spins :math:`\pm 1`.
    """
    ops = jnp.asarray(ising_operators(n), jnp.result_type(theta, float))
    if theta.shape != (ops.shape[0],):
        raise ValueError(f"theta has shape {theta.shape}; expected ({ops.shape[0]},) for n={n}")
    validate.number(gamma=gamma)
    flips = np.arange(2**n)[:, None] ^ (1 << np.arange(n - 1, -1, -1))
    x_sum = np.zeros((2**n, 2**n))
    np.put_along_axis(x_sum, flips, 1.0, axis=1)
    return jnp.diag(-theta @ ops) - gamma * jnp.asarray(x_sum, ops.dtype)


def _visible_blocks(n: int, n_visible: int) -> np.ndarray:
    if not validate.is_integer(n_visible) or not 1 <= n_visible <= n:
        raise ValueError(f"n_visible={n_visible!r}; expected an integer in [1, {n}]")
    return np.arange(2**n) >> (n - n_visible)  # the visible configuration of each basis state


@shaped
def qbm_marginal(theta: Float[AnyArray, " n_ops"], n: int, gamma, n_visible: int) -> Float[Array, " visible"]:
    r"""The visible marginal of :math:`\rho = e^{-H}/Z`:
    :math:`P(\mathbf{v}) = \mathrm{Tr}[\Lambda_\mathbf{v}\,e^{-H}] / \mathrm{Tr}\,e^{-H}` with
    :math:`\Lambda_\mathbf{v} = |\mathbf{v}\rangle\langle\mathbf{v}| \otimes \mathbb{1}_\text{hidden}`
    (the first ``n_visible`` spins are visible), ``(2^n_visible,)``, by ``expm``."""
    blocks = _visible_blocks(n, n_visible)
    weights = jnp.diag(jax.scipy.linalg.expm(-qbm_hamiltonian(theta, n, gamma)))
    by_v = jnp.zeros(2**n_visible, weights.dtype).at[blocks].add(weights)
    return by_v / jnp.sum(weights)


@shaped
def qbm_gradient(theta: Float[AnyArray, " n_ops"], n: int, gamma, n_visible: int, v: int,
                 exact: bool = True) -> Float[Array, " n_ops"]:
    r""":math:`\partial\log P(\mathbf{v})/\partial\theta_k`, exactly through Duhamel's formula

    .. math:: \frac{\partial e^{-H}}{\partial\theta_k} = \int_0^1 e^{-tH} A_k\, e^{-(1-t)H}\,dt,
              \qquad
              \frac{\partial\log P(\mathbf{v})}{\partial\theta_k}
              = \frac{\mathrm{Tr}\big[\Lambda_\mathbf{v}\int_0^1 e^{-tH}A_k e^{-(1-t)H}dt\big]}
                     {\mathrm{Tr}[\Lambda_\mathbf{v}e^{-H}]} - \langle A_k\rangle,

    the integral in :math:`H`'s eigenbasis (:math:`(A_k)_{ab}\,(e^{-E_a} - e^{-E_b})/(E_b - E_a)`),
    or with ``exact=False`` the naive gradient that treats :math:`A_k` as commuting with :math:`H`:
    :math:`\mathrm{Tr}[\Lambda_\mathbf{v} e^{-H}A_k] / \mathrm{Tr}[\Lambda_\mathbf{v}e^{-H}]
    - \langle A_k\rangle` (the two agree at :math:`\Gamma = 0`).  ``v`` is the visible state's number.
    """
    blocks = _visible_blocks(n, n_visible)
    if not validate.is_integer(v) or not 0 <= v < 2**n_visible:
        raise ValueError(f"v={v!r}; expected a visible state number in [0, {2**n_visible - 1}]")
    hamiltonian = qbm_hamiltonian(theta, n, gamma)
    ops = jnp.asarray(ising_operators(n), hamiltonian.dtype)
    energies, vectors = jnp.linalg.eigh(hamiltonian)
    shift = energies[0]  # exp(-(E - E_0)): the common factor cancels in every ratio
    boltzmann = jnp.exp(-(energies - shift))
    gap = energies[None, :] - energies[:, None]
    same = jnp.abs(gap) < 1e-9
    kernel = jnp.where(same, boltzmann[:, None],
                       (boltzmann[:, None] - boltzmann[None, :]) / jnp.where(same, 1.0, gap))
    projector = jnp.asarray(blocks == v, hamiltonian.dtype)
    exp_h = (vectors * boltzmann) @ vectors.T
    clamped = jnp.sum(projector * jnp.diag(exp_h))
    model = (ops @ jnp.diag(exp_h)) / jnp.trace(exp_h)
    if exact:
        a_eig = jnp.einsum("ia,ki,ib->kab", vectors, ops, vectors)  # each A_k in the eigenbasis
        duhamel = jnp.einsum("sa,kab,ab,sb->ks", vectors, a_eig, kernel, vectors)  # diagonal in s
        positive = duhamel @ projector / clamped
    else:
        positive = (ops * jnp.diag(exp_h)) @ projector / clamped
    return positive - model
