"""Bad input for helpers.networks.attention and helpers.physics.ising_chain; the cases run in
tests/test_bad_input.py."""

from bad_input_common import *  # noqa: F403

from helpers.networks import attention
from helpers.physics import ising_chain

Q = jnp.ones((5, 8))

CASES = [
    # helpers.networks.attention
    (
        "attention",
        "queries and keys of different head widths",
        lambda: attention.scaled_dot_product_attention(Q, jnp.ones((5, 4)), jnp.ones((5, 3))),
        TypeError,
        "parameter 'k'",
    ),
    (
        "attention",
        "a mask of the wrong shape",
        lambda: attention.scaled_dot_product_attention(Q, Q, Q, jnp.ones((5, 6), bool)),
        TypeError,
        "parameter 'mask'",
    ),
    (
        "attention",
        "a mask of numbers, not booleans",
        lambda: attention.scaled_dot_product_attention(Q, Q, Q, jnp.ones((5, 5))),
        TypeError,
        "parameter 'mask'",
    ),
    (
        "attention",
        "sequence of length 0",
        lambda: attention.scaled_dot_product_attention(jnp.ones((0, 8)), Q, Q),
        ValueError,
        r"q has shape \(0, 8\)",
    ),
    (
        "attention",
        "keys and values of different lengths in linear attention",
        lambda: attention.linear_attention(Q, Q, jnp.ones((4, 8))),
        TypeError,
        "parameter 'v'",
    ),
    (
        "attention",
        "heads that do not divide the width",
        lambda: attention.MultiHeadAttention(10, 4, rngs=nnx.Rngs(0)),
        ValueError,
        "heads=4 does not divide width=10",
    ),
    (
        "attention",
        "tokens of the wrong width",
        lambda: attention.MultiHeadAttention(16, 4, rngs=nnx.Rngs(0))(Q),
        ValueError,
        "x has 8 features per token; expected width=16",
    ),
    (
        "attention",
        "a mask for linear attention",
        lambda: attention.MultiHeadAttention(8, 2, kind="linear", rngs=nnx.Rngs(0))(
            Q, jnp.ones((5, 5), bool)
        ),
        ValueError,
        "mask",
    ),
    (
        "attention",
        "an unknown positional code",
        lambda: attention.Transformer(2, 8, 2, 1, 1, positions="rope", rngs=nnx.Rngs(0)),
        ValueError,
        "positions='rope'",
    ),
    (
        "attention",
        "a sequence longer than the learned positions",
        lambda: attention.Transformer(2, 8, 2, 1, 1, positions="learned", max_len=4, rngs=nnx.Rngs(0))(
            jnp.ones((1, 5, 2))
        ),
        ValueError,
        "x has 5 tokens",
    ),
    (
        "attention",
        "an empty sequence for the transformer",
        lambda: attention.Transformer(2, 8, 2, 1, 1, rngs=nnx.Rngs(0))(jnp.ones((1, 0, 2))),
        ValueError,
        r"x has shape \(1, 0, 2\)",
    ),
    ("attention", "a causal mask of size 0", lambda: attention.causal_mask(0), ValueError, "n=0"),
    ("attention", "a flop count for zero tokens", lambda: attention.block_flops(0, 8), ValueError, "n=0"),
    # helpers.physics.ising_chain
    (
        "ising_chain",
        "negative temperature",
        lambda: ising_chain.transfer_matrix(-1.0),
        ValueError,
        "temperature=-1.0",
    ),
    (
        "ising_chain",
        "a zero temperature among others",
        lambda: ising_chain.entropy_rate([1.0, 0.0]),
        ValueError,
        "temperatures=",
    ),
    ("ising_chain", "a chain of no spins", lambda: ising_chain.nll_per_spin(1.0, 0), ValueError, "n_spins=0"),
    ("ising_chain", "seed as key", lambda: ising_chain.sample_chains(0, [1.0], 4), TypeError, "key=0"),
    (
        "ising_chain",
        "no spins to sample",
        lambda: ising_chain.sample_chains(KEY, [1.0], 0),
        ValueError,
        "n_spins=0",
    ),
    (
        "ising_chain",
        "a lattice too large for the row transfer matrix",
        lambda: ising_chain.lattice_log_partition(0.3, 12),
        ValueError,
        "L=12",
    ),
    (
        "ising_chain",
        "NaN coupling",
        lambda: ising_chain.bond_sum_moments([np.nan], 4),
        ValueError,
        "couplings=",
    ),
    (
        "ising_chain",
        "a field that is not a number",
        lambda: ising_chain.markov_chain(1.0, h="a"),
        ValueError,
        "h='a'",
    ),
]
