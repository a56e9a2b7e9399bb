"""The self-checking exercises of notebook 00 (JAX for physicists)."""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["lennard_jones_force", "random_walks"]


def _lj_potential(r, epsilon, sigma):
    return 4 * epsilon * ((sigma / r) ** 12 - (sigma / r) ** 6)


def lennard_jones_force(student: Callable) -> Verdict:
    r"""``student(r, epsilon, sigma)`` -> the radial force :math:`F(r) = -\mathrm{d}V/\mathrm{d}r` of the
    Lennard-Jones pair potential :math:`V(r) = 4\epsilon[(\sigma/r)^{12} - (\sigma/r)^6]`, elementwise,
    ``r (n,)`` -> ``(n,)`` (positive: repulsive).  Compared with ``-jax.grad`` of :math:`V` at 40 distances
    for three :math:`(\epsilon, \sigma)`, and required to vanish at the minimum :math:`r = 2^{1/6}\sigma`."""
    rng = np.random.default_rng(0)
    pairs = [(1.0, 1.0), (0.5, 2.0), (2.0, 0.7)]

    def trial():
        for epsilon, sigma in pairs:
            r = np.sort(rng.uniform(0.9 * sigma, 3.0 * sigma, 40))
            force = jax.vmap(jax.grad(lambda x, e=epsilon, s=sigma: -_lj_potential(x, e, s)))
            with jax.enable_x64(True):
                want = np.asarray(force(jnp.asarray(r, jnp.float64)))
            ratio = sigma / r
            no_r = 24 * epsilon * (2 * ratio**12 - ratio**6)
            expect(student(*f32(r), epsilon, sigma), want, f"F(r) for epsilon = {epsilon}, sigma = {sigma}",
                   known=[(-want, "that is +dV/dr: the force is minus the derivative, so it pushes the "
                           "atoms apart (F > 0) at short distance"),
                          (no_r, "a factor 1/r is missing: d/dr of (sigma/r)^n is -n (sigma/r)^n / r")],
                   rtol=1e-3)
            r_min = 2 ** (1 / 6) * sigma
            at_min = float(np.asarray(student(*f32([r_min]), epsilon, sigma)).reshape(-1)[0])
            scale = 24 * epsilon / sigma
            if not abs(at_min) < 1e-3 * scale:
                raise Mismatch(f"F(2^(1/6) sigma) = {at_min:.4g} for epsilon = {epsilon}, sigma = {sigma}; "
                               "the force vanishes at the potential's minimum")
        return "equals -dV/dr from jax.grad for three (epsilon, sigma), and vanishes at r = 2^(1/6) sigma"

    return run("Lennard-Jones force", student, "F = -dV/dr: differentiate each power of sigma/r by the "
               "chain rule; the force must vanish where V has its minimum, r = 2^(1/6) sigma", trial)


def random_walks(student: Callable) -> Verdict:
    r"""``student(key, n_walkers, n_steps)`` -> the end points :math:`x = \sum_{t=1}^{N} s_t` of
    ``n_walkers`` independent walks of ``n_steps`` steps :math:`s_t = \pm 1` (each with probability 1/2),
    shape ``(n_walkers,)``.  The same key must give the same walks, another key other walks; the ends
    must be integers of the parity of N with :math:`|x| \le N`; over 4000 walkers their mean (0) and
    variance (N) must agree with the exact ones within five standard errors."""
    n_walkers, n_steps = 4000, 64

    def ends(key):
        x = np.asarray(student(key, n_walkers, n_steps), np.float64)
        if x.shape != (n_walkers,):
            raise Mismatch(f"returned shape {x.shape}; expected one end point per walker, ({n_walkers},)")
        if not np.all(np.isfinite(x)):
            raise Mismatch("the end points contain NaN or inf")
        return x

    def trial():
        key = jax.random.key(2024)
        x, again = ends(key), ends(key)
        if not np.array_equal(x, again):
            raise Mismatch("the same key gave different walks", "draw every random number from the key you "
                           "are given (jax.random), never from a global seed such as np.random")
        if np.array_equal(x, ends(jax.random.key(7))):
            raise Mismatch("two different keys gave the same walks", "the random numbers must come from "
                           "the key argument")
        if np.all(x == x[0]):
            raise Mismatch("every walker ends at the same point: they all drew the same steps",
                           "one key gives one stream of numbers; each walker needs its own (split the key)")
        if np.any(x != np.round(x)) or np.any((x - n_steps) % 2 != 0) or np.any(np.abs(x) > n_steps):
            mean = x.mean()
            if abs(mean - n_steps / 2) < 5 * np.sqrt(n_steps / 4 / n_walkers):
                raise Mismatch(f"the mean end point is {mean:.2f}, about N/2 = {n_steps / 2:g}: "
                               "the steps are 0 or 1", "a step is s = +1 or -1: map a coin b in {0, 1} "
                               "to 2b - 1")
            raise Mismatch(f"end points must be integers with |x| <= N = {n_steps} and the parity of N "
                           f"(found e.g. {x[:3]})", "each step is exactly +1 or -1")
        mean, var = x.mean(), x.var()
        tol_mean, tol_var = 5 * np.sqrt(n_steps / n_walkers), 5 * n_steps * np.sqrt(2 / n_walkers)
        if abs(mean) > tol_mean:
            raise Mismatch(f"the mean end point is {mean:.2f}; expected 0 within {tol_mean:.2f}",
                           "steps +1 and -1 must be equally likely")
        if abs(var - n_steps) > tol_var:
            raise Mismatch(f"the variance of the end points is {var:.1f}; expected N = {n_steps} within "
                           f"{tol_var:.1f}", "independent steps add their variances: N steps of variance 1 "
                           "give variance N; equal or correlated steps give more (up to N^2)")
        return (f"reproducible from the key, mean {mean:+.2f} and variance {var:.1f} "
                f"(exact 0 and {n_steps}) over {n_walkers} walkers")

    return run("random walks from one key", student, "x = s_1 + ... + s_N with independent s_t = ±1: every "
               "walker and every step needs fresh random numbers, all descending from the one key", trial)
