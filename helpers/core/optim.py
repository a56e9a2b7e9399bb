r"""The lecture's optimisers, written from their update equations as Optax transformations.

Each function returns an ``optax.GradientTransformation`` whose ``update`` maps the gradient
:math:`g_t = \nabla_\theta C(\theta_t)` to the step :math:`\theta_{t+1} - \theta_t`, so they plug
into any Optax training loop (``helpers.core.train``).  Their defaults equal Optax's, and
``tests/test_optim.py`` checks each one against ``optax.sgd``, ``optax.adagrad``, ``optax.rmsprop``
and ``optax.adam``.
``learning_rate`` is a number or a schedule, a function of the step count t = 0, 1, ...
"""

from __future__ import annotations

from collections.abc import Callable
from typing import NamedTuple

import jax
import jax.numpy as jnp
import optax
from jaxtyping import Float

from helpers.core import train, validate
from helpers.core.validate import AnyArray, shaped

LearningRate = float | Callable[[jax.Array], jax.Array]


class OptimState(NamedTuple):
    count: jax.Array  # the step t
    first: optax.Updates  # velocity or first moment (zeros when unused)
    second: optax.Updates  # accumulated or averaged squared gradients (zeros when unused)


def _check_rate(learning_rate: LearningRate, eps: float | None = None) -> None:
    if not callable(learning_rate):
        try:
            validate.positive_number(learning_rate=learning_rate)
        except ValueError:
            raise ValueError(f"learning_rate={learning_rate!r}; expected a positive number or a schedule "
                             f"(a function of the step count)") from None
    validate.optional_positive(eps=eps)


def _check_decay(name: str, value: float) -> None:
    validate.fraction(**{name: value})
    if value == 1:
        raise ValueError(f"{name}={value!r}; expected a value in [0, 1)")


def _rate(learning_rate: LearningRate, count: jax.Array) -> jax.Array:
    return learning_rate(count) if callable(learning_rate) else jnp.asarray(learning_rate)


def _transformation(update_rule, initial_second: float = 0.0) -> optax.GradientTransformation:
    """Wrap ``update_rule(g, first, second, t) -> (step, first, second)``, applied per leaf."""

    def init(params):
        zeros = jax.tree.map(jnp.zeros_like, params)
        second = jax.tree.map(lambda p: jnp.full_like(p, initial_second), params)
        return OptimState(jnp.zeros([], jnp.int32), zeros, second)

    def update(grads, state, params=None):
        del params
        out = jax.tree.map(
            lambda g, m, v: update_rule(g, m, v, state.count), grads, state.first, state.second
        )
        steps, first, second = (_pick(out, i) for i in range(3))
        return steps, OptimState(state.count + 1, first, second)

    return optax.GradientTransformation(init, update)


def _pick(tree_of_triples, i: int):
    return jax.tree.map(lambda o: o[i], tree_of_triples, is_leaf=lambda x: isinstance(x, tuple))


def gradient_descent(learning_rate: LearningRate) -> optax.GradientTransformation:
    r"""Plain (or, on mini-batches, stochastic) gradient descent.

    .. math:: \theta_{t+1} = \theta_t - \eta_t g_t.

    With a schedule :math:`\eta_t` this is the lecture's SGD with a decaying learning rate.
    """
    _check_rate(learning_rate)
    return _transformation(lambda g, m, v, t: (-_rate(learning_rate, t) * g, m, v))


def momentum(learning_rate: LearningRate, beta: float = 0.9) -> optax.GradientTransformation:
    r"""Gradient descent with momentum (heavy ball), as ``optax.sgd(momentum=beta)``.

    .. math:: \mathbf{v}_t = \beta \mathbf{v}_{t-1} + g_t, \qquad
              \theta_{t+1} = \theta_t - \eta_t \mathbf{v}_t.
    """
    _check_rate(learning_rate)
    _check_decay("beta", beta)

    def rule(g, v, s, t):
        v = beta * v + g
        return -_rate(learning_rate, t) * v, v, s

    return _transformation(rule)


def adagrad(
    learning_rate: LearningRate, initial_accumulator: float = 0.1, eps: float = 1e-7
) -> optax.GradientTransformation:
    r"""AdaGrad: each parameter's step shrinks with its accumulated squared gradients.

    .. math:: G_t = G_{t-1} + g_t^2, \quad G_0 = \text{initial\_accumulator}, \qquad
              \theta_{t+1} = \theta_t - \eta_t \frac{g_t}{\sqrt{G_t + \epsilon}}.
    """
    _check_rate(learning_rate, eps)
    validate.nonnegative_number(initial_accumulator=initial_accumulator)

    def rule(g, m, G, t):
        G = G + g**2
        return -_rate(learning_rate, t) * (jax.lax.rsqrt(G + eps) * g), m, G

    return _transformation(rule, initial_second=initial_accumulator)


def rmsprop(
    learning_rate: LearningRate, decay: float = 0.9, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""RMSprop: AdaGrad with an exponentially decaying average instead of a sum.

    .. math:: s_t = \rho s_{t-1} + (1 - \rho) g_t^2, \qquad
              \theta_{t+1} = \theta_t - \eta_t \frac{g_t}{\sqrt{s_t + \epsilon}}.
    """
    _check_rate(learning_rate, eps)
    _check_decay("decay", decay)

    def rule(g, m, s, t):
        s = (1.0 - decay) * g**2 + decay * s  # Optax's order of operations, to match it bit for bit
        return -_rate(learning_rate, t) * (jax.lax.rsqrt(s + eps) * g), m, s

    return _transformation(rule)


def adam(
    learning_rate: LearningRate, b1: float = 0.9, b2: float = 0.999, eps: float = 1e-8
) -> optax.GradientTransformation:
    r"""Adam: momentum on the gradient and RMSprop scaling, both bias-corrected.

    .. math::
        m_t &= \beta_1 m_{t-1} + (1-\beta_1) g_t, \qquad v_t = \beta_2 v_{t-1} + (1-\beta_2) g_t^2, \\
        \hat m_t &= \frac{m_t}{1-\beta_1^{t}}, \qquad \hat v_t = \frac{v_t}{1-\beta_2^{t}}, \qquad
        \theta_{t+1} = \theta_t - \eta_t \frac{\hat m_t}{\sqrt{\hat v_t} + \epsilon},

    with t counted from 1 in the bias corrections.
    """
    _check_rate(learning_rate, eps)
    _check_decay("b1", b1)
    _check_decay("b2", b2)

    def rule(g, m, v, t):
        m = b1 * m + (1.0 - b1) * g
        v = b2 * v + (1.0 - b2) * g**2
        k = t + 1  # an integer power, as Optax computes it
        m_hat = m / (1.0 - b1**k).astype(g.dtype)
        v_hat = v / (1.0 - b2**k).astype(g.dtype)
        return -_rate(learning_rate, t) * m_hat / (jnp.sqrt(v_hat) + eps), m, v

    return _transformation(rule)


def inverse_time_decay(initial: float, decay_steps: float) -> Callable[[jax.Array], jax.Array]:
    r"""Learning-rate schedule :math:`\eta_t = \eta_0 / (1 + t / \tau)`."""
    validate.positive_number(initial=initial, decay_steps=decay_steps)
    return lambda t: initial / (1.0 + t / decay_steps)


@shaped
def trajectory(
    optimizer,  # checked by validate.optimizer, whose message says what to pass
    loss,
    theta0: Float[AnyArray, "*shape"],
    n_steps,
) -> jax.Array:
    r"""The path :math:`\theta_0, \theta_1, \dots, \theta_n` of ``n_steps`` full-gradient steps on
    ``loss(theta)``, ``(n_steps + 1, *theta0.shape)``: a full-batch run of :func:`helpers.core.train.fit`,
    so the whole path is one compiled program."""
    validate.optimizer("optimizer", optimizer)
    validate.callable_("loss", loss)
    validate.positive_int(n_steps=n_steps)
    theta0 = jnp.asarray(validate.finite("theta0", theta0))  # a NaN start gives a NaN path
    step = train.gradient_step(lambda theta, batch, key: (loss(theta), {"theta": theta}), optimizer)
    carry = train.init(theta0, optimizer)
    (theta, _), history = train.fit(step, carry, key=jax.random.key(0), epochs=n_steps)
    return jnp.concatenate([history["theta"], theta[None]])
