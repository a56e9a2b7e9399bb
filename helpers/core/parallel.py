r"""Several devices through JAX's own SPMD machinery: one mesh axis, ``"data"``, over all devices.

Data parallelism, the only kind the course's models need: a batch of examples (or of Markov chains,
AIS runs, test images) is split along its leading axis over the devices, every device holds a full
copy of the parameters, and the compiler (``jax.jit`` with ``NamedSharding`` inputs) partitions each
program and inserts the all-reduce that a mean over the batch needs.  Nothing here names a device:
:func:`default_mesh` reads ``jax.devices()``, and with one device every helper runs its one-device
code path unchanged.  Random numbers do not depend on the sharding (JAX's partitionable threefry and
the counter-based bits of :mod:`helpers.core.rng` are functions of the global index), so the same key
gives the same numbers on 1 and on 4 devices, up to the order of floating-point sums.

On several hosts, call ``jax.distributed.initialize()`` first on every host; ``jax.devices()`` then
lists the devices of all hosts and the same code runs as one program over all of them.
"""

from __future__ import annotations

import jax
from jax.sharding import AxisType, Mesh, NamedSharding, PartitionSpec

from helpers.core import validate

AXIS = "data"


def default_mesh(divides: int | None = None) -> Mesh | None:
    """A mesh over every device, its one axis named ``"data"``; ``None`` when there is one device
    (the one-device code path: no sharding at all).

    With ``divides`` (a batch size, a number of chains), the mesh spans the most devices whose
    number divides it, so that a notebook's batch of 100 splits over 4 of 8 GPUs rather than failing.
    """
    n = jax.device_count()
    if divides is not None:
        validate.positive_int(divides=divides)
        n = max(k for k in range(1, n + 1) if divides % k == 0)
    if n == 1:
        return None
    return jax.make_mesh((n,), (AXIS,), axis_types=(AxisType.Auto,), devices=jax.devices()[:n])


def describe(mesh: Mesh | None) -> str:
    """One line saying what runs where, for a notebook's setup cell."""
    devices = jax.devices()
    kind = devices[0].platform.upper()
    if mesh is None:
        return f"1 {kind} device"
    return f"{mesh.size} {kind} devices: batches and Monte Carlo chains are split over them"


def check_mesh(mesh) -> None:
    """``mesh`` must be ``None`` or a :class:`jax.sharding.Mesh` with a ``"data"`` axis."""
    if mesh is not None and (not isinstance(mesh, Mesh) or AXIS not in mesh.axis_names):
        raise ValueError(f"mesh={mesh!r}; expected None or a jax.sharding.Mesh with a '{AXIS}' axis "
                         f"(parallel.default_mesh() builds one over all devices)")


def check_divisible(name: str, size: int, mesh: Mesh | None) -> None:
    """``size`` (of the axis to split) must be a multiple of the number of devices."""
    if mesh is not None and size % mesh.shape[AXIS]:
        raise ValueError(f"{name}={size} does not divide over the {mesh.shape[AXIS]} devices of the mesh; "
                         f"expected a multiple of {mesh.shape[AXIS]}")


def batch_spec(ndim: int, axis: int = 0) -> PartitionSpec:
    """The partition of an ``ndim``-axis array split along ``axis`` over ``"data"``."""
    validate.nonnegative_int(ndim=ndim, axis=axis)
    if axis >= ndim:  # a PartitionSpec longer than the array would split the wrong axis, or fail late
        raise ValueError(f"axis={axis}; expected an axis of the {ndim}-axis array, in [0, {ndim - 1}]")
    return PartitionSpec(*([None] * axis), AXIS, *([None] * (ndim - axis - 1)))


def shard(x, mesh: Mesh | None, axis: int = 0, name: str = "x"):
    """Place ``x`` (an array or a pytree of arrays) split along ``axis`` over the mesh's devices;
    ``x`` unchanged when ``mesh`` is None."""
    check_mesh(mesh)
    if mesh is None:
        return x
    for leaf in jax.tree.leaves(x):
        batch_spec(leaf.ndim, axis)
        check_divisible(f"{name}.shape[{axis}]", leaf.shape[axis], mesh)
    return jax.tree.map(lambda a: jax.device_put(a, NamedSharding(mesh, batch_spec(a.ndim, axis))), x)


def replicate(tree, mesh: Mesh | None):
    """A full copy of every array of ``tree`` on each device of the mesh (parameters, optimiser
    state); ``tree`` unchanged when ``mesh`` is None."""
    check_mesh(mesh)
    if mesh is None:
        return tree
    return jax.device_put(tree, NamedSharding(mesh, PartitionSpec()))


def constrain(x, mesh: Mesh | None, axis: int = 0):
    """Inside a compiled program: ask for ``x`` split along ``axis`` (a no-op without a mesh)."""
    if mesh is None:
        return x
    return jax.tree.map(
        lambda a: jax.lax.with_sharding_constraint(a, NamedSharding(mesh, batch_spec(a.ndim, axis))), x)
