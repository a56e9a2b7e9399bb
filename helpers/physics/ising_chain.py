# ruff: noqa: F722  (jaxtyping shape strings in annotations)
r"""Exact results of Ising chains by the transfer matrix: the 1-D chain, and the 2-D lattice read as a
chain of rows.

The 1-D chain :math:`E = -J\sum_i s_i s_{i+1} - h\sum_i s_i` (spins :math:`\pm 1`, :math:`\beta = 1/T`,
:math:`k_B = 1`) has the transfer matrix
:math:`T_{ss'} = \exp[\beta J s s' + \tfrac{\beta h}{2}(s + s')]`, and a ring of N spins has
:math:`Z_N = \mathrm{Tr}\, T^N = \lambda_+^N + \lambda_-^N`.  A window of N consecutive spins of the
infinite chain is a stationary Markov chain (:func:`markov_chain`), which gives its entropy rate, the
exact negative log-likelihood per spin that an autoregressive model can reach, and exact samples.
With h = 0 the window has the distribution of an open chain of N spins.

The L x L periodic lattice (:func:`lattice_log_partition`) is a ring of L rows, each one of
:math:`2^L` states, with a :math:`2^L \times 2^L` transfer matrix: exact for L up to about 10.
"""

from __future__ import annotations

import itertools

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Float, Int8

from helpers.core import validate
from helpers.core.validate import shaped, temperatures_array


def transfer_matrix(temperature, J=1.0, h=0.0) -> Float[np.ndarray, "2 2"]:
    r""":math:`T_{ss'} = \exp[\beta J s s' + \beta h (s + s')/2]`, rows and columns ordered
    :math:`s = +1, -1`; ``(2, 2)`` float64."""
    validate.positive_number(temperature=temperature)
    validate.number(J=J, h=h)
    s = np.array([1.0, -1.0])
    beta = 1.0 / float(temperature)
    return np.exp(beta * J * np.outer(s, s) + beta * h * (s[:, None] + s[None, :]) / 2)


def markov_chain(temperature, J=1.0, h=0.0) -> tuple[Float[np.ndarray, "2 2"], Float[np.ndarray, 2]]:
    r"""The infinite chain as a Markov chain: with :math:`T\psi = \lambda_+ \psi` (the largest
    eigenvalue and its positive eigenvector),

    .. math:: P(s'|s) = \frac{T_{ss'}\,\psi_{s'}}{\lambda_+\,\psi_s},\qquad \pi_s = \psi_s^2,

    the transition matrix ``P (2, 2)`` (rows sum to one) and its stationary distribution ``pi (2,)``.
    For h = 0: :math:`P(s' = s) = e^{\beta J}/(2\cosh\beta J)` and :math:`\pi = (1/2, 1/2)`."""
    values, vectors = np.linalg.eigh(transfer_matrix(temperature, J, h))
    lam, psi = values[-1], np.abs(vectors[:, -1])
    P = transfer_matrix(temperature, J, h) * psi[None, :] / (lam * psi[:, None])
    return P, psi**2


def entropy_rate(temperatures, J=1.0, h=0.0) -> Float[np.ndarray, " n_T"]:
    r"""The entropy per spin of the infinite chain, in nats,

    .. math:: s = -\sum_{s, s'} \pi_s P(s'|s) \log P(s'|s)
              \;\overset{h=0}{=}\; -p\log p - (1-p)\log(1-p),\quad p = \frac{e^{\beta J}}{2\cosh\beta J}.

    ``temperatures`` a number or ``(n_T,)`` -> ``(n_T,)``."""
    out = []
    for T in temperatures_array(temperatures):
        P, pi = markov_chain(T, J, h)
        out.append(-np.sum(pi[:, None] * P * np.log(P)))
    return np.array(out)


def nll_per_spin(temperatures, n_spins, J=1.0, h=0.0) -> Float[np.ndarray, " n_T"]:
    r"""The exact negative log-likelihood per spin of N consecutive spins of the infinite chain (for
    h = 0, of an open chain of N spins), the least an autoregressive model can reach:

    .. math:: \frac{1}{N}\left[H(\pi) + (N - 1)\, s\right],\qquad H(\pi) = -\sum_s \pi_s\log\pi_s.

    ``temperatures`` a number or ``(n_T,)`` -> ``(n_T,)`` nats per spin."""
    validate.positive_int(n_spins=n_spins)
    first = []
    for T in temperatures_array(temperatures):
        pi = markov_chain(T, J, h)[1]
        first.append(-np.sum(pi * np.log(pi)))
    return (np.array(first) + (n_spins - 1) * entropy_rate(temperatures, J, h)) / n_spins


@shaped
def sample_chains(key, temperatures, n_spins, J=1.0) -> Int8[Array, "n_chains n_spins"]:
    r"""Exact samples of N consecutive spins of the chain at h = 0, one per temperature: the first spin
    is :math:`\pm 1` with probability 1/2 each, and each next spin repeats the previous one with
    probability :math:`p = e^{\beta J}/(2\cosh\beta J)` (:func:`markov_chain`), run as one
    ``lax.scan`` along the chain.  ``temperatures (n_chains,)`` -> spins ``(n_chains, N)`` int8."""
    validate.key("key", key)
    temps = temperatures_array(temperatures)
    validate.positive_int(n_spins=n_spins)
    validate.number(J=J)
    p_same = jnp.asarray(1.0 / (1.0 + np.exp(-2.0 * J / temps)), jnp.float32)
    k_first, k_rest = jax.random.split(key)
    first = jax.random.rademacher(k_first, (temps.size,), dtype=jnp.int8)

    def next_spin(s, k):
        flip = jnp.where(jax.random.uniform(k, s.shape) < p_same, 1, -1).astype(jnp.int8)
        return s * flip, s * flip

    _, rest = jax.lax.scan(next_spin, first, jax.random.split(k_rest, n_spins - 1))
    return jnp.concatenate([first[:, None], rest.T], axis=1)


def _row_matrix(L) -> np.ndarray:
    """:math:`M_{ab} = R(a)/2 + a\\cdot b + R(b)/2` over the :math:`2^L` row states, so
    :math:`V = e^{K M}`."""
    if not validate.is_integer(L) or not 2 <= L <= 10:
        raise ValueError(f"L={L!r}; expected an integer lattice size from 2 to 10 (2^L row states)")
    rows = np.array(list(itertools.product([1, -1], repeat=L)), np.float64)
    own = np.sum(rows * np.roll(rows, 1, axis=1), axis=1)
    return own[:, None] / 2 + rows @ rows.T + own[None, :] / 2


def _couplings(couplings) -> np.ndarray:
    Ks = np.atleast_1d(np.asarray(couplings, np.float64))
    if Ks.ndim != 1 or Ks.size == 0 or not np.all(np.isfinite(Ks)):
        raise ValueError(f"couplings={couplings!r}; expected finite numbers")
    return Ks


def lattice_log_partition(couplings, L) -> Float[np.ndarray, " n_K"]:
    r"""The exact :math:`\log Z(K)` of the L x L periodic Ising lattice,
    :math:`Z = \sum_{\mathbf{s}} e^{K S(\mathbf{s})}`, :math:`S = \sum_{\langle ij\rangle} s_i s_j`
    (the 2 L^2 nearest-neighbour bonds, :math:`K = J/T`), by the row-to-row transfer matrix

    .. math:: Z = \mathrm{Tr}\, V^L = \sum_i \lambda_i^L,\qquad V_{ab} = \exp\!\big[\tfrac{K}{2} R(a)
              + K\, a\cdot b + \tfrac{K}{2} R(b)\big],

    where :math:`a, b` are rows of L spins and :math:`R(a) = \sum_j a_j a_{j+1}` is a row's own bond
    sum.  ``couplings (n_K,)`` -> ``(n_K,)`` float64; L from 2 to 10."""
    M = _row_matrix(L)
    out = []
    for K in _couplings(couplings):
        lam = np.linalg.eigvalsh(np.exp(K * M))
        top = np.max(np.abs(lam))
        out.append(L * np.log(top) + np.log(np.sum((lam / top) ** L)))
    return np.array(out)


def bond_sum_moments(couplings, L) -> tuple[Float[np.ndarray, " n_K"], Float[np.ndarray, " n_K"]]:
    r"""The exact mean and variance of the bond sum S of the L x L lattice at each coupling K,
    :math:`\langle S\rangle = \partial_K \log Z` and :math:`\mathrm{Var}\,S = \partial_K^2 \log Z`,
    from :math:`Z = \mathrm{Tr}\,V^L` in the eigenbasis of V (:math:`A = U^\top V' U`,
    :math:`B = U^\top V'' U`):

    .. math:: Z' = L\sum_i \lambda_i^{L-1} A_{ii},\qquad
              Z'' = L\sum_i \lambda_i^{L-1} B_{ii}
              + L\sum_{ij} A_{ij}^2 \sum_{k=0}^{L-2}\lambda_i^k\lambda_j^{L-2-k}.

    The Fisher information of K carried by one configuration is :math:`\mathrm{Var}\,S`, so no
    unbiased estimator of K has a variance below :math:`1/\mathrm{Var}\,S` (Cramér-Rao).
    ``couplings (n_K,)`` -> ``(mean (n_K,), variance (n_K,))``."""
    M = _row_matrix(L)
    means, variances = [], []
    for K in _couplings(couplings):
        V = np.exp(K * M)
        lam, U = np.linalg.eigh(V)
        top = np.max(np.abs(lam))  # every term below is homogeneous of degree L in V: scale it out
        lam, V = lam / top, V / top
        A, B = U.T @ (M * V) @ U, U.T @ (M * M * V) @ U
        Z = np.sum(lam**L)
        Z1 = L * np.sum(lam ** (L - 1) * np.diag(A))
        powers = lam[None, :] ** np.arange(L - 1)[:, None]  # (L - 1, states): lambda^k
        c = powers.T @ powers[::-1]  # c_ij = sum_k lambda_i^k lambda_j^(L-2-k)
        Z2 = L * np.sum(lam ** (L - 1) * np.diag(B)) + L * np.sum(A**2 * c)
        means.append(Z1 / Z)
        variances.append(Z2 / Z - (Z1 / Z) ** 2)
    return np.array(means), np.array(variances)
