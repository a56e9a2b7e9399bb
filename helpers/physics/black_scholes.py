r"""The Black-Scholes model of a European call option: the closed form of its price and delta, and a
Monte Carlo price, the references for the physics-informed network of notebook 09.

Under the risk-neutral measure the stock follows :math:`dS = rS\,dt + \sigma S\,dW`, and the value
:math:`V(S, t)` of a claim that pays :math:`\max(S_T - K, 0)` at :math:`T` solves

.. math:: \frac{\partial V}{\partial t} + \frac{1}{2}\sigma^2 S^2 \frac{\partial^2 V}{\partial S^2}
          + rS\frac{\partial V}{\partial S} - rV = 0,

the diffusion equation in disguise (:math:`x = \log S`, :math:`\tau = T - t`).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp
from jax.scipy.stats import norm
from jaxtyping import Array, Float, Real

from helpers.core import validate
from helpers.core.validate import AnyArray, shaped


def _check(strike, rate, sigma):
    validate.positive_number(strike=strike, sigma=sigma)
    validate.number(rate=rate)


@shaped
def call_price(s: Real[AnyArray, "*s"] | float, tau: Real[AnyArray, "*tau"] | float, strike, rate,
               sigma) -> tuple[Float[Array, "*out"], Float[Array, "*out"]]:
    r"""The Black-Scholes (1973) price of a European call and its delta, at stock price :math:`S`
    and time to maturity :math:`\tau = T - t`:

    .. math:: V = S\,N(d_1) - K e^{-r\tau} N(d_2),\qquad \Delta = \frac{\partial V}{\partial S} = N(d_1),
              \qquad d_{1,2} = \frac{\log(S/K) + (r \pm \sigma^2/2)\,\tau}{\sigma\sqrt{\tau}},

    with :math:`N` the standard normal distribution function; at :math:`\tau = 0` the payoff
    :math:`\max(S - K, 0)` and the step :math:`\Delta = [S > K]`.  ``s``, ``tau`` broadcast
    (``s >= 0``, ``tau >= 0``); returns ``(price, delta)``."""
    _check(strike, rate, sigma)
    dtype = jnp.result_type(float, s, tau)
    s = validate.values_in("s", jnp.asarray(s, dtype), 0.0, jnp.inf, "stock prices >= 0")
    tau = validate.values_in("tau", jnp.asarray(tau, dtype), 0.0, jnp.inf, "times to maturity >= 0")
    s, tau = jnp.broadcast_arrays(s, tau)
    live = (tau > 0) & (s > 0)
    root = sigma * jnp.sqrt(jnp.where(live, tau, 1.0))
    d1 = (jnp.log(jnp.where(live, s, strike) / strike) + (rate + 0.5 * sigma**2) * tau) / root
    d2 = d1 - root
    price = s * norm.cdf(d1) - strike * jnp.exp(-rate * tau) * norm.cdf(d2)
    delta = norm.cdf(d1)
    expired = jnp.maximum(s - strike, 0.0), (s > strike).astype(s.dtype)
    return jnp.where(live, price, expired[0]), jnp.where(live, delta, expired[1])


def monte_carlo_price(key: jax.Array, s, tau, strike, rate, sigma, n: int) -> tuple[jax.Array, jax.Array]:
    r"""The call's price as a discounted risk-neutral average over ``n`` exact samples of the
    geometric Brownian motion, and its standard error:

    .. math:: S_T = S\,e^{(r - \sigma^2/2)\tau + \sigma\sqrt{\tau}Z},\quad
              \hat V = \frac{e^{-r\tau}}{n}\sum_{j=1}^{n}\max(S_T^{(j)} - K, 0),\quad
              \mathrm{SE} = \frac{\mathrm{std}(e^{-r\tau}\max(S_T - K, 0))}{\sqrt{n}}.

    Scalars ``s``, ``tau``; returns ``(price, standard error)``."""
    validate.key("key", key)
    _check(strike, rate, sigma)
    validate.positive_number(s=s, tau=tau)
    validate.positive_int(n=n)
    z = jax.random.normal(key, (n,))
    s_t = s * jnp.exp((rate - 0.5 * sigma**2) * tau + sigma * jnp.sqrt(tau) * z)
    payoff = jnp.exp(-rate * tau) * jnp.maximum(s_t - strike, 0.0)
    return payoff.mean(), payoff.std(ddof=1) / jnp.sqrt(n)
