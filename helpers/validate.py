"""The argument checks the helpers share: each raises ``ValueError`` naming the argument, its value and
what was expected, before any compiled code runs."""

from __future__ import annotations

import numpy as np


def positive_int(**values) -> None:
    """Each value must be a positive integer (Python or NumPy, not ``bool``)."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise ValueError(f"{name}={value!r}; expected a positive integer")


def positive_number(**values) -> None:
    """Each value must be a finite number > 0."""
    for name, value in values.items():
        number = isinstance(value, int | float | np.number) and not isinstance(value, bool)
        if not number or not 0 < value < np.inf:
            raise ValueError(f"{name}={value!r}; expected a positive number")


def fraction(**values) -> None:
    """Each value must be a number in [0, 1]."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float | np.number) or not 0 <= value <= 1:
            raise ValueError(f"{name}={value!r}; expected a number in [0, 1]")


def lattice_size(L, even: bool = False) -> None:
    """``L`` must be an integer >= 2 (and even, for the checkerboard update)."""
    if isinstance(L, bool) or not isinstance(L, int | np.integer) or L < 2:
        raise ValueError(f"L={L!r}; expected an integer lattice size >= 2")
    if even and L % 2:
        raise ValueError(f"L={L}; the checkerboard update needs an even lattice size")


def temperatures_array(temperatures) -> np.ndarray:
    """Positive finite temperatures as a 1-D float64 array (a scalar becomes one value)."""
    temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    if temps.ndim != 1 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
        raise ValueError(f"temperatures={temperatures!r}; expected positive finite values")
    return temps
