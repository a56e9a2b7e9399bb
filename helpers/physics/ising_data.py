r"""Ising configuration data sets, with the statistics that go into making and reading them.

:func:`sample_configurations` draws equilibrium configurations of :mod:`helpers.physics.ising` at a list of
temperatures, thinned by measured autocorrelation times (:func:`integrated_autocorrelation_time`),
and caches them on disk under a name made from all its arguments and the key.
:func:`symmetry_augment` applies the model's symmetries to a batch (free training data),
:func:`crossing_temperature` reads off where a classifier's P(ordered) crosses 1/2, and
:func:`compare_with_monte_carlo` judges a generative model's configurations against held-out
Monte Carlo ones.
"""

from __future__ import annotations

import hashlib
import json
import math
from typing import NamedTuple

import jax
import jax.numpy as jnp
import numpy as np
from jaxtyping import Array, Real, Shaped

from helpers.core import parallel, validate
from helpers.core.cache import cache_dir, store
from helpers.core.cache import load as cache_load
from helpers.core.validate import AnyArray, lattice_size, positive_int, shaped, temperatures_array
from helpers.physics import ising, ising_mc

SAMPLER_VERSION = 1  # part of the cache key: bump when the sampler's output changes


@shaped
def integrated_autocorrelation_time(series: Real[AnyArray, "n_steps n_chains"], window_factor=5.0) -> float:
    r"""Integrated autocorrelation time :math:`\tau = 1 + 2\sum_{t \ge 1} \rho(t)` of ``(n_steps, n_chains)``.

    :math:`\rho` is the normalised autocorrelation averaged over chains (computed by FFT), summed
    up to the smallest window M with :math:`M \ge c\,\tau(M)` (Sokal's automatic windowing,
    c = ``window_factor``).  n_steps / tau is the effective number of independent samples per
    chain, so keeping every ceil(tau)-th configuration gives nearly independent samples.
    """
    if series.shape[0] < 4 or series.shape[1] < 1:
        raise ValueError(f"series has shape {series.shape}; expected (n_steps >= 4, n_chains >= 1)")
    validate.positive_number(window_factor=window_factor)
    x = np.asarray(validate.finite("series", np.asarray(series, dtype=np.float64)))
    n = x.shape[0]
    x = x - x.mean(axis=0)
    spectrum = np.fft.rfft(x, n=2 * n, axis=0)
    acf = np.fft.irfft(spectrum * np.conj(spectrum), axis=0)[:n].mean(axis=1)
    if acf[0] <= 0.0:  # a frozen chain (e.g. T -> 0): no fluctuations, no correlation to wait for
        return 1.0
    rho = acf / acf[0]
    taus = 2.0 * np.cumsum(rho) - 1.0
    window = np.arange(n)
    ok = window >= window_factor * taus
    m = int(np.argmax(ok)) if ok.any() else n - 1
    return float(max(taus[m], 1.0))

@shaped
def symmetry_augment(key, spins: Real[AnyArray, "n L L"]) -> Shaped[Array, "n L L"]:
    r"""Apply a random lattice translation (one per call) and a random global flip (one per configuration).

    spins ``(n, L, L)`` -> same shape and dtype.  Both maps leave :math:`E(\mathbf{s})` and
    :math:`|m|` unchanged, so they preserve the Boltzmann weight and any phase label: a free way
    to show a network that the physics is translation- and :math:`\mathbb{Z}_2`-invariant.
    """
    validate.key("key", key)
    spins = validate.spins("spins", jnp.asarray(spins))
    k_row, k_col, k_flip = jax.random.split(key, 3)
    spins = jnp.roll(spins, jax.random.randint(k_row, (), 0, spins.shape[1]), axis=1)
    spins = jnp.roll(spins, jax.random.randint(k_col, (), 0, spins.shape[2]), axis=2)
    return spins * jax.random.rademacher(k_flip, (spins.shape[0], 1, 1), dtype=spins.dtype)


@shaped
def crossing_temperature(
    temperatures: Real[AnyArray, " n_T"], values: Real[AnyArray, " n_T"], level=0.5
) -> float:
    """Temperature where ``values`` (decreasing through ``level``) first crosses it, by linear interpolation.

    temperatures ``(n_T,)`` increasing; values ``(n_T,)``, e.g. a classifier's mean P(ordered).
    """
    validate.number(level=level)
    t = np.asarray(temperatures, dtype=np.float64)
    v = np.asarray(validate.finite("values", np.asarray(values, dtype=np.float64)))
    if np.any(np.diff(t) <= 0):
        raise ValueError(f"temperatures={t.tolist()}; expected increasing temperatures")
    above = v >= level
    i = np.flatnonzero(above[:-1] & ~above[1:])
    if i.size == 0:
        raise ValueError(f"values never cross level={level} from above")
    i = i[0]
    return float(t[i] + (v[i] - level) / (v[i] - v[i + 1]) * (t[i + 1] - t[i]))


class IsingComparison(NamedTuple):
    """Generated configurations against Monte Carlo ones at the same L and T
    (:func:`compare_with_monte_carlo`): the observables per configuration, then the figures read off them."""

    energy: np.ndarray  #: (n,) energy per spin E/N of each generated configuration
    magnetization: np.ndarray  #: (n,) signed magnetisation per spin m of each
    mc_energy: np.ndarray  #: (n_mc,) E/N of each Monte Carlo configuration
    mc_magnetization: np.ndarray  #: (n_mc,) m of each
    energy_error: float  #: <E/N> / <E/N>_MC - 1
    energy_error_se: float  #: its standard error from the n generated: sd(E/N) / (sqrt(n) |<E/N>_MC|)
    abs_m_error: float  #: <|m|> / <|m|>_MC - 1
    positive_share: float  #: share of the generated configurations with m > 0
    negative_share: float  #: share with m < 0 (the two ordered states: each about 1/2 by symmetry)
    mc_positive_share: float  #: the same shares of the Monte Carlo configurations
    mc_negative_share: float

    @property
    def abs_magnetization(self) -> np.ndarray:
        """``|m|`` of each generated configuration ``(n,)``, the order parameter."""
        return np.abs(self.magnetization)

    @property
    def mc_abs_magnetization(self) -> np.ndarray:
        """``|m|`` of each Monte Carlo configuration ``(n_mc,)``."""
        return np.abs(self.mc_magnetization)


@shaped
def compare_with_monte_carlo(
    generated: Real[AnyArray, "n L L"], monte_carlo: Real[AnyArray, "n_mc L L"]
) -> IsingComparison:
    r"""Judge generated Ising configurations by the physics, against held-out Monte Carlo ones at the same
    temperature: per configuration the energy per spin and the signed magnetisation per spin,

    .. math:: \frac{E}{N} = -\frac{1}{N}\sum_i s_i (s_{i+\hat x} + s_{i+\hat y}), \qquad
              m = \frac{1}{N}\sum_i s_i,

    then the relative errors :math:`\langle E\rangle/\langle E\rangle_\text{MC} - 1` (with its standard
    error from the generated sample) and :math:`\langle|m|\rangle/\langle|m|\rangle_\text{MC} - 1`, and
    the shares of configurations with :math:`m > 0` and :math:`m < 0`.  The Ising energy is even in
    :math:`\mathbf{s}`, so the two ordered states are equally likely: a generator that drops one of
    them still matches :math:`E` and :math:`|m|` but shows a share near 0.
    ``generated (n, L, L)`` and ``monte_carlo (n_mc, L, L)`` spins of +-1 -> :class:`IsingComparison`.
    """
    if generated.shape[0] < 1 or monte_carlo.shape[0] < 1:
        raise ValueError(f"generated has shape {generated.shape} and monte_carlo {monte_carlo.shape}; "
                         f"expected at least one configuration each")
    generated = validate.spins("generated", generated)
    monte_carlo = validate.spins("monte_carlo", monte_carlo)
    n_spins = generated.shape[1] * generated.shape[2]
    e, e_mc = (np.asarray(ising.energy(s)) / n_spins for s in (generated, monte_carlo))
    m, m_mc = (np.asarray(ising.magnetization(s)) for s in (generated, monte_carlo))
    return IsingComparison(
        e, m, e_mc, m_mc, energy_error=float(e.mean() / e_mc.mean() - 1),
        energy_error_se=float(e.std() / np.sqrt(len(e)) / abs(e_mc.mean())),
        abs_m_error=float(np.abs(m).mean() / np.abs(m_mc).mean() - 1),
        positive_share=float(np.mean(m > 0)), negative_share=float(np.mean(m < 0)),
        mc_positive_share=float(np.mean(m_mc > 0)), mc_negative_share=float(np.mean(m_mc < 0)))


WOLFF_WINDOW = (1.8, 2.9)
"""Temperatures in this range get Wolff updates in ``sample_configurations``; outside it
Metropolis from an ordered start decorrelates quickly and Wolff would only add cost."""


PHASE_TEMPERATURES = np.round(np.arange(1.0, 3.51, 0.1), 2)
"""The 26 temperatures 1.0, 1.1, ..., 3.5 of the course's data set across the transition."""


PHASE_SEED = 2024
"""The seed of the course's key, ``jax.random.key(PHASE_SEED)``: with it every notebook gets the same
:func:`phase_configurations` (and so one cache)."""


@shaped
def phase_configurations(key, L) -> tuple[np.ndarray, np.ndarray, dict]:
    """The course's Ising data set: 400 equilibrium configurations at each of ``PHASE_TEMPERATURES``.

    ``sample_configurations(fold_in(key, L), L, PHASE_TEMPERATURES, 400, chains_per_T=32,
    pilot_steps=60)``: the notebooks that need configurations across T_c (feed-forward phase
    classification, PCA and autoencoders, the VAE) share these with the course's key
    ``jax.random.key(PHASE_SEED)``, so the cache computed by one serves all.
    Returns ``spins (10400, L, L)`` int8, ``temps (10400,)`` and ``info`` as ``sample_configurations``.
    On several devices the chains are split over them (the configurations are the same).
    """
    validate.key("key", key)  # L is checked by sample_configurations
    return sample_configurations(jax.random.fold_in(key, L), L, PHASE_TEMPERATURES, 400, chains_per_T=32,
                                 pilot_steps=60, mesh=parallel.default_mesh(32))  # groups of 32k chains


@shaped
def sample_configurations(
    key, L, temperatures, n_per_T, chains_per_T=None, pilot_steps=200, cache=True, mesh=None,
) -> tuple[np.ndarray, np.ndarray, dict]:
    """Equilibrium configurations at each temperature, with thinning from measured correlations.

    The temperatures split into two groups, each run as one batch of chains: those inside
    ``WOLFF_WINDOW`` (near T_c) use one Metropolis sweep + one Wolff flip + a global flip per
    step, the others one Metropolis sweep + a global flip (``ising_mc.run_chains``).  Per group:

    1. ``chains_per_T`` chains per temperature (default ``min(n_per_T, 64)``) start ordered
       (all +1; the global flips symmetrise them) and run ``pilot_steps`` steps.
    2. The integrated autocorrelation time tau of E and |m| is measured per temperature on the
       second half of the pilot; tau_max is the group's largest.
    3. Equilibration is the pilot, lengthened if needed to at least 20 tau_max steps.
    4. Production keeps one configuration every ``thin = ceil(tau_max)`` steps per chain until
       ``n_per_T`` configurations per temperature are collected.

    Returns ``spins (n_T * n_per_T, L, L)`` int8, ``temps (n_T * n_per_T,)`` float32 (grouped by
    temperature, in the order given) and ``info`` (per temperature: tau, thinning, equilibration
    steps, whether Wolff was used).  Results are cached in ``cache.cache_dir()`` under a name made
    from every argument and the key, so a second call with the same arguments loads them.  With a
    ``mesh`` (:mod:`helpers.core.parallel`) each group's chains are split over its devices; the
    configurations are the same.
    """
    validate.key("key", key)
    lattice_size(L, even=True)
    temps = temperatures_array(temperatures)
    positive_int(n_per_T=n_per_T, pilot_steps=pilot_steps)
    chains_per_T = min(n_per_T, 64) if chains_per_T is None else chains_per_T
    positive_int(chains_per_T=chains_per_T)

    params = {
        "version": SAMPLER_VERSION, "L": L, "temperatures": temps.tolist(),
        "n_per_T": n_per_T, "chains_per_T": chains_per_T, "pilot_steps": pilot_steps,
        "key": np.asarray(jax.random.key_data(key)).tolist(),
    }
    digest = hashlib.sha256(json.dumps(params, sort_keys=True).encode()).hexdigest()[:16]
    path = cache_dir() / "ising" / f"ising_L{L}_{digest}.npz"
    expected = {"spins": (len(temps) * n_per_T, L, L), "temps": (len(temps) * n_per_T,)}

    def check(stored):
        for name, shape in expected.items():
            if name not in stored or stored[name].shape != shape:
                raise ValueError(f"{name} missing or of the wrong shape, expected {shape}")
        if stored["spins"].dtype != np.int8 or not np.all(np.abs(stored["spins"]) == 1):
            raise ValueError("spins are not int8 values of -1 and +1")
        if not np.array_equal(stored["temps"], np.repeat(temps, n_per_T).astype(np.float32)):
            raise ValueError("temps do not match the temperatures asked for")
        json.loads(str(stored["info"]))

    stored = cache_load(path, params, check) if cache else None
    if stored is not None:
        return stored["spins"], stored["temps"], json.loads(str(stored["info"]))

    out_spins = np.empty((len(temps), n_per_T, L, L), np.int8)
    info = {"temperature": temps.tolist(), "tau": [0.0] * len(temps), "thinning_steps": [0] * len(temps),
            "equilibration_steps": [0] * len(temps), "wolff": [False] * len(temps),
            "chains_per_T": chains_per_T}
    near = (temps >= WOLFF_WINDOW[0]) & (temps <= WOLFF_WINDOW[1])
    for wolff, k_group in zip((False, True), jax.random.split(key), strict=True):
        idx = np.flatnonzero(near == wolff)
        if idx.size == 0:
            continue
        spins, taus, thin, equil = _sample_group(
            k_group, L, temps[idx], n_per_T, chains_per_T, pilot_steps, wolff, mesh
        )
        out_spins[idx] = spins
        for j, i in enumerate(idx):
            info["tau"][i], info["thinning_steps"][i] = taus[j], thin
            info["equilibration_steps"][i], info["wolff"][i] = equil, wolff
    out_spins = out_spins.reshape(-1, L, L)
    out_temps = np.repeat(temps, n_per_T).astype(np.float32)
    if cache:
        store(path, params, spins=out_spins, temps=out_temps, info=json.dumps(info))
    return out_spins, out_temps, info


def _sample_group(key, L, temps, n_per_T, chains_per_T, pilot_steps, wolff, mesh=None):
    n_t = len(temps)
    chain_temps = jnp.asarray(np.repeat(temps, chains_per_T))
    k_pilot, k_extra, k_prod = jax.random.split(key, 3)
    spins = jnp.ones((n_t * chains_per_T, L, L), jnp.int8)
    spins, e, m = ising_mc.run_chains(k_pilot, spins, chain_temps, pilot_steps, wolff, mesh)
    half = pilot_steps // 2
    e, m = np.asarray(e[half:]), np.asarray(m[half:])
    taus = [
        max(integrated_autocorrelation_time(obs[:, i * chains_per_T : (i + 1) * chains_per_T])
            for obs in (e, m))
        for i in range(n_t)
    ]
    tau_max = max(taus)
    extra = max(0, math.ceil(20 * tau_max) - pilot_steps)
    if extra:
        spins, _, _ = ising_mc.run_chains(k_extra, spins, chain_temps, extra, wolff, mesh)
    thin = max(1, math.ceil(tau_max))
    per_chain = math.ceil(n_per_T / chains_per_T)
    samples = np.asarray(ising_mc.thinned_samples(k_prod, spins, chain_temps, per_chain, thin, wolff, mesh))
    # (per_chain, n_t * chains_per_T, L, L) -> (n_t, per_chain * chains_per_T, L, L)
    samples = samples.reshape(per_chain, n_t, chains_per_T, L, L).transpose(1, 0, 2, 3, 4)
    samples = samples.reshape(n_t, per_chain * chains_per_T, L, L)[:, :n_per_T]
    return samples, taus, thin, pilot_steps + extra
