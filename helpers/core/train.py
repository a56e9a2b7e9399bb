r"""One training loop for every model of the course: a step function, scanned over the batches of an epoch.

The step contract
    ``step(carry, batch, key) -> (carry, metrics)``.  ``carry`` is any pytree: a model (Flax NNX
    modules are pytrees) or a dict of parameters with its Optax state, plus whatever a method keeps
    from one step to the next (persistent Markov chains, a replay buffer, a second network and its
    optimiser).  ``batch`` has the structure of the training data with a leading batch axis, and
    ``metrics`` is a dict of arrays (usually scalars), e.g. ``{"loss": ...}``.

An epoch draws a permutation of the n examples, cuts it into :math:`\lfloor n/B \rfloor` batches
of B (the remainder is left out, so every step has the same shape) and runs the steps under one
``jax.lax.scan``, so an epoch is one compiled program.  For gradient training the step is

.. math:: \theta_{k+1} = \theta_k + \mathrm{update}\left(\nabla_\theta \tfrac{1}{B}
          \textstyle\sum_{i \in \mathcal{B}_k} C_i(\theta_k)\right),

built by :func:`gradient_step` from a loss ``loss_fn(model, batch, key)`` and an Optax optimiser.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from tqdm.auto import tqdm

from helpers.core import parallel, validate

try:
    from tqdm.notebook import tqdm as notebook_tqdm
except ImportError:  # no ipywidgets: tqdm.auto is the text bar
    notebook_tqdm = None

Step = Callable[[Any, Any, jax.Array], tuple[Any, dict[str, jax.Array]]]
LOOPS = ("scan", "steps")


def parameters(model):
    """What an optimiser updates: the ``nnx.Param`` state of an NNX module, else the pytree itself."""
    return nnx.state(model, nnx.Param) if isinstance(model, nnx.Module) else model


def init(model, optimizer: optax.GradientTransformation):
    """The carry ``(model, optimiser state)`` that :func:`gradient_step`'s step expects."""
    validate.optimizer("optimizer", optimizer)
    return model, optimizer.init(parameters(model))


def apply_gradients(optimizer: optax.GradientTransformation, model, opt_state, loss_fn: Callable):
    r"""One optimiser update :math:`\theta \leftarrow \theta + \mathrm{update}(\nabla_\theta C(\theta))`.

    ``loss_fn(model) -> C`` or ``(C, metrics)``; ``model`` is an NNX module (its ``nnx.Param``
    variables are trained, every other variable is left alone) or a pytree of parameters.  The loss
    value, gradient and loss function also reach the optimiser, so line-search optimisers such as
    ``optax.lbfgs()`` work as well as plain ones.  Returns ``(model, opt_state, metrics)`` with the
    loss *before* the update as ``metrics["loss"]``.
    """
    if isinstance(model, nnx.Module):
        graphdef, params, rest = nnx.split(model, nnx.Param, ...)

        def rebuild(p):
            return nnx.merge(graphdef, p, rest)
    else:
        params, rebuild = model, (lambda p: p)

    def value_and_metrics(p):
        out = loss_fn(rebuild(p))
        return out if isinstance(out, tuple) else (out, {})

    (loss, metrics), grads = jax.value_and_grad(value_and_metrics, has_aux=True)(params)
    updates, opt_state = optax.with_extra_args_support(optimizer).update(
        grads, opt_state, params, value=loss, grad=grads, value_fn=lambda p: value_and_metrics(p)[0]
    )
    return rebuild(optax.apply_updates(params, updates)), opt_state, {"loss": loss, **metrics}


def gradient_step(loss_fn: Callable, optimizer: optax.GradientTransformation, **loss_options) -> Step:
    """The common step: one update of ``optimizer`` on ``loss_fn(model, batch, key, **loss_options)``.

    Its carry is ``(model, opt_state)``, made by :func:`init`; the loss returns a scalar, or a scalar
    and a dict of further metrics.  Works for an NNX module and for a plain parameter pytree alike.
    """
    validate.callable_("loss_fn", loss_fn)
    validate.optimizer("optimizer", optimizer)

    def step(carry, batch, key):
        model, opt_state = carry
        model, opt_state, metrics = apply_gradients(
            optimizer, model, opt_state, lambda m: loss_fn(m, batch, key, **loss_options)
        )
        return (model, opt_state), metrics

    return step


def _epoch_batches(key, data, batch_size: int, n: int, mesh=None):
    """A fresh permutation of the data cut into ``(n // batch_size, batch_size, ...)`` batches,
    and one key per step; with a mesh, each batch is split over its devices (axis 1)."""
    n_batches = n // batch_size
    k_perm, k_steps = jax.random.split(key)
    order = jax.random.permutation(k_perm, n)[: n_batches * batch_size]
    batches = jax.tree.map(lambda a: a[order].reshape(n_batches, batch_size, *a.shape[1:]), data)
    return parallel.constrain(batches, mesh, axis=1), jax.random.split(k_steps, n_batches)


# The compiled programs take the step as a static argument, so fitting again with the same step
# function (a second epoch count, a benchmark's timed run) reuses them instead of compiling anew.
@partial(jax.jit, static_argnums=(1, 2, 3, 4))
def _scan_epoch(key, step, batch_size, n, mesh, carry, data):
    batches, keys = _epoch_batches(key, data, batch_size, n, mesh)
    return jax.lax.scan(lambda c, xs: step(c, *xs), carry, (batches, keys))


@partial(jax.jit, static_argnums=(1, 2, 3))
def _batches(key, batch_size, n, mesh, data):
    return _epoch_batches(key, data, batch_size, n, mesh)


@partial(jax.jit, static_argnums=1)
def _one_step(key, step, carry, batch):
    return step(carry, batch, key)


@partial(jax.jit, static_argnums=(1, 2))
def _full_batch(key, step, steps, carry, data):
    return jax.lax.scan(lambda c, k: step(c, data, k), carry, jax.random.split(key, steps))


def _plain(node) -> bool:
    """A list of Python numbers (or of such lists): one array written out, not a pytree of scalars."""
    return isinstance(node, list) and all(
        _plain(item) or (isinstance(item, int | float) and not isinstance(item, bool)) for item in node)


def _as_arrays(data):
    """``data`` with lists of numbers made arrays, every leaf a JAX array, and no NaN or infinity in
    it (it would train to a NaN loss without a word): each refused leaf is named."""
    def convert(path, leaf):
        name = "data" + jax.tree_util.keystr(path)
        try:
            leaf = jnp.asarray(leaf)
        except (TypeError, ValueError) as error:
            raise ValueError(f"{name} cannot be read as an array ({error})") from None
        return validate.finite(name, leaf) if jnp.issubdtype(leaf.dtype, jnp.inexact) else leaf

    return jax.tree_util.tree_map_with_path(convert, data, is_leaf=_plain)


def _check(data, epochs, batch_size, loop, evaluate) -> int | None:
    """The one home of fit's checks of the epochs, the batch size and the loop; returns the number of
    examples n (``None`` for full-batch training)."""
    validate.positive_int(epochs=epochs)
    validate.choice("loop", loop, LOOPS)
    if batch_size is None:
        if evaluate is not None:
            raise ValueError("evaluate needs a batch_size; a full-batch fit is one program")
        return None
    sizes = [a.shape[0] if a.ndim else None for a in jax.tree.leaves(data)]
    if not sizes:
        raise ValueError("data is empty; mini-batch training (batch_size given) needs arrays to batch")
    n = sizes[0]
    if n is None or any(s != n for s in sizes):
        raise ValueError(f"data arrays have first axes {sizes}; expected all equal")
    validate.positive_int(batch_size=batch_size)
    if batch_size > n:
        raise ValueError(f"batch_size={batch_size!r}; expected an integer in [1, {n}]")
    return int(n)


class _ProgressBar:
    """``tqdm.auto``'s bar over the epochs.  In a notebook the widget is shown through a display
    handle and, when training ends, replaced by the finished bar as text, so that a saved notebook
    shows the final state (a widget's saved text is its first frame)."""

    def __init__(self, total: int, disable: bool):
        self.handle = None
        if not disable and notebook_tqdm is not None and issubclass(tqdm, notebook_tqdm):
            from IPython.display import display

            self.bar = tqdm(total=total, desc="epochs", leave=True, display=False)
            self.handle = display(self.bar.container, display_id=True)
        else:
            self.bar = tqdm(total=total, desc="epochs", disable=disable, leave=False)

    def advance(self, loss: float | None) -> None:
        if loss is not None:
            self.bar.set_postfix(loss=f"{loss:.4f}", refresh=False)
        self.bar.update(1)

    def close(self) -> None:
        self.bar.close()
        if self.handle is not None:
            from IPython.display import Pretty

            self.handle.update(Pretty(str(self.bar)))


def fit(
    step: Step,
    carry,
    data=None,
    *,
    key: jax.Array,
    epochs: int,
    batch_size: int | None = None,
    evaluate: Callable[[Any], dict[str, Any]] | None = None,
    progress: bool = True,
    loop: str = "scan",
    mesh=None,
):
    """Train: run ``step`` over ``epochs`` epochs of ``data``; return ``(carry, history)``.

    ``data`` is an array or a pytree of arrays sharing their first axis (e.g. ``(images, labels)``);
    each batch handed to ``step`` has the same structure.  A list of numbers is one array; NaN or
    infinity in the data is refused, naming the array.  A value rule of the step (``validate.labels``
    on the batch's labels ...) that stops the compiled program raises ``ValueError`` "... (found
    inside train.fit, epoch k)".

    * Mini-batch training (``batch_size`` given): every epoch a fresh permutation, ``n // batch_size``
      steps, compiled as one ``lax.scan``.  ``evaluate(carry) -> dict``, if given, runs after each
      epoch and its numbers join the history.  ``loop="steps"`` compiles the step alone and calls it
      from Python instead: on XLA:CPU a convolution inside a loop body runs several times slower than
      the same step jitted on its own (``benchmarks/`` measures which is faster for a model).
    * Full-batch training (``batch_size=None``): every step sees all of ``data`` (which may be
      ``None``), an epoch is one step, and all ``epochs`` steps run as one ``lax.scan``: a whole
      optimisation (gradient descent on a grid, L-BFGS, an optimiser's path) is one program.

    ``history`` maps each metric to a NumPy array ``(epochs, ...)`` of its per-epoch mean, plus
    ``"step_loss"`` (every step's loss, when the step reports ``"loss"``) and ``evaluate``'s keys.
    The same key gives the same history.

    ``mesh`` (a :class:`jax.sharding.Mesh` with a ``"data"`` axis, e.g.
    :func:`helpers.core.parallel.default_mesh`)
    trains data-parallel: the carry is replicated on every device and each batch split over them
    (``batch_size`` must divide over the devices); full-batch data is split along its first axis.
    The history is the same as on one device up to the order of floating-point sums.
    """
    validate.callable_("step", step)
    validate.key("key", key)
    data = _as_arrays(data)
    n = _check(data, epochs, batch_size, loop, evaluate)
    parallel.check_mesh(mesh)
    carry = parallel.replicate(carry, mesh)
    if n is None:  # full batch: one program for the whole run
        data = parallel.shard(data, mesh, name="data") if data is not None else None
        with validate.run_time_errors("inside train.fit"):  # blocking: a stop surfaces here, not later
            carry, metrics = jax.block_until_ready(_full_batch(key, step, int(epochs), carry, data))
        history = {name: np.asarray(value) for name, value in metrics.items()}
        if "loss" in history:
            history["step_loss"] = history["loss"]
        return carry, history

    def run_epoch(c, k, d):
        if loop == "scan":
            return _scan_epoch(k, step, int(batch_size), n, mesh, c, d)
        batches, keys = _batches(k, int(batch_size), n, mesh, d)
        outs = []
        for i in range(keys.shape[0]):
            c, m = _one_step(keys[i], step, c, jax.tree.map(lambda b, i=i: b[i], batches))
            outs.append(m)
        return c, jax.tree.map(lambda *ms: jnp.stack(ms), *outs)

    parallel.check_divisible("batch_size", int(batch_size), mesh)
    data = parallel.replicate(data, mesh)
    per_epoch: list[dict] = []
    step_losses = []
    bar = _ProgressBar(int(epochs), disable=not progress)
    for epoch, epoch_key in enumerate(jax.random.split(key, epochs)):
        with validate.run_time_errors(f"inside train.fit, epoch {epoch + 1}"):
            carry, metrics = jax.block_until_ready(run_epoch(carry, epoch_key, data))
        row = {name: np.asarray(jnp.mean(value, axis=0)) for name, value in metrics.items()}
        if "loss" in metrics:
            step_losses.append(np.asarray(metrics["loss"]))
        if evaluate is not None:
            row.update({name: np.asarray(value) for name, value in evaluate(carry).items()})
        per_epoch.append(row)
        bar.advance(float(np.mean(row["loss"])) if "loss" in row else None)
    bar.close()
    history = {name: np.stack([row[name] for row in per_epoch]) for name in per_epoch[0]}
    if step_losses:
        history["step_loss"] = np.concatenate(step_losses)
    return carry, history
