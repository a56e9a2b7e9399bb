"""helpers.physics.ising_data.compare_with_monte_carlo against a hand-written energy and the two ordered
states."""

import numpy as np
import pytest

from helpers.physics import ising_data


def energy_per_spin_by_hand(s: np.ndarray) -> float:  # every bond once: right and down neighbours, periodic
    L = s.shape[0]
    return (
        -sum(
            int(s[i, j]) * (int(s[i, (j + 1) % L]) + int(s[(i + 1) % L, j]))
            for i in range(L)
            for j in range(L)
        )
        / L**2
    )


def test_comparison_is_the_hand_computation():
    rng = np.random.default_rng(0)
    generated = rng.choice(np.array([-1, 1], np.int8), size=(30, 6, 6))
    monte_carlo = np.where(rng.random((50, 6, 6)) < 0.8, 1, -1).astype(np.int8)
    got = ising_data.compare_with_monte_carlo(generated, monte_carlo)
    e = np.array([energy_per_spin_by_hand(s) for s in generated])
    e_mc = np.array([energy_per_spin_by_hand(s) for s in monte_carlo])
    m, m_mc = generated.mean((1, 2)), monte_carlo.mean((1, 2))
    np.testing.assert_allclose(got.energy, e, rtol=1e-6)
    np.testing.assert_allclose(got.mc_magnetization, m_mc, rtol=1e-6)
    np.testing.assert_allclose(got.abs_magnetization, np.abs(m), rtol=1e-6)
    assert got.energy_error == pytest.approx(e.mean() / e_mc.mean() - 1, rel=1e-5)
    assert got.energy_error_se == pytest.approx(e.std() / np.sqrt(30) / abs(e_mc.mean()), rel=1e-5)
    assert got.abs_m_error == pytest.approx(np.abs(m).mean() / np.abs(m_mc).mean() - 1, rel=1e-5)
    assert got.positive_share == pytest.approx(np.mean(m > 0))
    assert got.negative_share == pytest.approx(np.mean(m < 0))
    assert (got.mc_positive_share, got.mc_negative_share) == (1.0, 0.0)  # 80 % up: every lattice has m > 0


def test_a_generator_that_drops_one_ordered_state_is_caught():
    up, down = np.ones((4, 8, 8), np.int8), -np.ones((4, 8, 8), np.int8)
    monte_carlo = np.concatenate([up, down])  # both ordered states, half each
    got = ising_data.compare_with_monte_carlo(up, monte_carlo)
    assert got.energy_error == 0.0 and got.abs_m_error == 0.0  # E and |m| cannot see it...
    assert (got.positive_share, got.negative_share) == (1.0, 0.0)  # ...the signed shares do
    assert (got.mc_positive_share, got.mc_negative_share) == (0.5, 0.5)
    assert np.all(got.energy == -2.0) and np.all(got.mc_abs_magnetization == 1.0)


@pytest.mark.parametrize(
    ("generated", "monte_carlo", "error", "match"),
    [
        (np.ones((3, 4, 4)), np.ones((3, 6, 6)), TypeError, r"parameter 'monte_carlo'(.|\n)*L=4"),
        (np.ones((3, 16)), np.ones((3, 4, 4)), TypeError, "parameter 'generated'"),
        (np.zeros((3, 4, 4)), np.ones((3, 4, 4)), ValueError, "generated has values"),
        (np.ones((3, 4, 4)), np.full((3, 4, 4), 0.5), ValueError, "monte_carlo has values"),
        (np.ones((3, 4, 5)), np.ones((3, 4, 5)), TypeError, "parameter 'generated'"),
        (np.ones((0, 4, 4)), np.ones((3, 4, 4)), ValueError, r"generated has shape \(0, 4, 4\)"),
        ([[[1, 1], [1, 1]]], np.ones((3, 2, 2)), TypeError, "parameter 'generated'"),
    ],
)
def test_bad_input(generated, monte_carlo, error, match):
    with pytest.raises(error, match=match):
        ising_data.compare_with_monte_carlo(generated, monte_carlo)
