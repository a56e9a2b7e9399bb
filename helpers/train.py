r"""Mini-batch training of a Flax NNX model with an Optax optimiser, one compiled program per epoch.

An epoch draws a permutation of the n training examples, cuts it into
:math:`\lfloor n / B \rfloor` batches of B (the remainder is left out, so every step has the
same shape), and runs the optimiser steps under ``jax.lax.scan``:

.. math:: \theta_{k+1} = \theta_k + \mathrm{update}\left(\nabla_\theta \tfrac{1}{B}
          \textstyle\sum_{i \in \mathcal{B}_k} C_i(\theta_k)\right).

The model is ``nnx.split`` into a static graph and its parameter state, the state is carried
through the scan, and ``nnx.update`` writes it back into the model at the end, so the caller's
model object holds the trained weights.
"""

from __future__ import annotations

from collections.abc import Callable

import jax
import jax.numpy as jnp
import optax
from flax import nnx
from tqdm.auto import tqdm

LossFn = Callable[[nnx.Module, tuple[jax.Array, ...], jax.Array], jax.Array]
"""``loss_fn(model, batch, key) -> scalar``: batch is a tuple of arrays (one batch of each)."""


def _optimizer_step(graphdef, rest, optimizer: optax.GradientTransformation, loss_fn: LossFn):
    """``step((params, opt_state), (batch, key)) -> ((params, opt_state), loss)``, for ``lax.scan``.

    The loss value, gradient and loss function are passed to the optimiser too, so line-search
    optimisers (``optax.lbfgs``) work as well as plain ones.
    """
    optimizer = optax.with_extra_args_support(optimizer)

    def step(carry, inputs):
        params, opt_state = carry
        batch, key = inputs

        def value_fn(p):
            return loss_fn(nnx.merge(graphdef, p, rest), batch, key)

        loss, grads = jax.value_and_grad(value_fn)(params)
        updates, opt_state = optimizer.update(
            grads, opt_state, params, value=loss, grad=grads, value_fn=value_fn
        )
        return (optax.apply_updates(params, updates), opt_state), loss

    return step


def make_epoch(model: nnx.Module, optimizer: optax.GradientTransformation, loss_fn: LossFn, batch_size: int):
    """Build ``epoch(params, opt_state, key, data) -> (params, opt_state, losses (n_batches,))``.

    ``params`` is ``nnx.state(model, nnx.Param)``; the returned function is jitted, so each epoch
    is one XLA program whatever the number of batches.
    """
    graphdef, _, rest = nnx.split(model, nnx.Param, ...)
    step = _optimizer_step(graphdef, rest, optimizer, loss_fn)

    @jax.jit
    def epoch(params, opt_state, key, data):
        n = data[0].shape[0]
        n_batches = n // batch_size
        k_perm, k_steps = jax.random.split(key)
        order = jax.random.permutation(k_perm, n)[: n_batches * batch_size]
        batches = tuple(a[order].reshape(n_batches, batch_size, *a.shape[1:]) for a in data)
        keys = jax.random.split(k_steps, n_batches)
        (params, opt_state), losses = jax.lax.scan(step, (params, opt_state), (batches, keys))
        return params, opt_state, losses

    return epoch


def fit(
    model: nnx.Module,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    data: tuple[jax.Array, ...],
    *,
    key: jax.Array,
    epochs: int,
    batch_size: int,
    evaluate: Callable[[nnx.Module], dict[str, float]] | None = None,
    progress: bool = True,
) -> dict[str, list[float]]:
    """Train ``model`` in place for ``epochs`` epochs; return the history.

    ``data`` is a tuple of arrays sharing their first axis (e.g. ``(images, labels)``);
    ``evaluate(model)``, if given, runs after every epoch and its numbers join the history.
    History: ``"loss"`` (mean training loss of each epoch), ``"step_loss"`` (every step), and
    one list per key that ``evaluate`` returns.  The same key gives the same run.
    """
    data = tuple(jnp.asarray(a) for a in data)
    n = data[0].shape[0]
    if any(a.shape[0] != n for a in data):
        raise ValueError(f"data arrays have first axes {[a.shape[0] for a in data]}; expected all equal")
    if not isinstance(batch_size, int) or not 1 <= batch_size <= n:
        raise ValueError(f"batch_size={batch_size!r}; expected an integer in [1, {n}]")
    if not isinstance(epochs, int) or epochs < 1:
        raise ValueError(f"epochs={epochs!r}; expected a positive integer")

    epoch = make_epoch(model, optimizer, loss_fn, batch_size)
    params = nnx.state(model, nnx.Param)
    opt_state = optimizer.init(params)
    history: dict[str, list[float]] = {"loss": [], "step_loss": []}
    bar = tqdm(jax.random.split(key, epochs), desc="epochs", disable=not progress, leave=False)
    for epoch_key in bar:
        params, opt_state, losses = epoch(params, opt_state, epoch_key, data)
        nnx.update(model, params)
        history["loss"].append(float(jnp.mean(losses)))
        history["step_loss"].extend(map(float, losses))
        if evaluate is not None:
            for name, value in evaluate(model).items():
                history.setdefault(name, []).append(float(value))
        bar.set_postfix(loss=f"{history['loss'][-1]:.4f}")
    return history


def fit_full_batch(
    model: nnx.Module,
    optimizer: optax.GradientTransformation,
    loss_fn: LossFn,
    data: tuple[jax.Array, ...],
    *,
    steps: int,
    key: jax.Array | None = None,
) -> jax.Array:
    """Train ``model`` in place with ``steps`` full-batch steps, all in one ``lax.scan``.

    For small problems (a function on a grid, a toy regression) where every step sees all the
    data.  Any Optax optimiser works, including line-search ones such as ``optax.lbfgs()``: each
    step passes the loss value, gradient and loss function along, as they need.  Returns the loss
    before each step, ``(steps,)``.
    """
    if not isinstance(steps, int) or steps < 1:
        raise ValueError(f"steps={steps!r}; expected a positive integer")
    data = tuple(jnp.asarray(a) for a in data)
    graphdef, params, rest = nnx.split(model, nnx.Param, ...)
    key = jax.random.key(0) if key is None else key
    step = _optimizer_step(graphdef, rest, optimizer, loss_fn)

    @jax.jit
    def run(params, key):
        carry = (params, optimizer.init(params))
        (params, _), losses = jax.lax.scan(
            lambda carry, k: step(carry, (data, k)), carry, jax.random.split(key, steps)
        )
        return params, losses

    params, losses = run(params, key)
    nnx.update(model, params)
    return losses
