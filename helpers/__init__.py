"""Thin, jitted JAX building blocks for the course notebooks; one module per topic.

Import modules by name, e.g. ``from helpers import data, ising``.
"""

__version__ = "0.1.0"
