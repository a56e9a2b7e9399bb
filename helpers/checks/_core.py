"""The machinery of the self-checking exercises: the verdict, the runner that turns any failure of
the student's code into a verdict, and the comparison that names shape, NaN and value mistakes."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import jax.numpy as jnp
import numpy as np

from helpers.core import validate


@dataclass(frozen=True)
class Verdict:
    """The outcome of a check; shown as one or two lines when it is a cell's last value."""

    exercise: str
    passed: bool
    detail: str
    hint: str = ""

    def __bool__(self) -> bool:
        return self.passed

    def __repr__(self) -> str:
        text = f"[{'PASS' if self.passed else 'NOT YET'}] {self.exercise}: {self.detail}"
        return text + (f"\n  Hint: {self.hint}" if self.hint and not self.passed else "")


class Mismatch(Exception):
    """Raised inside a trial: what is wrong, and the hint for this mistake when one is known."""

    def __init__(self, detail: str, hint: str | None = None):
        super().__init__(detail)
        self.detail, self.hint = detail, hint


def run(exercise: str, student, hint: str, trial: Callable[[], str]) -> Verdict:
    validate.callable_("student", student)
    try:
        detail = trial()
    except NotImplementedError:
        return Verdict(exercise, False, "not attempted yet (the function raises NotImplementedError)", hint)
    except Mismatch as wrong:
        return Verdict(exercise, False, wrong.detail, wrong.hint or hint)
    except Exception as err:  # the student's bug becomes a verdict, not a traceback
        return Verdict(exercise, False, f"your function raised {type(err).__name__}: {err}", hint)
    return Verdict(exercise, True, detail)


def expect(got, want, what: str, known=(), rtol: float = 2e-4, nonfinite_hint: str | None = None):
    """``got`` must equal ``want`` (shape and values); ``known`` lists (wrong answer, its hint) pairs."""
    if got is None:
        raise Mismatch(f"{what} is None: the function returns nothing", "end the function with `return ...`")
    try:
        got = np.asarray(got, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise Mismatch(f"{what} is not an array of numbers ({err})") from None
    want = np.asarray(want, dtype=np.float64)
    if got.shape != want.shape:
        raise Mismatch(f"{what} has shape {got.shape}; expected {want.shape}")
    if not np.all(np.isfinite(got)):
        raise Mismatch(f"{what} contains NaN or inf", nonfinite_hint)
    atol = rtol * max(float(np.max(np.abs(want), initial=0.0)), 1e-3)
    if np.allclose(got, want, rtol=rtol, atol=atol):
        return
    for wrong, why in known:
        if np.allclose(got, np.asarray(wrong, np.float64), rtol=rtol, atol=atol):
            raise Mismatch(f"{what} differs from the reference", why)
    scale = float(np.vdot(got, want) / max(np.vdot(want, want), 1e-30))
    if abs(scale - 1) > 1e-3 and np.allclose(got, scale * want, rtol=rtol, atol=atol):
        raise Mismatch(f"{what} is {scale:.4g} times the correct value: a factor is missing or extra")
    error = float(np.max(np.abs(got - want)))
    size = float(np.max(np.abs(want)))
    raise Mismatch(f"{what} is off by up to {error:.3g} (its entries are of size {size:.3g})")


def f32(*arrays):
    """NumPy test inputs as the float32 JAX arrays a student's code receives."""
    return [jnp.asarray(a, jnp.float32) for a in arrays]


def f32_params(params: dict) -> dict:
    """A dict of NumPy parameters (an RBM's, an RNN's) as float32 JAX arrays."""
    return {name: jnp.asarray(value, jnp.float32) for name, value in params.items()}
