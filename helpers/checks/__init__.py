r"""Exercises that check themselves: each function takes a student's function, runs it on random
inputs against an exact reference (a closed form, enumeration, ``jax.grad``, the sum definition) or
an invariant, and returns a :class:`Verdict`: pass, or what is wrong and a hint, never the solution.

A check never raises because of the student's code: an exception, a wrong shape, a NaN or a wrong
value becomes a failed verdict that says which; ``NotImplementedError`` (the notebook's stub) reads
"not attempted yet".  Inputs come from fixed seeds, so a verdict is the same on every run.
One module and one pair of checks per notebook, in the course's order (``jax_basics`` for 00,
``feedforward``, ``conv_rnn``, ``autoencoders``, ``boltzmann``, ``energy_based``, ``vae``, ``diffusion``,
``gan``, ``pinns``, ``attention``, ``flows``, ``quantum``), each listing its checks in ``__all__``; the
package offers them all by name (``checks.softplus``).  Each notebook's ``solutions/NN_name.py`` holds the
instructors' answers and, in ``CASES``, a plausible wrong answer for each check with the words its
verdict must contain (``tests/test_checks.py`` runs both).
"""

from helpers.checks import (
    attention,
    autoencoders,
    boltzmann,
    conv_rnn,
    diffusion,
    energy_based,
    feedforward,
    flows,
    gan,
    jax_basics,
    pinns,
    quantum,
    vae,
)
from helpers.checks._core import Verdict

# One module per notebook, in the course's order; the package offers every module's checks by name.
NOTEBOOK_MODULES = (
    jax_basics, feedforward, conv_rnn, autoencoders, boltzmann, energy_based, vae, diffusion, gan,
    pinns, attention, flows, quantum,
)
__all__ = ["Verdict"] + [name for module in NOTEBOOK_MODULES for name in module.__all__]
globals().update({name: getattr(module, name) for module in NOTEBOOK_MODULES for name in module.__all__})
