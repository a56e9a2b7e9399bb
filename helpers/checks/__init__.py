r"""Exercises that check themselves: each function takes a student's function, runs it on random
inputs against an exact reference (a closed form, enumeration, ``jax.grad``, the sum definition) or
an invariant, and returns a :class:`Verdict`: pass, or what is wrong and a hint, never the solution.

A check never raises because of the student's code: an exception, a wrong shape, a NaN or a wrong
value becomes a failed verdict that says which; ``NotImplementedError`` (the notebook's stub) reads
"not attempted yet".  Inputs come from fixed seeds, so a verdict is the same on every run.
One module and one pair of checks per notebook, in the lecture's order (``feedforward``, ``conv_rnn``,
``autoencoders``, ``boltzmann``, ``energy_based``, ``vae``, ``diffusion``, ``gan``); each notebook's
solutions file ``solutions/NN_name.py`` holds the instructors' answers and, in ``CASES``, a plausible
wrong answer for each check with the words its verdict must contain (``tests/test_checks.py``):

* 01: :func:`softplus`, :func:`backprop`            * 05: :func:`langevin_step`, :func:`ebm_loss`
* 02: :func:`correlate2d`, :func:`elman_unroll`     * 06: :func:`gaussian_kl`, :func:`reparameterize`
* 03: :func:`principal_components`,                 * 07: :func:`ddim_step`, :func:`q_posterior`
  :func:`reconstruction_error`                      * 08: :func:`discriminator_loss`, :func:`generator_loss`
* 04: :func:`rbm_free_energy`, :func:`cd1_gradient`
"""

from helpers.checks._core import Verdict
from helpers.checks.autoencoders import principal_components, reconstruction_error
from helpers.checks.boltzmann import cd1_gradient, rbm_free_energy
from helpers.checks.conv_rnn import correlate2d, elman_unroll
from helpers.checks.diffusion import ddim_step, q_posterior
from helpers.checks.energy_based import ebm_loss, langevin_step
from helpers.checks.feedforward import backprop, softplus
from helpers.checks.gan import discriminator_loss, generator_loss
from helpers.checks.vae import gaussian_kl, reparameterize

__all__ = [
    "Verdict",
    "softplus",
    "backprop",
    "correlate2d",
    "elman_unroll",
    "principal_components",
    "reconstruction_error",
    "rbm_free_energy",
    "cd1_gradient",
    "langevin_step",
    "ebm_loss",
    "gaussian_kl",
    "reparameterize",
    "ddim_step",
    "q_posterior",
    "discriminator_loss",
    "generator_loss",
]
