"""The self-checking exercises of notebook 08 (generative adversarial networks)."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from helpers.checks._core import Verdict, expect, f32, run

__all__ = ["discriminator_loss", "generator_loss"]

_LOGITS = np.concatenate([np.random.default_rng(13).normal(0, 3, 30), [-200.0, 200.0]])


def discriminator_loss(student: Callable) -> Verdict:
    r"""``student(real_logits, fake_logits)`` -> :math:`-V = -\langle\log\sigma(l_r)\rangle
    - \langle\log(1 - \sigma(l_f))\rangle`, finite for logits of :math:`\pm 200`."""
    real, fake = _LOGITS, _LOGITS[::-1] * 0.7

    def trial():
        want = np.mean(np.logaddexp(0, -real)) + np.mean(np.logaddexp(0, fake))
        swapped = np.mean(np.logaddexp(0, real)) + np.mean(np.logaddexp(0, -fake))
        expect(student(*f32(real, fake)), want, "the loss", known=[
            (swapped, "the roles are swapped: the discriminator calls data real (label 1) and samples fake")],
                nonfinite_hint="log(sigmoid(l)) underflows for large |l|: use -jax.nn.softplus(-l) and "
                "log(1 - sigmoid(l)) = -jax.nn.softplus(l)")
        return "matches -V on 32 logits, finite at ±200"

    return run("discriminator loss", student, "binary cross-entropy from logits, data labelled 1 and "
                "samples 0, averaged over each batch", trial)


def generator_loss(student: Callable) -> Verdict:
    r"""``student(fake_logits)`` -> the non-saturating loss :math:`-\langle\log\sigma(l_f)\rangle`, finite for
    logits of :math:`\pm 200`, whose gradient does not vanish where the discriminator rejects the samples."""

    def trial():
        want = np.mean(np.logaddexp(0, -_LOGITS))
        expect(student(*f32(_LOGITS)), want, "the loss", known=[
            (-np.mean(np.logaddexp(0, _LOGITS)), "that is the saturating loss, mean log(1 - D(G(z))): its "
             "gradient vanishes when D rejects the samples; minimise -log D(G(z)) instead")],
                nonfinite_hint="log(sigmoid(l)) underflows for very negative l: use -jax.nn.softplus(-l)")
        return "matches -mean log D(G(z)) on 32 logits, finite at ±200"

    return run("non-saturating generator loss", student, "the generator wants D(G(z)) -> 1: minimise "
                "-log sigmoid(l_f) = softplus(-l_f), averaged", trial)
