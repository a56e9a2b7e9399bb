"""The self-checking exercises of notebook 12 (neural quantum states)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run
from helpers.physics import nqs, spin_chains

__all__ = ["hydrogen_local_energy", "open_chain_local_energy"]


def _hydrogen_reference(r: np.ndarray, a: float) -> np.ndarray:
    """E_L of exp(-a |r|) for H = -lap/2 - 1/|r| by jax.grad and jax.hessian, float64."""
    def log_psi(x):
        return -a * jnp.sqrt(jnp.sum(x**2))

    def e_loc(x):
        grad = jax.grad(log_psi)(x)
        return -0.5 * (jnp.trace(jax.hessian(log_psi)(x)) + jnp.sum(grad**2)) - 1 / jnp.linalg.norm(x)

    with jax.enable_x64(True):
        return np.asarray(jax.vmap(e_loc)(jnp.asarray(r, jnp.float64)))


def hydrogen_local_energy(student: Callable) -> Verdict:
    r"""``student(r, a)`` -> the local energy :math:`E_L = (H\psi_a)/\psi_a` of the hydrogen trial state
    :math:`\psi_a = e^{-a|\mathbf{r}|}` for :math:`H = -\frac12\nabla^2 - 1/|\mathbf{r}|` (atomic units),
    ``r (n, 3)`` -> ``(n,)``.  Compared with ``jax.grad``/``jax.hessian`` of :math:`\log\psi_a` at 50
    positions for three values of ``a``, and required to be the constant :math:`-1/2` at :math:`a = 1`."""
    rng = np.random.default_rng(12)

    def trial():
        for a in (0.7, 1.0, 1.4):
            r = rng.normal(size=(50, 3)) * 1.5
            dist = np.linalg.norm(r, axis=1)
            want = _hydrogen_reference(r, a)
            expect(student(*f32(r), a), want, f"E_L for a = {a}",
                   known=[((a - 1) / dist, "the term |grad log psi|^2 = a^2 is missing"),
                          (-(a**2) / 2 - 1 / dist, "the Laplacian in three dimensions has the extra "
                           "term (2/r) f'(r); the 1-D second derivative alone misses it"),
                          (-(a**2) / 2 + (a + 1) / dist, "the Coulomb potential is attractive: "
                           "V = -1/r")],
                   rtol=1e-3)
        flat = np.asarray(student(*f32(rng.normal(size=(20, 3))), 1.0), np.float64)
        if not np.allclose(flat, -0.5, atol=1e-4):
            raise Mismatch(f"at a = 1 E_L ranges over [{flat.min():.4g}, {flat.max():.4g}]; the exact "
                           "ground state gives -1/2 everywhere")
        return "equals (H psi)/psi from jax.grad for a = 0.7, 1, 1.4, and is -1/2 at a = 1"

    return run("hydrogen local energy", student, "write log psi = -a r, use lap f(r) = f'' + (2/r) f' "
               "and E_L = -(lap log psi + |grad log psi|^2)/2 + V with V = -1/r", trial)


def _open_chain_reference(psi: np.ndarray, n: int, h: float, g: float, J: float) -> np.ndarray:
    """(H psi) / psi for the open chain in a tilted field, H built as a dense matrix."""
    s = spin_chains.basis_states(n).astype(np.float64)
    diagonal = -J * np.sum(s[:, :-1] * s[:, 1:], axis=1) - g * np.sum(s, axis=1)
    flipped = np.arange(2**n)[:, None] ^ (1 << np.arange(n - 1, -1, -1))
    return diagonal - h * np.sum(psi[flipped], axis=1) / psi


def open_chain_local_energy(student: Callable) -> Verdict:
    r"""``student(log_psi, params, s, h, g, J)`` -> the local energy of the open chain
    :math:`H = -J\sum_{i<n}\sigma^z_i\sigma^z_{i+1} - h\sum_i\sigma^x_i - g\sum_i\sigma^z_i` for any
    ``log_psi(params, s) -> (batch,)``, ``s (batch, n)`` -> ``(batch,)``.  Compared on every
    configuration of 5 spins with :math:`(H\psi)/\psi` from the matrix, for two random RBMs and fields."""
    n = 5
    states = spin_chains.basis_states(n)
    settings = [(0.7, 0.3, 1.0, 1), (1.3, -0.5, 0.8, 2)]

    def trial():
        for h, g, J, seed in settings:
            params = nqs.init_spin_rbm(jax.random.key(seed), n, 2, scale=0.4)
            with jax.enable_x64(True):
                psi = np.exp(np.asarray(nqs.rbm_log_psi(
                    nqs.SpinRBM(*(jnp.asarray(p, jnp.float64) for p in params)),
                    jnp.asarray(states, jnp.float64))))
            want = _open_chain_reference(psi, n, h, g, J)
            s = states.astype(np.float64)
            periodic = want - J * s[:, -1] * s[:, 0]
            no_g = want + g * np.sum(s, axis=1)
            flipped_g = want + 2 * g * np.sum(s, axis=1)
            got = student(nqs.rbm_log_psi, params, jnp.asarray(states, jnp.float32), h, g, J)
            expect(got, want, f"E_L for h = {h}, g = {g}, J = {J}",
                   known=[(periodic, "an open chain has n - 1 bonds: no coupling between the last "
                           "spin and the first"),
                          (no_g, "the longitudinal field -g sum_i sigma^z_i is missing (it is diagonal: "
                           "-g sum_i s_i)"),
                          (flipped_g, "sign of the longitudinal term: -g sigma^z_i gives -g s_i")],
                   rtol=1e-3)
        return "equals (H psi)/psi from the full matrix on all 32 configurations for two RBMs"

    return run("open chain local energy", student, "the diagonal part is -J sum_{i<n} s_i s_{i+1} - "
               "g sum_i s_i; sigma^x_i flips spin i and contributes -h psi(s with s_i flipped)/psi(s)",
               trial)
