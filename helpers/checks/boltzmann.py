"""The self-checking exercises of notebook 04 (Boltzmann machines): variants of what the notebook shows
(it derives the binary RBM's free energy and trains the Gaussian-binary RBM with fixed widths)."""

from __future__ import annotations

import itertools
from collections.abc import Callable

import numpy as np
from scipy.special import expit, logsumexp

from helpers.checks._core import Verdict, expect, f32, f32_params, run
from helpers.generative import rbm

__all__ = ["gaussian_rbm_free_energy", "gaussian_rbm_sigma_gradient"]

_N_V, _N_H = 3, 4
_STATES_H = np.array(list(itertools.product([0, 1], repeat=_N_H)), np.float64)  # (16, 4)


def _gaussian_rbm(seed: int):
    """Parameters, widths and two sets of visible vectors of a small Gaussian-binary RBM (float64)."""
    rng = np.random.default_rng(seed)
    p = {"a": rng.normal(0, 0.5, _N_V), "b": rng.normal(0, 0.5, _N_H), "W": rng.normal(0, 0.8, (_N_V, _N_H))}
    sigma = rng.uniform(0.6, 1.5, _N_V)
    x_pos = rng.normal(0.5, 1.0, (24, _N_V))
    x_neg = rng.normal(-0.3, 1.3, (40, _N_V))
    return p, sigma, x_pos, x_neg


def _student_params(p) -> rbm.RBMParams:
    """The NumPy parameters as the student's functions receive them: float32 :class:`rbm.RBMParams`."""
    return rbm.RBMParams(**f32_params(p))


def _free_energy_by_enumeration(p, sigma, x):
    r""":math:`F(\mathbf{x}) = -\log\sum_\mathbf{h}e^{-E(\mathbf{x},\mathbf{h})}` with the lecture's
    Gaussian-binary energy, summed over all 16 hidden states: ``x (n, 3)`` -> ``(n,)``, float64."""
    quadratic = np.sum((x - p["a"]) ** 2 / (2 * sigma**2), axis=1)  # (n,)
    coupling = (x / sigma**2) @ p["W"] @ _STATES_H.T + _STATES_H @ p["b"]  # (n, 16)
    return quadratic - logsumexp(coupling, axis=1)


def _mean_gap(p, sigma, x_pos, x_neg):
    free = _free_energy_by_enumeration
    return free(p, sigma, x_pos).mean() - free(p, sigma, x_neg).mean()


def _sigma_ascent_by_differences(p, sigma, x_pos, x_neg):
    r"""The log-likelihood ascent direction for :math:`\sigma`, :math:`-\partial(\langle F\rangle_{\rm pos}
    - \langle F\rangle_{\rm neg})/\partial\sigma_i`, by central differences of the enumerated free energy."""
    grad = np.empty(_N_V)
    for i in range(_N_V):
        step = np.zeros(_N_V)
        step[i] = 1e-5 * sigma[i]
        up, down = _mean_gap(p, sigma + step, x_pos, x_neg), _mean_gap(p, sigma - step, x_pos, x_neg)
        grad[i] = -(up - down) / (2 * step[i])
    return grad


def _phases(p, sigma, x_pos, x_neg, hidden_factor=2.0, visible=True, hidden=True):
    """Positive minus negative phase of the terms of -dF/dsigma (wrong answers leave a term out)."""

    def phase(x):
        ph = expit(p["b"] + (x / sigma**2) @ p["W"])
        term = np.zeros_like(x)
        if visible:
            term = term + (x - p["a"]) ** 2 / sigma**3
        if hidden:
            term = term - hidden_factor * x * (ph @ p["W"].T) / sigma**3
        return term.mean(0)

    return phase(x_pos) - phase(x_neg)


def gaussian_rbm_free_energy(student: Callable) -> Verdict:
    r"""``student(params, sigma, x)`` ->
    :math:`F(\mathbf{x}) = -\log\sum_\mathbf{h}e^{-E(\mathbf{x},\mathbf{h})}` ``(n,)`` for the
    Gaussian-binary RBM with the lecture's energy :math:`E = \sum_i (x_i - a_i)^2/(2\sigma_i^2)
    - \mathbf{b}^T\mathbf{h} - \sum_{ij} x_i w_{ij} h_j/\sigma_i^2`,
    params ``rbm.RBMParams(a (3,), b (4,), W (3, 4))``, widths ``sigma (3,)``, against the sum over all 16
    hidden states for 24 visible vectors of each of two machines."""

    def trial():
        for seed in (11, 12):
            p, sigma, x, _ = _gaussian_rbm(seed)
            want = _free_energy_by_enumeration(p, sigma, x)
            quadratic = np.sum((x - p["a"]) ** 2 / (2 * sigma**2), axis=1)
            got = student(_student_params(p), *f32(sigma, x))
            expect(got, want, "F(x)", known=[
                (-want, "the sign: p(x) = e^(-F(x)) / Z, so F = -log sum_h e^(-E(x, h))"),
                (-x @ p["a"] - np.logaddexp(0, p["b"] + x @ p["W"]).sum(1),
                 "that is the binary RBM's free energy; section 4's energy has a quadratic visible term and "
                 "scales the coupling by the widths"),
                (quadratic - np.logaddexp(0, p["b"] + (x / sigma) @ p["W"]).sum(1),
                 "compare the coupling term of section 4's energy: which power of sigma_i divides "
                 "x_i w_ij h_j?"),
                (want - quadratic, "the visible term of the energy does not depend on h, so it stays in F"),
                (want + np.sum(np.log(np.sqrt(2 * np.pi) * sigma)),
                 "F is -log sum_h e^(-E(x, h)) with the energy as it stands: nothing normalises the "
                 "Gaussian")])
        return "equals -log sum_h e^(-E(x, h)) by enumeration of all 16 hidden states, for two RBMs"

    return run("Gaussian-binary RBM free energy", student,
               "write e^(-E(x, h)) with section 4's energy as a factor without h times one factor per hidden "
               "unit, then sum each h_j over {0, 1}, as section 3 does for binary visible units", trial)


def gaussian_rbm_sigma_gradient(student: Callable) -> Verdict:
    r"""``student(params, sigma, x_pos, x_neg)`` -> ``(n_v,)``: the log-likelihood ascent direction for the
    widths :math:`\sigma_i` of a Gaussian-binary RBM, positive phase at the data ``x_pos (n, 3)`` minus
    negative phase at the model samples ``x_neg (m, 3)``, i.e.
    :math:`-\partial(\langle F\rangle_{\rm pos} - \langle F\rangle_{\rm neg})/\partial\sigma_i`, against
    central differences (float64) of the free energy enumerated over all 16 hidden states, for two
    machines."""

    def trial():
        for seed in (13, 14):
            p, sigma, x_pos, x_neg = _gaussian_rbm(seed)
            want = _sigma_ascent_by_differences(p, sigma, x_pos, x_neg)

            got = student(_student_params(p), *f32(sigma, x_pos, x_neg))
            expect(got, want, "the gradient for sigma", known=[
                (-want, "the sign: the ascent direction is the positive phase minus the negative phase of "
                 "-dF/dsigma_i (section 2)"),
                (_phases(p, sigma, x_pos, x_neg, hidden=False), "sigma_i also enters F through the hidden "
                 "units' input, not only through the visible term"),
                (_phases(p, sigma, x_pos, x_neg, visible=False), "the visible term (x_i - a_i)^2 / "
                 "(2 sigma_i^2) of F depends on sigma_i too"),
                (_phases(p, sigma, x_pos, x_neg, hidden_factor=1.0), "differentiate 1/sigma_i^2 in the "
                 "hidden units' input again")])
        return "equals minus the derivative of <F>_data - <F>_model, by central differences, for two RBMs"

    return run("Gaussian-binary RBM: gradient for sigma", student,
               "differentiate the free energy of exercise A with respect to sigma_i; the derivative of the "
               "softplus of a hidden unit's input is p(h_j = 1 | x); then positive minus negative phase, "
               "as in section 2", trial)

