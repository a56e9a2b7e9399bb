"""Generative models in the lecture's order: autoencoders (``autoencoder``), Boltzmann machines (``rbm``,
with annealed importance sampling in ``ais``), energy-based models (``ebm``), variational autoencoders
(``vae``), diffusion models (``diffusion``, ``diffusion_sampling``, ``denoisers``) and generative
adversarial networks (``gan``), then normalizing flows (``flows``).  Imports :mod:`helpers.core`,
:mod:`helpers.networks` and :mod:`helpers.data`."""
