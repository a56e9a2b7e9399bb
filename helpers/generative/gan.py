r"""Generative adversarial networks: the game, its losses, the alternating update, and mode coverage.

A generator :math:`G` maps latent noise :math:`\mathbf{z} \sim \mathcal{N}(0, I_k)`, ``z (n, k)``, to
samples ``(n, d)``; a discriminator :math:`D` maps samples to one logit each, ``(n,)``, with
:math:`D(\mathbf{x}) = \sigma(\mathrm{logit})` the probability that :math:`\mathbf{x}` is data.  The
two play the minimax game of Goodfellow et al. (2014),

.. math:: \min_G \max_D V(D, G) = \mathbb{E}_{\mathbf{x}\sim p_\text{data}} \log D(\mathbf{x})
          + \mathbb{E}_{\mathbf{z}} \log\left(1 - D(G(\mathbf{z}))\right).

Losses take logits and use :math:`\log\sigma(l) = -\mathrm{softplus}(-l)` and
:math:`\log(1 - \sigma(l)) = -\mathrm{softplus}(l)`, which stay finite where :math:`D` saturates.
The Wasserstein GAN (Arjovsky et al. 2017) replaces :math:`D` by a critic :math:`f` with real
outputs, kept near 1-Lipschitz by the gradient penalty of Gulrajani et al. (2017).
"""

from __future__ import annotations

import math
from collections.abc import Callable

import jax
import jax.numpy as jnp
import numpy as np
import optax
from flax import nnx
from jaxtyping import Float, Real

from helpers.core import arrays, train, validate
from helpers.core.validate import AnyArray, shaped
from helpers.data import toy
from helpers.networks import layers

GENERATOR_LOSSES = ("saturating", "non_saturating", "wasserstein")
OUTPUTS = ("linear", "tanh", "spins")


@shaped
def straight_through_sign(a: Float[AnyArray, " ..."]) -> jax.Array:
    r"""Spins :math:`\pm1` forward, the gradient of :math:`\tanh` backward (a straight-through estimator):

    .. math:: s = \tanh a + \mathrm{sg}\left[\mathrm{sign}(\tanh a) - \tanh a\right],

    with :math:`\mathrm{sg}` the stop-gradient, so :math:`s = \mathrm{sign}(a)` and
    :math:`\partial s/\partial a = 1 - \tanh^2 a`.  Any shape; a zero maps to +1.
    """
    soft = jnp.tanh(a)
    hard = jnp.where(soft >= 0, 1.0, -1.0).astype(soft.dtype)
    return soft + jax.lax.stop_gradient(hard - soft)


class Generator(nnx.Module):
    r"""The generator :math:`G(\mathbf{z}) = \mathrm{out}(\mathrm{MLP}(\mathbf{z}))`: an
    :class:`helpers.networks.layers.MLP` ``[k, *hidden, d]`` followed by ``output``: ``"linear"`` (points),
    ``"tanh"`` (pixels in [-1, 1]) or
    ``"spins"`` (:func:`straight_through_sign`).  ``z (n, k)`` -> ``(n, d)``.
    """

    def __init__(self, latent_dim: int, hidden, out_dim: int, output: str = "linear",
                 activation: str = "relu", *, rngs: nnx.Rngs):
        validate.positive_int(latent_dim=latent_dim, out_dim=out_dim)
        validate.choice("output", output, OUTPUTS)
        self.latent_dim, self.output = int(latent_dim), output
        self.mlp = layers.MLP([latent_dim, *hidden, out_dim], activation, rngs=rngs)

    @shaped
    def __call__(self, z: Real[AnyArray, "n latent"]) -> jax.Array:
        a = self.mlp(z)
        if self.output == "tanh":
            return jnp.tanh(a)
        if self.output == "spins":
            return straight_through_sign(a)
        return a


class Discriminator(nnx.Module):
    r"""The discriminator's logit (or the critic's value): an MLP ``[d, *hidden, 1]`` with leaky ReLUs
    (slope 0.2), ``x (n, ...)`` -> ``(n,)``; an image batch is flattened first."""

    def __init__(self, in_dim: int, hidden, *, rngs: nnx.Rngs):
        validate.positive_int(in_dim=in_dim)
        self.mlp = layers.MLP([in_dim, *hidden, 1], lambda z: jax.nn.leaky_relu(z, 0.2), rngs=rngs)

    @shaped
    def __call__(self, x: Real[AnyArray, " n *features"]) -> jax.Array:
        return self.mlp(x.reshape(x.shape[0], -1))[:, 0]


def sample(key, generator, n: int) -> jax.Array:
    r""":math:`\mathbf{x} = G(\mathbf{z})`, :math:`\mathbf{z} \sim \mathcal{N}(0, I_k)`: ``n`` samples
    ``(n, d)``."""
    validate.key("key", key)
    validate.positive_int(n=n)
    return generator(jax.random.normal(key, (n, generator.latent_dim)))


# --------------------------------------------------------------------------------------------
# The game and its optimum
# --------------------------------------------------------------------------------------------
@shaped
def value_function(real_logits: Real[AnyArray, " n"], fake_logits: Real[AnyArray, " m"]) -> jax.Array:
    r"""Monte Carlo estimate of
    :math:`V(D, G) = \mathbb{E}\log D(\mathbf{x}) + \mathbb{E}\log(1 - D(G(\mathbf{z})))` from logits
    of data ``(n,)`` and of generated samples ``(m,)``; the discriminator maximises it."""
    return -jnp.mean(jax.nn.softplus(-real_logits)) - jnp.mean(jax.nn.softplus(fake_logits))


@shaped
def discriminator_loss(real_logits: Real[AnyArray, " n"], fake_logits: Real[AnyArray, " m"]) -> jax.Array:
    r"""The discriminator's loss :math:`-V(D, G)`: the binary cross-entropy of labelling data 1 and
    samples 0.  Logits ``(n,)`` and ``(m,)`` -> scalar."""
    return -value_function(real_logits, fake_logits)


@shaped
def generator_loss(fake_logits: Real[AnyArray, " m"], kind="non_saturating") -> jax.Array:
    r"""The generator's loss from the logits of its samples ``(m,)``:

    .. math:: \text{saturating: } \mathbb{E}\log(1 - D(G(\mathbf{z}))), \qquad
              \text{non-saturating: } -\mathbb{E}\log D(G(\mathbf{z})), \qquad
              \text{wasserstein: } -\mathbb{E} f(G(\mathbf{z})).

    The saturating loss is the game's own; its gradient vanishes as :math:`D(G(\mathbf{z})) \to 0`
    (a confident discriminator), where the non-saturating one's is largest.
    """
    validate.choice("kind", kind, GENERATOR_LOSSES)
    if kind == "saturating":
        return -jnp.mean(jax.nn.softplus(fake_logits))
    if kind == "non_saturating":
        return jnp.mean(jax.nn.softplus(-fake_logits))
    return -jnp.mean(fake_logits)


@shaped
def optimal_discriminator(p_data: Real[AnyArray, "*grid"], p_g: Real[AnyArray, "*grid"]) -> jax.Array:
    r"""The best discriminator against a fixed generator, :math:`D^*(\mathbf{x}) = p_\text{data}(\mathbf{x}) /
    (p_\text{data}(\mathbf{x}) + p_g(\mathbf{x}))`, from the two densities (>= 0) at the same points."""
    p_data = validate.values_in("p_data", p_data, 0, math.inf, "densities >= 0")
    p_g = validate.values_in("p_g", p_g, 0, math.inf, "densities >= 0")
    return p_data / (p_data + p_g)


@shaped
def js_divergence(p: Real[AnyArray, " grid"], q: Real[AnyArray, " grid"], dx) -> jax.Array:
    r"""Jensen-Shannon divergence by quadrature on a uniform grid of spacing ``dx``:

    .. math:: \mathrm{JS}(p\,\|\,q) = \tfrac12 \mathrm{KL}(p\,\|\,m) + \tfrac12 \mathrm{KL}(q\,\|\,m),
              \quad m = \tfrac12(p + q),

    in nats, between 0 and :math:`\log 2`.  Densities ``p (g,)`` and ``q (g,)`` (>= 0) on the grid's points.
    """
    validate.positive_number(dx=dx)
    p = validate.values_in("p", p, 0, math.inf, "densities >= 0")
    q = validate.values_in("q", q, 0, math.inf, "densities >= 0")
    m = 0.5 * (p + q)

    def kl(a):  # the integral of a log(a / m), with 0 log 0 = 0
        safe = a > 0
        ratio = jnp.where(safe, a, 1.0) / jnp.where(safe, m, 1.0)
        return jnp.sum(jnp.where(safe, a * jnp.log(ratio), 0.0)) * dx

    return 0.5 * kl(p) + 0.5 * kl(q)


# --------------------------------------------------------------------------------------------
# Wasserstein GAN with gradient penalty
# --------------------------------------------------------------------------------------------
@shaped
def gradient_penalty(critic: Callable, x_real: Real[AnyArray, " n *dims"], x_fake: Real[AnyArray, " n *dims"],
                     eps: Real[AnyArray, " n"], one_sided=False) -> jax.Array:
    r"""Gulrajani et al.'s penalty on points between data and samples,

    .. math:: \hat{\mathbf{x}} = \epsilon\,\mathbf{x} + (1 - \epsilon)\,\tilde{\mathbf{x}}, \qquad
              \mathrm{GP} = \mathbb{E}\left(\lVert\nabla_{\hat{\mathbf{x}}}
              f(\hat{\mathbf{x}})\rVert_2 - 1\right)^2,

    ``x_real``, ``x_fake (n, ...)``, ``eps (n,)`` in [0, 1] -> scalar.  An optimal critic of the
    Kantorovich-Rubinstein dual has unit gradient norm along these lines.
    """
    e = arrays.per_example(validate.unit_interval("eps", eps), x_real)
    x_hat = e * x_real + (1 - e) * x_fake
    grads = jax.grad(lambda x: jnp.sum(critic(x)))(x_hat)  # row i depends on x_hat[i] only
    norms = jnp.sqrt(jnp.sum(grads.reshape(grads.shape[0], -1) ** 2, axis=1) + 1e-12)
    excess = norms - 1.0
    return jnp.mean(jnp.maximum(excess, 0.0) ** 2 if one_sided else excess**2)


@shaped
def critic_loss(key, critic: Callable, x_real: Real[AnyArray, " n *dims"], x_fake: Real[AnyArray, " n *dims"],
                penalty=10.0, one_sided=False):
    r"""The WGAN-GP critic's loss,
    :math:`\mathbb{E} f(\tilde{\mathbf{x}}) - \mathbb{E} f(\mathbf{x}) + \lambda\,\mathrm{GP}`: minimising it
    maximises the dual estimate
    :math:`\hat W_1 = \mathbb{E} f(\mathbf{x}) - \mathbb{E} f(\tilde{\mathbf{x}})`.
    ``eps`` of the penalty is drawn with ``key``; returns ``(loss, {"w1": ..., "penalty": ...})``."""
    validate.key("key", key)
    validate.nonnegative_number(penalty=penalty)
    eps = jax.random.uniform(key, (x_real.shape[0],))
    w1 = jnp.mean(critic(x_real)) - jnp.mean(critic(x_fake))
    gp = gradient_penalty(critic, x_real, x_fake, eps, one_sided)
    return -w1 + penalty * gp, {"w1": w1, "penalty": gp}


# --------------------------------------------------------------------------------------------
# The alternating update, as a step of the shared training loop
# --------------------------------------------------------------------------------------------
def init(generator, discriminator, g_optimizer: optax.GradientTransformation,
         d_optimizer: optax.GradientTransformation, data_shape):
    """The carry ``((G, G's optimiser state), (D, D's optimiser state))`` of :func:`alternating_step`.

    Checks that ``G`` turns ``(1, latent_dim)`` noise into samples of ``data_shape`` (one example's
    shape) and that ``D`` maps them to one logit each.
    """
    latent_dim = getattr(generator, "latent_dim", None)
    validate.positive_int(**{"generator.latent_dim": latent_dim})
    shape = tuple(data_shape)
    try:
        out = jax.eval_shape(generator, jax.ShapeDtypeStruct((2, latent_dim), jnp.float32))
    except (TypeError, ValueError) as error:
        raise ValueError(f"generator does not accept latent noise (n, {latent_dim}): {error}") from None
    if tuple(out.shape[1:]) != shape:
        raise ValueError(f"generator makes samples of shape {tuple(out.shape[1:])}; "
                         f"expected data_shape {shape}")
    try:
        logits = jax.eval_shape(discriminator, out)
    except (TypeError, ValueError) as error:
        raise ValueError(f"discriminator does not accept samples {tuple(out.shape)}: {error}") from None
    if tuple(logits.shape) != (2,):
        raise ValueError(f"discriminator returns shape {tuple(logits.shape)} for 2 samples; expected (2,)")
    return train.init(generator, g_optimizer), train.init(discriminator, d_optimizer)


@shaped
def alternating_step(g_optimizer: optax.GradientTransformation, d_optimizer: optax.GradientTransformation,
                     loss="non_saturating", d_steps=1, penalty=10.0, one_sided=False) -> train.Step:
    r"""One round of the game as a step of :func:`helpers.core.train.fit`: ``d_steps`` updates of the
    discriminator (or critic) on the batch of data against fresh samples, then one of the generator.

    * ``loss="saturating"`` or ``"non_saturating"``: :math:`D` descends :func:`discriminator_loss`,
      :math:`G` the :func:`generator_loss` of that name.
    * ``loss="wasserstein"``: the critic descends :func:`critic_loss` with weight ``penalty``,
      :math:`G` descends :math:`-\mathbb{E}f(G(\mathbf{z}))`.

    The carry is :func:`init`'s; the batch is finite data ``(B, ...)``; metrics are ``d_loss``,
    ``g_loss`` (the generator's loss before its update, also reported as ``loss``) and, for the critic,
    ``w1`` and ``penalty``.  The same key gives the same update.
    """
    validate.choice("loss", loss, GENERATOR_LOSSES)
    validate.positive_int(d_steps=d_steps)
    validate.nonnegative_number(penalty=penalty)

    def d_loss(key, d, real, fake):
        if loss == "wasserstein":
            return critic_loss(key, d, real, fake, penalty, one_sided)
        return discriminator_loss(d(real), d(fake))

    @shaped
    def step(carry, batch: Real[AnyArray, " batch *dims"], key):
        (g, g_state), (d, d_state) = carry
        batch, n = validate.finite("batch", batch), batch.shape[0]
        keys = jax.random.split(key, d_steps + 1)

        def d_update(d_carry, k):  # one update of D against fresh samples of G
            (d, d_state), (k_z, k_gp) = d_carry, jax.random.split(k)
            fake = jax.lax.stop_gradient(sample(k_z, g, n))
            d, d_state, m = train.apply_gradients(d_optimizer, d, d_state,
                                                  lambda dd: d_loss(k_gp, dd, batch, fake))
            return (d, d_state), m

        (d, d_state), d_metrics = jax.lax.scan(d_update, (d, d_state), keys[:-1])
        g, g_state, g_metrics = train.apply_gradients(
            g_optimizer, g, g_state, lambda gg: generator_loss(d(sample(keys[-1], gg, n)), loss))
        metrics = {name: value[-1] for name, value in d_metrics.items() if name != "loss"}
        metrics.update(d_loss=d_metrics["loss"][-1], g_loss=g_metrics["loss"], loss=g_metrics["loss"])
        return ((g, g_state), (d, d_state)), metrics

    return step


# --------------------------------------------------------------------------------------------
# Mode collapse, measured
# --------------------------------------------------------------------------------------------
@shaped
def mode_coverage(x: Real[AnyArray, "n d"], centres: Real[AnyArray, "K d"], std, min_count=20) -> dict:
    r"""How many modes of a Gaussian mixture the samples cover, and how many samples are good
    (the measures of Srivastava et al. 2017 and Lin et al. 2018).

    A sample is *high quality* if it lies within :math:`3s` of its nearest centre,
    :math:`\min_c\lVert\mathbf{x} - \boldsymbol\mu_c\rVert \le 3s`; a mode is *covered* if at least
    ``min_count`` high-quality samples sit at it.  ``x (n, d)``, ``centres (K, d)``, ``s = std``.
    Returns ``{"modes": covered count, "high_quality": fraction, "counts": (K,) high-quality
    samples per mode}``, the nearest centre from :func:`helpers.data.toy.nearest_centre`.  For samples of an
    isotropic 2-D mixture the expected high-quality fraction is :math:`1 - e^{-9/2} = 98.9\,\%`
    (:math:`\lVert\mathbf{x} - \boldsymbol\mu\rVert^2/s^2 \sim \chi^2_2`).
    """
    x = validate.finite("x", x)
    validate.positive_number(std=std)
    validate.positive_int(min_count=min_count)
    nearest, distance = toy.nearest_centre(x, centres)
    good = distance <= 3 * std
    counts = np.bincount(nearest[good], minlength=len(centres))
    return {"modes": int(np.sum(counts >= min_count)), "high_quality": float(np.mean(good)), "counts": counts}
