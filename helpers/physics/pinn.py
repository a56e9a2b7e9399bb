r"""Physics-informed neural networks: a network :math:`\hat u_\Theta(\mathbf{x})` trained so that the
residual of a differential equation vanishes at collocation points (Lagaris, Likas and Fotiadis 1998;
Raissi, Perdikaris and Karniadakis 2019).

The unknown is a *field* ``u``: a function of one point ``x (d,)`` returning a scalar, so its
derivatives come from ``jax.grad``, ``jax.jacfwd`` and ``jax.hessian`` and a batch of points from
``jax.vmap``.  :func:`field` makes one from an NNX network ``(n, d) -> (n, 1)``, optionally through a
trial function that satisfies the boundary conditions by construction (a *hard* condition); a
*soft* condition is a penalty in :func:`loss` instead,

.. math:: C(\Theta) = \frac{1}{N}\sum_{i=1}^{N} r(\mathbf{x}_i)^2
          + \lambda\,\frac{1}{M}\sum_{j=1}^{M}\bigl(\hat u(\mathbf{y}_j) - g_j\bigr)^2 .
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
from flax import nnx
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped

Field = Callable[[jax.Array], jax.Array]


class Collocation(NamedTuple):
    """The training points of a PINN: ``interior (n, d)`` where the residual must vanish, and
    optionally ``boundary (m, d)`` with the values ``values (m,)`` a soft condition imposes there."""

    interior: Float[Array, "n d"]
    boundary: Float[Array, "m d"] | None = None
    values: Float[Array, " m"] | None = None


def _box(lower, upper):
    lower, upper = jnp.atleast_1d(jnp.asarray(lower, float)), jnp.atleast_1d(jnp.asarray(upper, float))
    if lower.ndim != 1 or lower.shape != upper.shape:
        raise ValueError(f"lower {lower.shape} and upper {upper.shape}; expected two lists of d numbers")
    length = upper - lower
    if not bool(jnp.all(jnp.isfinite(length) & (length > 0))):
        raise ValueError(f"the domain [lower, upper] = [{lower.tolist()}, {upper.tolist()}] has side lengths "
                         f"{length.tolist()}; expected every length upper - lower to be positive")
    return lower, upper


def sample(key: jax.Array, lower, upper, n: int) -> jax.Array:
    r"""``n`` collocation points drawn uniformly in the box :math:`\prod_k [\mathrm{lower}_k,
    \mathrm{upper}_k]`, shape ``(n, d)``."""
    validate.key("key", key)
    validate.positive_int(n=n)
    lower, upper = _box(lower, upper)
    return lower + (upper - lower) * jax.random.uniform(key, (n, lower.size))


def grid(lower, upper, points: int | tuple[int, ...]) -> jax.Array:
    """A regular grid over the box, ends included, ``points`` per axis (one number or one per axis);
    shape ``(prod(points), d)``, the first axis varying slowest."""
    lower, upper = _box(lower, upper)
    points = (points,) * lower.size if validate.is_integer(points) else tuple(points)
    validate.positive_int(**{f"points[{k}]": p for k, p in enumerate(points)})
    if len(points) != lower.size:
        raise ValueError(f"points={points!r}; expected one count per axis ({lower.size})")
    axes = [jnp.linspace(a, b, p) for a, b, p in zip(lower, upper, points, strict=True)]
    return jnp.stack([m.ravel() for m in jnp.meshgrid(*axes, indexing="ij")], axis=-1)


def field(model, trial: Callable | None = None) -> Field:
    r"""The unknown :math:`u(\mathbf{x})` as a function of one point ``x (d,)`` -> scalar.

    ``model`` is an NNX network mapping ``(n, d)`` to ``(n, 1)`` (one unknown), giving
    :math:`N(\mathbf{x})`; with a ``trial(N, x)`` (e.g. from :func:`trial_function`) the field is
    that trial function of the network, else :math:`N` itself."""
    if not isinstance(model, nnx.Module) and not callable(model):
        raise ValueError(f"model={model!r}; expected an NNX network (n, d) -> (n, 1)")
    if trial is not None:
        validate.callable_("trial", trial)

    def network(x):
        out = model(x[None, :])
        if out.shape != (1, 1):
            raise ValueError(f"model maps (1, {x.shape[0]}) points to shape {out.shape}; expected (1, 1), "
                             "one value of the unknown per point")
        return out[0, 0]

    return network if trial is None else (lambda x: trial(network, x))


def trial_function(particular: Callable, distance: Callable) -> Callable:
    r"""A hard boundary condition (Lagaris et al. 1998): the trial solution

    .. math:: \hat u(\mathbf{x}) = A(\mathbf{x}) + D(\mathbf{x})\,N(\mathbf{x}),

    where ``particular`` :math:`A` satisfies the boundary (or initial) conditions and ``distance``
    :math:`D` vanishes where they are imposed, so :math:`\hat u` satisfies them exactly for every
    network :math:`N`.  Both map one point ``x (d,)`` to a scalar; returns ``trial(N, x)``."""
    validate.callable_("particular", particular)
    validate.callable_("distance", distance)
    return lambda network, x: particular(x) + distance(x) * network(x)


def _points(name: str, points, d: int | None = None):
    points = validate.array(name, points, ndim=2, kind="float")
    if d is not None and points.shape[1] != d:
        raise ValueError(f"{name} has shape {tuple(points.shape)}; expected (n, {d})")
    return validate.finite(name, jnp.asarray(points))


def _field(u):
    validate.callable_("u", u)
    return u


@shaped
def ode_derivatives(u: Field, t: Real[AnyArray, "n 1"], order: int) -> Float[Array, "n order_plus_1"]:
    r"""The derivatives :math:`u, u', \dots, u^{(m)}` of a field of one variable at ``t (n, 1)``, all
    from one nest of ``m`` forward-mode derivatives (``jax.jvp``: each level differentiates the
    list of the previous one and appends the last entry of its tangent), under ``jax.vmap``;
    returns ``(n, m + 1)``."""
    u, t = _field(u), _points("t", t, 1)
    validate.nonnegative_int(order=order)
    derivatives = lambda s: u(s[None])[None]  # noqa: E731  ([u] as a function of a number)
    for _ in range(order):
        def derivatives(s, lower=derivatives):
            values, tangents = jax.jvp(lower, (s,), (jnp.ones_like(s),))
            return jnp.concatenate([values, tangents[-1:]])
    return jax.vmap(derivatives)(t[:, 0])


def ode_residual(u: Field, t, coefficients) -> jax.Array:
    r"""The residual of the linear ODE :math:`\sum_{k=0}^{m} a_k\,u^{(k)}(t) = 0` (decay:
    :math:`a = (\gamma, 1)`; damped oscillator :math:`u'' + 2\zeta\omega u' + \omega^2 u = 0`:
    :math:`a = (\omega^2, 2\zeta\omega, 1)`) at ``t (n, 1)``; returns ``(n,)``."""
    a = jnp.asarray(coefficients, float)
    if a.ndim != 1 or a.size < 2:
        raise ValueError(f"coefficients={coefficients!r}; expected a list (a_0, ..., a_m), m >= 1")
    return ode_derivatives(u, t, a.size - 1) @ a


def heat_residual(u: Field, points, kappa=1.0) -> jax.Array:
    r"""The residual of the diffusion (heat) equation at ``points (n, 2)`` of :math:`(x, t)`:

    .. math:: r(x, t) = \frac{\partial u}{\partial t} - \kappa\frac{\partial^2 u}{\partial x^2},

    :math:`u_t` from ``jax.grad`` and :math:`u_{xx}` from ``jax.hessian``, under ``jax.vmap``; ``(n,)``."""
    u, points = _field(u), _points("points", points, 2)
    validate.positive_number(kappa=kappa)

    def r(p):
        return jax.grad(u)(p)[1] - kappa * jax.hessian(u)(p)[0, 0]

    return jax.vmap(r)(points)


def black_scholes_residual(u: Field, points, rate, sigma) -> jax.Array:
    r"""The residual of the Black-Scholes equation at ``points (n, 2)`` of :math:`(S, \tau)`, with
    :math:`\tau = T - t` the time to maturity (so the terminal payoff is an initial condition):

    .. math:: r(S, \tau) = -\frac{\partial V}{\partial \tau} + \frac{1}{2}\sigma^2 S^2
              \frac{\partial^2 V}{\partial S^2} + rS\frac{\partial V}{\partial S} - rV,

    the gradient by ``jax.grad`` and the second derivative by ``jax.jacfwd`` of it; ``(n,)``."""
    u, points = _field(u), _points("points", points, 2)
    validate.positive_number(sigma=sigma)
    validate.number(rate=rate)

    def r(p):
        gradient = jax.grad(u)(p)
        v_ss = jax.jacfwd(jax.grad(u))(p)[0, 0]
        s = p[0]
        return -gradient[1] + 0.5 * sigma**2 * s**2 * v_ss + rate * s * gradient[0] - rate * u(p)

    return jax.vmap(r)(points)


def loss(model, batch: Collocation, key=None, *, residual: Callable, trial: Callable | None = None,
         weight=1.0, conditions: Callable | None = None):
    r"""The PINN loss :math:`C = \overline{r^2} + \lambda\,\overline{b^2}` for
    :func:`helpers.core.train.gradient_step`: ``residual(u, interior) -> (n,)`` (e.g.
    ``functools.partial(heat_residual, kappa=1.0)``) and the soft conditions' mismatch :math:`b`
    at ``batch.boundary`` with weight ``weight`` :math:`= \lambda`: by default
    :math:`b_j = \hat u(\mathbf{y}_j) - g_j` with ``batch.values`` :math:`g`; ``conditions(u,
    boundary) -> (m,)`` states others (a derivative, a flux).  No boundary points, no penalty.
    Returns the loss and its two terms as metrics ``"residual"`` and ``"boundary"``."""
    validate.callable_("residual", residual)
    validate.nonnegative_number(weight=weight)
    u = field(model, trial)
    interior = jnp.mean(residual(u, batch.interior) ** 2)
    if batch.boundary is None:
        return interior, {"residual": interior, "boundary": jnp.zeros_like(interior)}
    boundary = _points("boundary", batch.boundary, batch.interior.shape[1])
    if conditions is None:
        mismatch = jax.vmap(u)(boundary) - batch.values
    else:
        validate.callable_("conditions", conditions)
        mismatch = conditions(u, boundary)
    mismatch = jnp.mean(mismatch**2)
    return interior + weight * mismatch, {"residual": interior, "boundary": mismatch}


@shaped
def fourier_features(x: Real[AnyArray, " d"], frequencies: Real[AnyArray, "m d"]) -> Float[Array, " two_m"]:
    r"""Random Fourier features of one point (Tancik et al. 2020), the input of a network that has to
    represent high frequencies:

    .. math:: \gamma(\mathbf{x}) = [\cos(2\pi B\mathbf{x}), \sin(2\pi B\mathbf{x})],

    ``x (d,)``, ``frequencies`` :math:`B` ``(m, d)`` -> ``(2m,)``."""
    angles = 2.0 * jnp.pi * jnp.asarray(frequencies) @ x
    return jnp.concatenate([jnp.cos(angles), jnp.sin(angles)])


def evaluate(u: Field, points) -> jax.Array:
    """The field at ``points (n, d)``, ``(n,)``."""
    u, points = _field(u), _points("points", points)
    return jax.vmap(u)(points)


def cast(model, dtype=jnp.float64):
    """A copy of an NNX network with every parameter in ``dtype`` (float64 under ``jax.enable_x64``, for
    the accuracy a PINN reaches with L-BFGS)."""
    if not isinstance(model, nnx.Module):
        raise ValueError(f"model={model!r}; expected an NNX module")
    graphdef, state = nnx.split(model)
    state = jax.tree.map(lambda p: p.astype(dtype) if jnp.issubdtype(p.dtype, jnp.floating) else p, state)
    return nnx.merge(graphdef, state)
