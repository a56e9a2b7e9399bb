"""Bad input, as a careless student passes it: every public module refuses at least five kinds with an
error that names the argument (and so no silent wrong answer), before any compiled code runs or, for a
value rule inside compiled code, when the values arrive.

Each case is (module, what, call, exception type, a pattern the message must match); the pattern
always contains the argument's name.  The cases live in one file per group of subpackages
(``tests/bad_input_*.py``); module-specific behaviour is tested in each module's own file.
"""

import pkgutil

import bad_input_attention
import bad_input_core
import bad_input_diffusion_gan
import bad_input_flows
import bad_input_models
import bad_input_networks
import bad_input_pde
import bad_input_physics
import bad_input_vmc
import pytest
from bad_input_common import *  # noqa: F403

import helpers

CASES = [
    *bad_input_core.CASES,
    *bad_input_networks.CASES,
    *bad_input_physics.CASES,
    *bad_input_models.CASES,
    *bad_input_diffusion_gan.CASES,
    *bad_input_pde.CASES,
    *bad_input_attention.CASES,
    *bad_input_flows.CASES,
    *bad_input_vmc.CASES,
]


@pytest.mark.parametrize(("module", "what", "call", "error", "pattern"), CASES,
                         ids=[f"{c[0]}: {c[1]}" for c in CASES])
def test_bad_input_is_refused_with_a_clear_message(module, what, call, error, pattern):
    with pytest.raises(error, match=pattern):
        call()


def test_every_public_module_has_at_least_five_cases():
    counts = {}
    for module, *_ in CASES:
        counts[module] = counts.get(module, 0) + 1
    modules = {  # every module of every subpackage: a new module needs cases too
        info.name.rsplit(".", 1)[-1] for info in pkgutil.walk_packages(helpers.__path__, "helpers.")
        if not info.ispkg and not info.name.rsplit(".", 1)[-1].startswith("_")
        and not info.name.startswith("helpers.checks.")  # the exercises: one label, "checks"
    }
    assert len(modules) >= 28
    assert {m: counts.get(m, 0) for m in modules if counts.get(m, 0) < 5} == {}


# ---------------------------------------------------------------------------------------------
# Values that must be accepted: what a user reasonably passes
# ---------------------------------------------------------------------------------------------
def test_reasonable_values_are_accepted():
    legacy = jax.random.PRNGKey(0)  # raw uint32 keys still work
    assert toy.sample_toy(legacy, "two_moons", 4).shape == (4, 2)
    assert toy.sample_toy(KEY, "two_moons", np.int64(4)).shape == (4, 2)  # NumPy integers
    assert ebm.langevin(KEY, energy, X, np.float32(0.1), np.int32(2)).shape == X.shape
    assert ebm.langevin(KEY, energy, X, jnp.asarray(0.1), 2).shape == X.shape  # a 0-d array
    optim.adam(jnp.asarray(1e-3))
    assert ising.energy(jnp.ones((4, 4), jnp.float32)) == -32.0  # float +-1 spins are spins too


def test_checks_inside_jit_check_shapes_at_trace_and_values_at_run_time():
    # Inside a compiled function the shapes and dtypes are checked while tracing; the value rules
    # travel with the compiled program and stop it when the values arrive.
    @jax.jit
    def weights(t):
        return diffusion.denoising_weight(SCHEDULE, t)

    assert weights(jnp.array([2, 10])).shape == (2,)
    with pytest.raises(TypeError, match="parameter 't'"):  # float time steps: refused while tracing
        jax.jit(lambda t: diffusion.denoising_weight(SCHEDULE, t))(jnp.array([2.0]))
    for bad in ([1, 5], [2, 11]):  # the same compiled function, values outside 2..T
        with pytest.raises(Exception, match=r"\[value check\] t has values outside \[2, 10\]"):
            jax.block_until_ready(weights(jnp.array(bad)))
    assert weights(jnp.array([3, 4])).shape == (2,)  # and it still runs on good values


# ---------------------------------------------------------------------------------------------
# langevin's keep_every: the final state is after all n_steps, the path after steps j, 2j, ...
# ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("keep_every", [1, 2, 3, 5, 7])
def test_langevin_keep_every_runs_all_steps(keep_every):
    n_steps, x0 = 5, jnp.ones((3, 2))
    keys = jax.random.split(KEY, n_steps)  # langevin's own keys, one per step
    states, x = [], x0
    for k in keys:  # the chain step by step
        x = ebm.langevin_step(k, energy, x, 0.1)
        states.append(x)
    final, path = ebm.langevin(KEY, energy, x0, 0.1, n_steps, keep_every=keep_every)
    np.testing.assert_allclose(final, states[-1], rtol=1e-5, atol=1e-6)  # after all five steps
    assert path.shape == (n_steps // keep_every, 3, 2)
    for i in range(path.shape[0]):  # entry i: the state after (i + 1) * keep_every steps
        np.testing.assert_allclose(path[i], states[(i + 1) * keep_every - 1], rtol=1e-5, atol=1e-6)
