"""Bad input for helpers.physics.vmc, nqs and spin_chains; the cases run in tests/test_bad_input.py."""

from bad_input_common import *  # noqa: F403

from helpers.physics import nqs, spin_chains, vmc


def log_gauss(alpha, x):
    return -alpha * x[:, 0] ** 2


def whole_batch(alpha, x):  # a wavefunction that returns one number per coordinate, not per sample
    return -alpha * x**2


X1 = jnp.zeros((4, 1))
S01 = jnp.zeros((4, 3))  # binary 0/1 units where +-1 spins belong
RBM3 = nqs.init_spin_rbm(KEY, 3, 1)

CASES = [
    # helpers.physics.vmc
    ("vmc", "a zero step size",
     lambda: vmc.metropolis_gaussian(KEY, log_gauss, 0.5, X1, 4, 0.0), ValueError, "step_size=0"),
    ("vmc", "a negative step size",
     lambda: vmc.metropolis_gaussian(KEY, log_gauss, 0.5, X1, 4, -1.0), ValueError, "step_size=-1"),
    ("vmc", "a wavefunction returning the wrong shape",
     lambda: vmc.metropolis_gaussian(KEY, whole_batch, 0.5, X1, 4, 1.0), ValueError,
     r"log_psi returned shape \(4, 1\)"),
    ("vmc", "zero steps", lambda: vmc.metropolis_gaussian(KEY, log_gauss, 0.5, X1, 0, 1.0), ValueError,
     "n_steps=0"),
    ("vmc", "a seed for a key", lambda: vmc.metropolis_gaussian(0, log_gauss, 0.5, X1, 4, 1.0),
     TypeError, "key=0"),
    ("vmc", "0/1 spins sampled",
     lambda: vmc.metropolis_flip(KEY, nqs.rbm_log_psi, RBM3, S01, 4), ValueError, "s0 has values"),
    ("vmc", "NaN positions", lambda: vmc.local_energy(log_gauss, lambda x: x[:, 0], 0.5,
                                                      jnp.full((2, 1), jnp.nan)), ValueError, "x has 2 NaN"),
    ("vmc", "a potential that is not a function",
     lambda: vmc.local_energy(log_gauss, 0.5, 0.5, X1), TypeError, "parameter 'potential'"),
    ("vmc", "a negative diagonal shift",
     lambda: vmc.sr_direction(jnp.ones((4, 2)), jnp.ones(4), -1.0), ValueError, "diag_shift=-1"),
    ("vmc", "local energies of another batch",
     lambda: vmc.energy_gradient(jnp.ones((4, 2)), jnp.ones(5)), TypeError, "parameter 'e_loc'"),
    ("vmc", "a series too short to block", lambda: vmc.blocking_errors(np.ones(10)), ValueError,
     "series has 10 values"),
    ("vmc", "a learning rate for an optimiser",
     lambda: vmc.vmc_step(log_gauss, log_gauss, log_gauss, 0.1), TypeError, "optimizer=0.1"),
    # helpers.physics.nqs
    ("nqs", "0/1 spins in the RBM amplitude", lambda: nqs.rbm_log_psi(RBM3, S01), ValueError,
     "s has values"),
    ("nqs", "an RBM for another number of spins", lambda: nqs.rbm_log_psi(RBM3, jnp.ones((2, 4))),
     ValueError, r"params has a \(3,\)"),
    ("nqs", "zero hidden-unit density", lambda: nqs.init_spin_rbm(KEY, 4, 0), ValueError, "alpha=0"),
    ("nqs", "zero particles", lambda: nqs.calogero_energy(0, 2.0), ValueError, "n=0"),
    ("nqs", "a negative interaction exponent",
     lambda: nqs.calogero_potential(jnp.ones((2, 3)), -1.0), ValueError, "beta=-1"),
    ("nqs", "a wavefunction that is not a function",
     lambda: nqs.tfim_local_energy(None, RBM3, jnp.ones((2, 3)), 1.0), TypeError, "log_psi=None"),
    ("nqs", "0/1 spins in the local energy",
     lambda: nqs.tfim_local_energy(nqs.rbm_log_psi, RBM3, S01, 1.0), ValueError, "s has values"),
    ("nqs", "infinite positions",
     lambda: nqs.boson_log_psi(nqs.init_boson_net(KEY), jnp.full((2, 3), jnp.inf), 2.0), ValueError,
     "x has 6 NaN or infinite"),
    # helpers.physics.spin_chains
    ("spin_chains", "a one-spin chain", lambda: spin_chains.tfim_hamiltonian(1, 1.0), ValueError, "n=1"),
    ("spin_chains", "too long a chain", lambda: spin_chains.ground_state(20, 1.0), ValueError, "n=20"),
    ("spin_chains", "an odd chain in the even closed form", lambda: spin_chains.pfeuty_energy(5, 1.0),
     ValueError, "n=5"),
    ("spin_chains", "zero coupling in mean field", lambda: spin_chains.mean_field_energy(4, 1.0, 0.0),
     ValueError, "J=0"),
    ("spin_chains", "a state of the wrong length",
     lambda: spin_chains.chain_observables(np.ones(8), 4), ValueError, r"psi has shape \(8,\)"),
    ("spin_chains", "too many visible spins",
     lambda: spin_chains.qbm_marginal(jnp.zeros(6), 3, 0.5, 4), ValueError, "n_visible=4"),
    ("spin_chains", "a visible state out of range",
     lambda: spin_chains.qbm_gradient(jnp.zeros(6), 3, 0.5, 2, 7), ValueError, "v=7"),
    ("spin_chains", "parameters of the wrong length",
     lambda: spin_chains.qbm_hamiltonian(jnp.zeros(5), 3, 0.5), ValueError, r"theta has shape \(5,\)"),
]
