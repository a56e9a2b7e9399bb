"""The self-checking exercises of notebook 04 (Boltzmann machines)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import jax
import numpy as np
from scipy.special import expit, logsumexp

from helpers.checks._core import Mismatch, Verdict, expect, f32, f32_params, run
from helpers.generative import rbm

__all__ = ["rbm_free_energy", "cd1_gradient"]

_N_V, _N_H = 4, 3
_STATES_V = np.array(list(itertools.product([0, 1], repeat=_N_V)), np.float64)
_STATES_H = np.array(list(itertools.product([0, 1], repeat=_N_H)), np.float64)


def _rbm(seed: int):
    rng = np.random.default_rng(seed)
    return {"a": rng.normal(0, 0.5, _N_V), "b": rng.normal(0, 0.5, _N_H),
            "W": rng.normal(0, 1.5, (_N_V, _N_H))}


def _student_params(p) -> rbm.RBMParams:
    """The NumPy parameters as the student's functions receive them: float32 :class:`rbm.RBMParams`."""
    return rbm.RBMParams(**f32_params(p))


def _joint_log_weights(p):
    """-E(x, h) for every pair of states, ``(16, 8)``."""
    return (_STATES_V @ p["a"])[:, None] + (_STATES_H @ p["b"])[None] + _STATES_V @ p["W"] @ _STATES_H.T


def rbm_free_energy(student: Callable) -> Verdict:
    r"""``student(params, x)`` -> :math:`F(\mathbf{x}) = -\log\sum_\mathbf{h}e^{-E(\mathbf{x},\mathbf{h})}`
    ``(n,)`` for a binary RBM, params ``rbm.RBMParams(a (4,), b (3,), W (4, 3))``, against enumeration of all
    8 hidden states for all 16 visible ones (the convention of :mod:`helpers.generative.rbm`)."""

    def trial():
        for seed in (6, 7):
            p = _rbm(seed)
            want = -logsumexp(_joint_log_weights(p), axis=1)
            got = student(_student_params(p), *f32(_STATES_V))
            expect(got, want, "F(x)", known=[
                (-want, "the sign: p(x) = e^(-F(x)) / Z, so F = -log sum_h e^(-E(x, h))"),
                (want + _STATES_V @ p["a"], "the visible bias term -a^T x is missing")])
        return "equals -log sum_h e^(-E) by enumeration for all 16 visible states of two RBMs"

    return run("RBM free energy", student, "sum out each hidden unit: sum over h_j in {0, 1} of "
                "e^(h_j (b_j + (x^T W)_j)) = 1 + e^(b_j + (x^T W)_j)", trial)


def _cd1_expectation(p, x):
    """By enumeration: the exact expectation of the CD-1 estimator, the exact log-likelihood gradient,
    and CD-1 with its sign flipped (a known mistake), each a dict like the parameters."""
    ph = expit(p["b"] + x @ p["W"])  # (n, 3): p(h_j = 1 | x)
    pos = {"a": x.mean(0), "b": ph.mean(0), "W": x.T @ ph / len(x)}
    log_px_h = _STATES_H @ p["W"].T + p["a"]  # (8, 4) visible logits given each h
    p_x_given_h = np.exp(_STATES_V @ log_px_h.T - np.logaddexp(0, log_px_h).sum(1))  # (16, 8)
    p_h_given_x = np.prod(np.where(_STATES_H[None] == 1, ph[:, None], 1 - ph[:, None]), axis=2)  # (n, 8)
    weights = (p_h_given_x @ p_x_given_h.T).mean(0)  # (16,): p(x') after one Gibbs step, averaged over data
    model = np.exp(logsumexp(_joint_log_weights(p), axis=1))
    model /= model.sum()
    ph_states = expit(p["b"] + _STATES_V @ p["W"])

    def phase(w):
        return {"a": w @ _STATES_V, "b": w @ ph_states, "W": (_STATES_V * w[:, None]).T @ ph_states}

    neg, exact = phase(weights), phase(model)
    return ({k: pos[k] - neg[k] for k in pos}, {k: pos[k] - exact[k] for k in pos},
            {k: neg[k] - pos[k] for k in pos})


def cd1_gradient(student: Callable) -> Verdict:
    r"""``student(key, params, x)`` -> the CD-1 estimate of the log-likelihood gradient (the ascent
    direction, an ``rbm.RBMParams`` like params, averaged over the batch): positive phase at the data,
    negative phase at :math:`\mathbf{x}'` from one Gibbs step :math:`\mathbf{x}\to\mathbf{h}\to\mathbf{x}'`,
    with :math:`p(h_j{=}1|\mathbf{x}')` in the hidden terms.  Its average over 16 384 chains from four data
    vectors must match the exact expectation of CD-1 (enumerated) within five standard errors."""
    p = _rbm(8)
    data = _STATES_V[[3, 5, 10, 15]]
    x = np.repeat(data, 4096, axis=0)
    want, exact, flipped = _cd1_expectation(p, x)
    tol = 2.5 / np.sqrt(len(x))  # five standard errors: each chain's term lies in [0, 1], so its std <= 1/2

    def trial():
        got = student(jax.random.key(0), _student_params(p), *f32(x))
        if not isinstance(got, rbm.RBMParams):
            raise Mismatch(f"expected rbm.RBMParams(a=..., b=..., W=...); got {type(got).__name__}")
        for name in ("a", "b", "W"):
            g = np.asarray(getattr(got, name), np.float64)
            if g.shape != want[name].shape:
                raise Mismatch(f"the gradient for {name} has shape {g.shape}; expected {want[name].shape}")
            error = np.max(np.abs(g - want[name]))
            if error < tol:
                continue
            for wrong, why in [(flipped, "the sign: the ascent direction is positive minus negative phase"),
                               (exact, "that is the exact gradient (the model average); CD-1 uses x' from "
                                "one Gibbs step started at the data")]:
                if np.max(np.abs(g - wrong[name])) < tol:
                    raise Mismatch(f"the gradient for {name} differs from CD-1's", why)
            raise Mismatch(f"the gradient for {name} differs from CD-1's expectation by {error:.3f}, more "
                            f"than five standard errors ({tol:.3f})")
        return "matches the exact expectation of CD-1 (by enumeration) within five standard errors"

    return run("CD-1 gradient", student, "sample h ~ p(h|x), then x' ~ p(x'|h); gradient = <x p(h|x)^T> "
                "- <x' p(h|x')^T> and likewise for a and b, averaged over the batch", trial)
