"""Bad input for helpers.generative.flows and helpers.physics.lattice_field; the cases run in
tests/test_bad_input.py."""

from bad_input_common import *  # noqa: F403

from helpers.generative import flows
from helpers.physics import lattice_field

MASK4 = flows.checkerboard_mask((4,))
COUPLING = flows.AffineCoupling(MASK4, [4], rngs=nnx.Rngs(0))
PHI = jnp.zeros((2, 4, 4))

CASES = [
    # helpers.generative.flows
    (
        "flows",
        "a 2-D mask",
        lambda: flows.AffineCoupling(jnp.ones((2, 2)), [4], rngs=nnx.Rngs(0)),
        ValueError,
        r"mask has shape \(2, 2\)",
    ),
    (
        "flows",
        "a mask that keeps everything",
        lambda: flows.AffineCoupling(np.ones(4), [4], rngs=nnx.Rngs(0)),
        ValueError,
        "mask=",
    ),
    (
        "flows",
        "input of the wrong width for the mask",
        lambda: COUPLING(jnp.ones((3, 5))),
        ValueError,
        r"x has shape \(3, 5\); expected \(n, 4\)",
    ),
    ("flows", "an odd dimension split in halves", lambda: flows.half_mask(5), ValueError, "d=5"),
    (
        "flows",
        "pixels above 1 before the logit",
        lambda: flows.Logit()(jnp.full((2, 3), 255.0)),
        ValueError,
        r"x has values in \[255, 255\]",
    ),
    (
        "flows",
        "negative pixels in a jitted logit",
        lambda: jax.jit(lambda x: flows.Logit()(x)[0])(-jnp.ones((2, 3))),
        Exception,
        r"\[value check\] x has",
    ),
    ("flows", "alpha of one half", lambda: flows.Logit(0.5), ValueError, "alpha=0.5"),
    (
        "flows",
        "grey levels in [0, 1] dequantised as 8-bit",
        lambda: flows.dequantize(KEY, -X),
        ValueError,
        "pixels has values",
    ),
    (
        "flows",
        "ActNorm initialised from one example",
        lambda: flows.ActNorm(4).initialize(X[:1]),
        ValueError,
        "x has 1 example",
    ),
    (
        "flows",
        "a permutation with a repeat",
        lambda: flows.Permutation(np.array([0, 0, 1])),
        ValueError,
        "permutation=",
    ),
    (
        "flows",
        "log-weights of a 2-D array",
        lambda: flows.effective_sample_size(X),
        TypeError,
        "parameter 'log_weights'",
    ),
    ("flows", "seed as key", lambda: flows.Flow([COUPLING]).sample(0, 4, 4), TypeError, "key=0"),
    # helpers.physics.lattice_field
    (
        "lattice_field",
        "a non-square lattice",
        lambda: lattice_field.phi4_action(jnp.ones((2, 4, 3)), 1.0, 1.0),
        TypeError,
        "parameter 'phi'",
    ),
    (
        "lattice_field",
        "a negative quartic coupling",
        lambda: lattice_field.phi4_action(PHI, 1.0, -1.0),
        ValueError,
        "lam=-1.0",
    ),
    (
        "lattice_field",
        "a lattice of size zero",
        lambda: lattice_field.free_field_two_point(0, 1.0),
        ValueError,
        "L=0",
    ),
    (
        "lattice_field",
        "a massless free field",
        lambda: lattice_field.free_field_two_point(4, 0.0),
        ValueError,
        "m2=0.0",
    ),
    (
        "lattice_field",
        "zero trajectories",
        lambda: lattice_field.hmc(KEY, PHI, 1.0, 1.0, 0),
        ValueError,
        "n_trajectories=0",
    ),
    (
        "lattice_field",
        "NaN in the initial field",
        lambda: lattice_field.hmc(KEY, PHI * jnp.nan, 1.0, 1.0, 2),
        ValueError,
        "phi has",
    ),
    ("lattice_field", "seed as key", lambda: lattice_field.hmc(3, PHI, 1.0, 1.0, 2), TypeError, "key=3"),
]
