"""The checks every public helper runs first: shapes in the signature, one rule per physical value.

* **Shapes and dtypes** are stated in the signature with jaxtyping (``Float[AnyArray, "batch n"]``,
  named dimensions shared across arguments) and checked by :func:`shaped` at every call and every
  trace; the error names the argument, its shape and dtype, and the annotation it missed.
* **Values** (spins of +-1, labels below K, pixels in [0, 1], a time index in 1..T, finite data) are
  checked by one rule each, which *returns* its argument: ``x = validate.spins("spins", x)``.  On a
  concrete array the rule raises ``ValueError`` naming the values found; on a traced one (inside
  ``jax.jit``, ``lax.scan`` or :func:`helpers.core.train.fit`) it attaches ``equinox.error_if``, so
  the compiled program stops with the same message when the values arrive.  (Using the returned
  array is what keeps the check in the program.)  :func:`helpers.core.train.fit` turns such a stop
  into a ``ValueError``.
* Numbers and options (``positive_int``, ``choice``, ``key`` ...) are plain Python checks.
"""

from __future__ import annotations

import contextlib
import math
import re
from collections.abc import Sequence

import equinox as eqx
import jax
import jax.numpy as jnp
import numpy as np
from beartype import BeartypeConf, beartype
from jaxtyping import jaxtyped

AnyArray = jax.Array | np.ndarray
"""What an array argument may be: a JAX array (or tracer) or a NumPy array; used in annotations
such as ``Float[AnyArray, "batch n_visible"]``."""

_TYPECHECKER = beartype(conf=BeartypeConf(is_pep484_tower=True))  # an int passes where a float is asked


def shaped(function):
    """Check ``function``'s jaxtyping annotations at every call and every trace: dtypes, ranks, and
    named dimensions that must agree across arguments (``"batch n"`` and ``"batch"``).  A mismatch
    raises ``TypeError`` naming the argument, its shape and dtype and the annotation."""
    return jaxtyped(typechecker=_TYPECHECKER)(function)


_PREFIX = "[value check] "


def _at_run_time(x, bad, message: str):
    """``x`` unchanged, with ``message`` raised when the compiled program finds ``bad`` true.

    The error rides on a scalar zero that ``x`` then adds: threading ``x`` itself through
    ``error_if``'s conditional would gather a sharded ``x`` onto one device."""
    zero = eqx.error_if(jnp.zeros((), x.dtype), jnp.any(bad), _PREFIX + message)
    return x + zero


@contextlib.contextmanager
def run_time_errors(where: str):
    """Turn a value rule's stop inside compiled code (an ``XlaRuntimeError`` wrapping the rule's
    message) into the ``ValueError`` an eager call would raise, saying ``where`` it was found."""
    try:
        yield
    except Exception as error:  # JaxRuntimeError; its class moved between JAX releases
        found = re.search(re.escape(_PREFIX) + r"([^\n]*)", str(error))
        if found is None:
            raise
        raise ValueError(f"{found.group(1)} (found {where})") from None


def concrete(x) -> np.ndarray | None:
    """``x`` as a NumPy array, or ``None`` when it is a tracer (its values unknown until run time)."""
    if isinstance(x, jax.core.Tracer):
        return None
    return np.asarray(x)


def _number(name: str, value) -> float | None:
    """A real number (Python, NumPy or a 0-d array) as a float; ``None`` when it is a traced scalar."""
    if isinstance(value, jax.core.Tracer):
        if value.ndim == 0 and jnp.issubdtype(value.dtype, jnp.number):
            return None
        raise ValueError(f"{name} is a traced array of shape {value.shape}; expected a single number")
    kinds = int | float | np.number | np.ndarray | jax.Array
    if isinstance(value, bool | np.bool_) or not isinstance(value, kinds):
        raise ValueError(f"{name}={value!r}; expected a number")
    values = np.asarray(value)
    if values.ndim != 0 or values.dtype == np.bool_ or not np.issubdtype(values.dtype, np.number):
        raise ValueError(f"{name}={value!r}; expected a single number")
    return float(values)


def is_integer(value) -> bool:
    return not isinstance(value, bool | np.bool_) and isinstance(value, int | np.integer)


def positive_int(**values) -> None:
    """Each value must be a positive integer (Python or NumPy, not ``bool``)."""
    for name, value in values.items():
        if not is_integer(value) or value < 1:
            raise ValueError(f"{name}={value!r}; expected a positive integer")


def nonnegative_int(**values) -> None:
    """Each value must be an integer >= 0 (Python or NumPy, not ``bool``)."""
    for name, value in values.items():
        if not is_integer(value) or value < 0:
            raise ValueError(f"{name}={value!r}; expected an integer >= 0")


def number(**values) -> None:
    """Each value must be a finite real number."""
    for name, value in values.items():
        value_ = _number(name, value)
        if value_ is not None and not math.isfinite(value_):
            raise ValueError(f"{name}={value!r}; expected a finite number")


def positive_number(**values) -> None:
    """Each value must be a finite number > 0 (a traced scalar passes unchecked)."""
    for name, value in values.items():
        number = _number(name, value)
        if number is not None and not 0 < number < math.inf:
            raise ValueError(f"{name}={value!r}; expected a positive number")


def nonnegative_number(**values) -> None:
    """Each value must be a finite number >= 0."""
    for name, value in values.items():
        number = _number(name, value)
        if number is not None and not 0 <= number < math.inf:
            raise ValueError(f"{name}={value!r}; expected a finite number >= 0")


def layer_sizes(name: str, sizes, at_least: int = 2, what: str = "layer sizes") -> tuple[int, ...]:
    """A list of positive integers (layer widths), at least ``at_least`` of them; returned as a tuple."""
    listed = not isinstance(sizes, str | bytes) and hasattr(sizes, "__iter__")
    sizes = list(sizes) if listed else sizes
    if not listed or len(sizes) < at_least or any(not is_integer(n) or n < 1 for n in sizes):
        raise ValueError(f"{name}={sizes!r}; expected a list of at least {at_least} positive integers "
                         f"({what})")
    return tuple(int(n) for n in sizes)


def even_int(**values) -> None:
    """Each value must be an even integer >= 2 (a sinusoidal embedding's width)."""
    for name, value in values.items():
        if not is_integer(value) or value < 2 or value % 2:
            raise ValueError(f"{name}={value!r}; expected an even integer >= 2")


def optional_positive(**values) -> None:
    """Each value must be ``None`` or a finite number > 0."""
    positive_number(**{name: value for name, value in values.items() if value is not None})


def fraction(**values) -> None:
    """Each value must be a number in [0, 1]."""
    for name, value in values.items():
        number = _number(name, value)
        if number is not None and not 0 <= number <= 1:
            raise ValueError(f"{name}={value!r}; expected a number in [0, 1]")


def choice(name: str, value, options: Sequence) -> None:
    """``value`` must be one of ``options``."""
    if not any(value is option or (isinstance(value, str) and value == option) for option in options):
        raise ValueError(f"{name}={value!r}; expected one of {list(options)}")


def key(name: str, value) -> None:
    """``value`` must be one JAX random key: a typed key (``jax.random.key``, shape ``()``) or a legacy
    raw key (``jax.random.PRNGKey``, uint32 ``(2,)``).  A seed gets a ``TypeError`` saying how to make
    a key: a silent conversion would hide that the same seed, reused, gives the same numbers."""
    if isinstance(value, int | float | np.number) and not isinstance(value, bool):
        raise TypeError(f"{name}={value!r} is a number, not a random key; make one from an integer seed, "
                        f"e.g. jax.random.key(0), and split it for each use (jax.random.split)")
    dtype, shape = getattr(value, "dtype", None), getattr(value, "shape", None)
    if dtype is None or shape is None:
        raise TypeError(f"{name}={value!r}; expected a JAX random key, e.g. jax.random.key(0)")
    if jax.dtypes.issubdtype(dtype, jax.dtypes.prng_key):
        if shape != ():
            raise ValueError(f"{name} is an array of keys with shape {shape}; expected one key (shape ())")
    elif dtype != jnp.uint32 or shape != (2,):
        raise TypeError(f"{name} has dtype {dtype} and shape {shape}; expected a JAX random key, "
                        f"e.g. jax.random.key(0)")


def array(name: str, x, shape: Sequence[int | None] | None = None, *, ndim: int | None = None,
          min_ndim: int | None = None, kind: str | None = None):
    """``x`` must be an array (lists are converted) of ``shape`` (``None`` entries match any size),
    ``ndim`` or at least ``min_ndim`` axes, and dtype ``kind``: ``"integer"``, ``"float"`` or
    ``"number"``.  Returns ``x`` as an array (a JAX array or tracer is returned unchanged)."""
    if isinstance(x, str | bytes) or x is None:
        raise ValueError(f"{name}={x!r}; expected an array")
    if not hasattr(x, "shape") or not hasattr(x, "dtype"):
        try:
            x = np.asarray(x)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name}: cannot be read as an array ({error})") from None
    if shape is not None:
        shape = tuple(shape)
        matches = len(x.shape) == len(shape) and all(
            s is None or s == d for s, d in zip(shape, x.shape, strict=True))
        if not matches:
            sizes = ["n" if s is None else str(s) for s in shape]
            wanted = "(" + ", ".join(sizes) + ("," if len(sizes) == 1 else "") + ")"
            raise ValueError(f"{name} has shape {tuple(x.shape)}; expected {wanted}")
    if ndim is not None and len(x.shape) != ndim:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected {ndim} axes")
    if min_ndim is not None and len(x.shape) < min_ndim:
        raise ValueError(f"{name} has shape {tuple(x.shape)}; expected at least {min_ndim} axes")
    if kind is not None:
        base = {"integer": np.integer, "float": np.floating, "number": np.number}[kind]
        if not np.issubdtype(x.dtype, base) or (kind == "number" and x.dtype == np.bool_):
            raise ValueError(f"{name} has dtype {x.dtype}; expected {kind} values")
    return x


def same_shape(**arrays) -> None:
    """All arrays must have the same shape (no broadcasting)."""
    shapes = {name: tuple(np.shape(a)) for name, a in arrays.items()}
    if len(set(shapes.values())) > 1:
        raise ValueError(" and ".join(f"{n} {s}" for n, s in shapes.items()) + "; expected the same shape")


def values_in(name: str, x, low: float, high: float, what: str | None = None):
    """Every value of ``x`` must be finite and in [low, high]; returns ``x`` (use it: under ``jit``
    the check travels with the returned array).  ``what`` describes the expected values in the
    message (e.g. "pixels in [0, 1]")."""
    values = concrete(x)
    if values is None:
        expected = what or f"finite values in [{low:g}, {high:g}]"
        inside = (x >= low) & (x <= high) if math.isfinite(low) or math.isfinite(high) else jnp.isfinite(x)
        message = f"{name} has NaN, infinite or out-of-range values; expected {expected}"
        return _at_run_time(x, ~inside, message)
    if values.size == 0:
        return x
    lo, hi = float(values.min()), float(values.max())  # NaN propagates through min and max
    if not (math.isfinite(lo) and math.isfinite(hi)):
        bad = int(np.sum(~np.isfinite(values)))
        raise ValueError(f"{name} has {bad} NaN or infinite values; expected {what or 'finite values'}")
    if lo < low or hi > high:
        expected = what or f"values in [{low:g}, {high:g}]"
        raise ValueError(f"{name} has values in [{lo:g}, {hi:g}]; expected {expected}")
    return x


def finite(name: str, x):
    """Every value of ``x`` must be finite (no NaN or infinity); returns ``x``."""
    return values_in(name, x, -math.inf, math.inf)


def unit_interval(name: str, x, what: str = "values in [0, 1]"):
    """Every value of ``x`` in [0, 1] (pixels before a Bernoulli likelihood, probabilities); returns ``x``."""
    return values_in(name, x, 0.0, 1.0, what)


def integers_in(name: str, x, low: int, high: int):
    """``x`` must hold integers (dtype) in [low, high]; returns ``x``.  JAX clamps or wraps an index
    out of range without an error, so every index is checked here, also under ``jit``."""
    x = array(name, x, kind="integer")
    values = concrete(x)
    if values is None:
        return _at_run_time(x, (x < low) | (x > high), f"{name} has values outside [{low}, {high}]; "
                                                        f"expected integers in [{low}, {high}]")
    if values.size and (values.min() < low or values.max() > high):
        raise ValueError(f"{name} has values in [{values.min()}, {values.max()}]; "
                         f"expected integers in [{low}, {high}]")
    return x


def labels(name: str, y, n_classes: int):
    """Class labels: integers in 0..n_classes-1 (labels 1..10 for ten classes are refused); returns ``y``."""
    return integers_in(name, y, 0, n_classes - 1)


def time_index(name: str, t, T: int):
    """Diffusion time steps: integers in 1..T (JAX would clamp T + 1 to T silently); returns ``t``."""
    return integers_in(name, t, 1, T)


def spins(name: str, x):
    """``x`` must hold Ising spins: every value -1 or +1; returns ``x``."""
    values = concrete(x)
    if values is None:
        return _at_run_time(x, jnp.abs(x) != 1, f"{name} has values other than -1 and +1; expected spins "
                                                 f"-1 or +1 (binary 0/1 units convert with 2 x - 1)")
    if values.size and not np.all(np.abs(values) == 1):
        found = np.unique(values)
        raise ValueError(f"{name} has values {found[:5].tolist()}{' ...' if found.size > 5 else ''}; "
                         f"expected spins -1 or +1 (binary 0/1 units convert with 2 x - 1)")
    return x


def callable_(name: str, value) -> None:
    """``value`` must be callable (a function or an NNX module)."""
    if not callable(value):
        raise TypeError(f"{name}={value!r}; expected a function or module")


def optimizer(name: str, value) -> None:
    """``value`` must be an Optax ``GradientTransformation`` (an object with ``init`` and ``update``)."""
    if not (callable(getattr(value, "init", None)) and callable(getattr(value, "update", None))):
        raise TypeError(f"{name}={value!r}; expected an Optax GradientTransformation, e.g. optax.adam(1e-3)")


def lattice_size(L, even: bool = False) -> None:
    """``L`` must be an integer >= 2 (and even, for the checkerboard update)."""
    if not is_integer(L) or L < 2:
        raise ValueError(f"L={L!r}; expected an integer lattice size >= 2")
    if even and L % 2:
        raise ValueError(f"L={L}; the checkerboard update needs an even lattice size")


def temperatures_array(temperatures) -> np.ndarray:
    """Positive finite temperatures as a 1-D float64 array (a scalar becomes one value)."""
    try:
        temps = np.atleast_1d(np.asarray(temperatures, dtype=np.float64))
    except (TypeError, ValueError):
        raise ValueError(f"temperatures={temperatures!r}; expected positive finite numbers") from None
    if temps.ndim != 1 or temps.size == 0 or not np.all(np.isfinite(temps)) or np.any(temps <= 0):
        raise ValueError(f"temperatures={temperatures!r}; expected positive finite values")
    return temps
