"""helpers.physics.ising, ising_mc and ising_data against exact enumeration, Onsager's solution and bad
input."""

import math

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from helpers.core import cache
from helpers.physics import ising, ising_data, ising_mc


def chain_averages(e, m, burn_in):
    """Time averages per chain and their standard errors from the spread across chains."""
    out = {}
    for name, series in (("energy_per_spin", e), ("abs_magnetization", m)):
        per_chain = np.asarray(series[burn_in:]).mean(axis=0)
        out[name] = (per_chain.mean(), per_chain.std(ddof=1) / math.sqrt(per_chain.size))
    return out


def test_energy_and_magnetization_by_hand():
    up = UP4
    assert float(ising.energy(up)[0]) == -32.0  # 2N bonds, all satisfied
    checker = jnp.asarray((np.indices((4, 4)).sum(0) % 2) * 2 - 1, jnp.int8)
    assert float(ising.energy(checker)) == 32.0 and float(ising.magnetization(checker)) == 0.0
    stripe = jnp.asarray(np.repeat([[1], [-1]], [2, 2], axis=0) * np.ones((4, 4)), jnp.int8)
    assert float(ising.energy(stripe)) == -32.0 + 2 * 2 * 4  # two broken rows of 4 bonds


def test_enumeration_limits():
    states = ising.enumerate_states(3)
    assert states.shape == (512, 3, 3) and len({s.tobytes() for s in states}) == 512
    ex = ising.exact_observables(4, [1e4])
    assert abs(ex["log_z"][0] - 16 * math.log(2)) < 1e-2  # T -> infinity: Z -> 2^N
    ex = ising.exact_observables(4, [0.05])
    assert abs(ex["energy_per_spin"][0] + 2) < 1e-9 and abs(ex["abs_magnetization"][0] - 1) < 1e-9


def test_onsager_closed_forms():
    assert abs(ising.T_C - 2.269185314) < 1e-9
    assert abs(ising.onsager_energy_per_spin([ising.T_C])[0] + math.sqrt(2)) < 1e-6  # u(T_c) = -sqrt 2
    assert abs(ising.onsager_energy_per_spin([100.0])[0] + 2 / 100) < 1e-4  # high T: u ~ -2 beta
    np.testing.assert_allclose(ising.onsager_magnetization([0.5, 2.0, 2.3]), [1.0, 0.91132, 0.0], atol=1e-5)


@pytest.mark.parametrize("wolff", [False, True], ids=["metropolis", "metropolis+wolff"])
def test_sampler_matches_exact_enumeration_L4(wolff):
    temps = np.array([1.5, 2.27, 3.0])
    n_chains = 1000
    chain_t = np.repeat(temps, n_chains)
    spins = ising_mc.random_spins(jax.random.key(0), chain_t.size, 4)
    _, e, m = ising_mc.run_chains(jax.random.key(1), spins, chain_t, 400, wolff=wolff)
    exact = ising.exact_observables(4, temps)
    e = np.asarray(e).reshape(400, 3, n_chains)
    m = np.asarray(m).reshape(400, 3, n_chains)
    for i, t in enumerate(temps):
        for name, (mean, se) in chain_averages(e[:, i], m[:, i], burn_in=100).items():
            assert abs(mean - exact[name][i]) < 3 * se, (t, name, mean, exact[name][i], se)


def test_sampler_matches_onsager_L32_T2():
    spins = jnp.ones((512, 32, 32), jnp.int8)
    _, e, m = ising_mc.run_chains(jax.random.key(2), spins, 2.0, 150, wolff=True)
    got = chain_averages(e, m, burn_in=50)
    for name, exact in (
        ("energy_per_spin", ising.onsager_energy_per_spin([2.0])[0]),
        ("abs_magnetization", ising.onsager_magnetization([2.0])[0]),
    ):
        mean, se = got[name]
        assert abs(mean / exact - 1) < 0.003, (name, mean, exact)
        assert se / abs(exact) < 0.001  # the comparison is tighter than the tolerance


def test_high_temperature_is_disordered():
    spins = ising_mc.random_spins(jax.random.key(3), 256, 32)
    _, _, m = ising_mc.run_chains(jax.random.key(4), spins, 3.5, 100, wolff=False)
    mean = float(np.asarray(m[50:]).mean())
    # Finite size: <|m|> ~ sqrt(2 chi T / (pi N)) with chi ~ 0.5 here, i.e. about 0.02-0.05.
    assert 0.0 < mean < 0.08


def test_wolff_cluster_sizes_at_the_limits():
    up = jnp.ones((4, 8, 8), jnp.int8)
    flipped, size = ising_mc.wolff_update(jax.random.key(0), up, 0.01)  # p_add = 1: all aligned spins
    np.testing.assert_array_equal(size, 64)
    assert np.all(np.asarray(flipped) == -1)
    _, size = ising_mc.wolff_update(jax.random.key(0), up, 1e6)  # p_add ~ 0: the seed alone
    np.testing.assert_array_equal(size, 1)


def test_metropolis_is_deterministic_for_a_key():
    spins = ising_mc.random_spins(jax.random.key(5), 8, 16)
    a = ising_mc.metropolis_sweeps(jax.random.key(6), spins, 2.0, 10)
    b = ising_mc.metropolis_sweeps(jax.random.key(6), spins, 2.0, 10)
    c = ising_mc.metropolis_sweeps(jax.random.key(7), spins, 2.0, 10)
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_autocorrelation_time_of_ar1():
    # x_t = phi x_{t-1} + noise has rho(t) = phi^t, so tau = (1 + phi) / (1 - phi) = 9 for 0.8.
    rng = np.random.default_rng(0)
    phi, n, chains = 0.8, 20000, 8
    x = np.zeros((n, chains))
    noise = rng.normal(size=(n, chains))
    for t in range(1, n):
        x[t] = phi * x[t - 1] + noise[t]
    assert abs(ising_data.integrated_autocorrelation_time(x) / 9.0 - 1) < 0.1
    assert abs(ising_data.integrated_autocorrelation_time(noise) - 1.0) < 0.1


def test_sample_configurations_and_cache(monkeypatch, tmp_path):
    monkeypatch.setenv("ADVML_CACHE_DIR", str(tmp_path))
    args = (jax.random.key(8), 8, [1.5, 2.3, 3.2], 40)
    spins, temps, info = ising_data.sample_configurations(*args, chains_per_T=16, pilot_steps=40)
    assert spins.shape == (120, 8, 8) and spins.dtype == np.int8 and set(np.unique(spins)) == {-1, 1}
    np.testing.assert_array_equal(temps, np.repeat(np.float32([1.5, 2.3, 3.2]), 40))
    assert info["wolff"] == [False, True, False]
    assert all(t >= 1 for t in info["tau"]) and all(s >= 40 for s in info["equilibration_steps"])
    m = np.abs(spins.reshape(3, 40, -1).mean(-1)).mean(1)
    assert m[0] > 0.95 and m[2] < 0.5  # ordered at T = 1.5, disordered at T = 3.2
    files = list((tmp_path / "ising").iterdir())
    assert len(files) == 1 and files[0].suffix == ".npz"  # no temporary file left behind
    again, _, info2 = ising_data.sample_configurations(*args, chains_per_T=16, pilot_steps=40)
    np.testing.assert_array_equal(again, spins)
    assert info2 == info


KEY = jax.random.key(0)
UP4 = jnp.ones((2, 4, 4), jnp.int8)


@pytest.mark.parametrize(
    ("call", "match"),
    [
        (lambda: ising_mc.random_spins(jax.random.key(0), 2, 1), "L=1"),
        (lambda: ising_mc.metropolis_sweeps(KEY, jnp.ones((2, 5, 5), jnp.int8), 2.0, 1), "L=5"),
        (lambda: ising_mc.metropolis_sweeps(KEY, UP4, 0.0, 1), "temperatures"),
        (lambda: ising_mc.metropolis_sweeps(KEY, UP4, -1.0, 1), "temperatures"),
        (lambda: ising_mc.metropolis_sweeps(KEY, UP4, 2.0, 2.5), "n_sweeps=2.5"),
        (lambda: ising_mc.run_chains(KEY, UP4, 2.0, 0), "n_steps=0"),
        (lambda: ising_mc.run_chains(KEY, UP4, [1.0, 2.0, 3.0], 1), "one per chain"),
        (lambda: ising_data.sample_configurations(jax.random.key(0), 7, [2.0], 10), "L=7"),
        (lambda: ising_data.sample_configurations(jax.random.key(0), 8, [2.0], 10.0), "n_per_T=10.0"),
        (lambda: ising.exact_observables(6, [2.0]), "L=6"),
    ],
)
def test_bad_input(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_symmetry_augment_preserves_energy_and_abs_m():
    spins = ising_mc.random_spins(jax.random.key(9), 16, 8)
    out = ising_data.symmetry_augment(jax.random.key(10), spins)
    assert out.shape == spins.shape and out.dtype == spins.dtype
    assert not np.array_equal(out, spins)
    np.testing.assert_array_equal(ising.energy(out), ising.energy(spins))
    np.testing.assert_array_equal(np.abs(ising.magnetization(out)), np.abs(ising.magnetization(spins)))
    with pytest.raises(TypeError, match="parameter 'spins'"):
        ising_data.symmetry_augment(KEY, spins[0])
    with pytest.raises(ValueError, match="spins has values"):
        ising_data.symmetry_augment(KEY, ising.to_binary(spins))
    with pytest.raises(Exception, match=r"\[value check\] spins has"):  # 0/1 units inside a jitted step
        jax.jit(lambda s: ising_data.symmetry_augment(KEY, s))(ising.to_binary(spins))


def test_crossing_temperature():
    t = np.array([1.0, 2.0, 3.0, 4.0])
    assert ising_data.crossing_temperature(t, np.array([1.0, 0.8, 0.2, 0.0])) == pytest.approx(2.5)
    assert ising_data.crossing_temperature(t, jnp.array([1.0, 0.6, 0.4, 0.0]), level=0.6) == pytest.approx(2)
    with pytest.raises(ValueError, match="never cross"):
        ising_data.crossing_temperature(t, np.array([0.1, 0.2, 0.3, 0.4]))
    with pytest.raises(ValueError, match="increasing"):
        ising_data.crossing_temperature(t[::-1], np.array([1.0, 0.8, 0.2, 0.0]))
    with pytest.raises(TypeError, match="parameter 'values'"):  # one value per temperature
        ising_data.crossing_temperature(t, np.array([1.0, 0.0]))
    with pytest.raises(TypeError, match="parameter 'values'"):  # a list: refused by name, not guessed at
        ising_data.crossing_temperature(t, [1.0, 0.8, 0.2, 0.0])


def test_spin_binary_conversions_invert_each_other():
    spins = ising_mc.random_spins(jax.random.key(11), 4, 6)
    x = ising.to_binary(spins)
    assert x.dtype == jnp.float32 and set(np.unique(x)) == {0.0, 1.0}
    np.testing.assert_array_equal(ising.to_spins(x), spins)
    np.testing.assert_array_equal(ising.to_spins(2.0 * x - 1.0 + 0.3, threshold=0.0), spins)  # centred values


def test_thinned_samples_continue_the_chains_of_run_chains():
    spins = ising_mc.random_spins(jax.random.key(12), 3, 8)
    kept = ising_mc.thinned_samples(jax.random.key(13), spins, [1.5, 2.3, 3.2], 4, thin=2)
    assert kept.shape == (4, 3, 8, 8) and kept.dtype == jnp.int8
    # The first kept configuration is run_chains' state after `thin` steps with the first sub-key.
    first, _, _ = ising_mc.run_chains(jax.random.split(jax.random.key(13), 4)[0], spins, [1.5, 2.3, 3.2], 2)
    np.testing.assert_array_equal(kept[0], first)


def test_a_failed_save_leaves_no_file_behind(tmp_path):
    target = tmp_path / "sub" / "a.npz"
    with pytest.raises(RuntimeError), cache.atomic_file(target) as tmp:
        tmp.write_bytes(b"half")
        raise RuntimeError("killed mid-write")
    assert list((tmp_path / "sub").iterdir()) == []
    cache.save_arrays(target, x=np.arange(3))
    assert [p.name for p in (tmp_path / "sub").iterdir()] == ["a.npz"]
    np.testing.assert_array_equal(np.load(target)["x"], np.arange(3))


@pytest.mark.parametrize("observable", [ising.energy, ising.magnetization], ids=["energy", "magnetization"])
def test_binary_units_are_refused_as_spins_also_under_jit(observable):
    zeros = jnp.zeros((2, 4, 4))  # 0/1 units: a wrong energy, silently, without the rule
    with pytest.raises(ValueError, match=r"spins has values \[0\.0\].*2 x - 1"):
        observable(zeros)
    with pytest.raises(Exception, match=r"\[value check\] spins has values other than -1 and \+1"):
        jax.jit(observable)(zeros)
    np.testing.assert_array_equal(jax.jit(observable)(UP4), observable(UP4))  # +-1 spins pass, same numbers
    with pytest.raises(TypeError, match="parameter 'spins'"):  # not square: shape in the signature
        observable(jnp.ones((2, 4, 6)))


@pytest.mark.parametrize(
    "sample",
    [
        lambda s: ising_mc.metropolis_sweeps(KEY, s, 2.0, 1),
        lambda s: ising_mc.wolff_update(KEY, s, 2.0)[0],
        lambda s: ising_mc.run_chains(KEY, s, 2.0, 2)[0],
        lambda s: ising_mc.thinned_samples(KEY, s, 2.0, 2, 1),
    ],
    ids=["metropolis_sweeps", "wolff_update", "run_chains", "thinned_samples"],
)
def test_samplers_refuse_binary_initial_states_also_under_jit(sample):
    zeros = jnp.zeros((2, 4, 4), jnp.int8)
    with pytest.raises(ValueError, match="spins has values"):
        sample(zeros)
    with pytest.raises(Exception, match=r"\[value check\] spins has"):
        jax.jit(sample)(zeros)
    np.testing.assert_array_equal(jax.jit(sample)(UP4), sample(UP4))


def test_phase_configurations_takes_the_key_first(monkeypatch):
    seen = {}

    def fake_sample(key, L, temperatures, n_per_T, **kwargs):
        seen["key"] = key
        return np.zeros((1, L, L), np.int8), np.zeros(1), {}

    monkeypatch.setattr(ising_data, "sample_configurations", fake_sample)
    assert ising_data.phase_configurations(jax.random.key(ising_data.PHASE_SEED), 16)[0].shape == (1, 16, 16)
    # the key of the former default (seed 2024): the same configurations, the same cache file
    expected = jax.random.fold_in(jax.random.key(2024), 16)
    np.testing.assert_array_equal(jax.random.key_data(seen["key"]), jax.random.key_data(expected))
    with pytest.raises(TypeError, match="key=2024"):
        ising_data.phase_configurations(2024, 16)
