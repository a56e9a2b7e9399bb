"""The self-checking exercises of notebook 08 (generative adversarial networks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Mismatch, Verdict, expect, f32, run

__all__ = ["lsgan_optimal_discriminator", "hinge_losses"]

_SCORES = np.concatenate([np.random.default_rng(13).normal(0, 2, 30), [-4.0, 4.0]])


def _densities():
    """Two densities on a grid: data N(0, 1) and a generator's 0.6 N(-1, 0.5^2) + 0.4 N(2, 0.8^2)."""
    x = np.linspace(-4, 5, 61)

    def gauss(m, s):
        return np.exp(-0.5 * ((x - m) / s) ** 2) / (s * np.sqrt(2 * np.pi))

    return gauss(0, 1), 0.6 * gauss(-1, 0.5) + 0.4 * gauss(2, 0.8)


def lsgan_optimal_discriminator(student: Callable) -> Verdict:
    r"""``student(p_data, p_g)`` -> the least-squares GAN's best discriminator for the targets
    :math:`b = 1` (data) and :math:`a = -1` (samples): minimising
    :math:`\tfrac12\mathbb{E}_{p_\text{data}}(D - 1)^2 + \tfrac12\mathbb{E}_{p_g}(D + 1)^2` point by point
    gives :math:`D^* = (p_\text{data} - p_g)/(p_\text{data} + p_g)`."""
    p, q = _densities()

    def trial():
        want = (p - q) / (p + q)
        expect(student(*f32(p, q)), want, "D*", rtol=1e-3, known=[
            (p / (p + q), "that is the optimum of the cross-entropy game (section 1); here the loss is "
             "a squared error with targets +1 and -1"),
            ((q - p) / (p + q), "the sign is reversed: data are pulled to the target +1, samples to -1"),
            (0.5 * (p - q) / (p + q), "set the derivative of the whole integrand to zero; both squared "
             "errors carry the same factor 1/2")])
        return "matches the least-squares optimum on 61 grid points of two densities"

    return run("least-squares optimal discriminator", student, "for fixed x the integrand "
               "p_data (D - 1)^2 + p_g (D + 1)^2 is a parabola in D: where is its minimum?", trial)


def hinge_losses(student: Callable) -> Verdict:
    r"""``student(real_scores, fake_scores)`` -> ``(d_loss, g_loss)`` of the hinge GAN (Lim and Ye 2017;
    Miyato et al. 2018): :math:`L_D = \mathbb{E}\max(0, 1 - f(\mathbf{x})) + \mathbb{E}\max(0, 1 +
    f(G(\mathbf{z})))` and :math:`L_G = -\mathbb{E} f(G(\mathbf{z}))`, from the critic's scores."""
    real, fake = _SCORES, _SCORES[::-1] * 0.7 - 0.3

    def trial():
        d = np.mean(np.maximum(0, 1 - real)) + np.mean(np.maximum(0, 1 + fake))
        g = -np.mean(fake)
        got = student(*f32(real, fake))
        if not isinstance(got, tuple | list) or len(got) != 2:
            raise Mismatch("expected a pair (d_loss, g_loss)", "return d_loss, g_loss")
        wasserstein = np.mean(1 - real) + np.mean(1 + fake)
        expect(np.array([float(got[0]), float(got[1])]), np.array([d, g]), "(d_loss, g_loss)", known=[
            ([wasserstein, g], "without the max(0, .) the discriminator's loss is the Wasserstein critic's "
             "plus 2: the hinge stops rewarding scores beyond the margins +1 and -1"),
            ([d, np.mean(np.maximum(0, 1 - fake))], "the generator's loss has no hinge: it pushes f(G(z)) "
             "up everywhere, as the Wasserstein generator does"),
            ([np.mean(np.maximum(0, 1 + real)) + np.mean(np.maximum(0, 1 - fake)), g],
             "the margins are swapped: data should score above +1, samples below -1")])
        return "matches the hinge losses on 32 scores of each kind"

    return run("hinge losses", student, "the discriminator pays only for data scored below +1 and "
               "samples scored above -1; the generator wants its samples' scores high", trial)
