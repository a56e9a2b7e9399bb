r"""Denoising diffusion models: noise schedules, the forward process, the ELBO's terms, and samplers.

Notation follows the lecture (after Luo, arXiv 2208.11970).  The encoder is the fixed chain

.. math:: q(\mathbf{x}_t|\mathbf{x}_{t-1}) = \mathcal{N}(\sqrt{\alpha_t}\,\mathbf{x}_{t-1}, (1 - \alpha_t)I),
          \qquad t = 1, \dots, T,

with :math:`\alpha_t = 1 - \beta_t` and :math:`\bar\alpha_t = \prod_{s \le t}\alpha_s`; a
:class:`Schedule` stores every per-step array with index t (entry 0 belongs to :math:`\mathbf{x}_0`),
and time steps passed to functions are integers in 1..T, one per example, shape ``(n,)``.

The equations live in two modules, by what they serve, and this one gathers their public names, so
``diffusion.q_sample`` and ``diffusion.ddim_sample`` read as one topic:

* :mod:`helpers.diffusion_training`: the schedules (``linear_schedule``, ``cosine_schedule``,
  ``schedule_from_betas``, ``snr``), the forward process (``q_sample``, ``posterior``,
  ``predict_x0``), the ELBO's terms (``prior_kl``, ``denoising_weight``, ``min_snr_weight``) and the
  losses (``simple_loss``, ``denoising_loss``);
* :mod:`helpers.diffusion_sampling`: ancestral and DDIM sampling (``ddpm_step``, ``ddpm_sample``,
  ``ddim_step``, ``ddim_sample``).

A noise predictor is any callable ``eps_fn(x_t, t) -> eps_hat`` with ``x_t (n, *shape)`` and
``t (n,)`` integers; the NNX noise predictors (``MLPDenoiser``, ``VPrediction``, ``SpinDenoiser``)
are in :mod:`helpers.denoisers`.
"""

from helpers.diffusion_sampling import ddim_sample, ddim_step, ddpm_sample, ddpm_step
from helpers.diffusion_training import (
    EpsFn,
    Schedule,
    check_schedule,
    cosine_schedule,
    denoising_loss,
    denoising_weight,
    linear_schedule,
    min_snr_weight,
    per_example,
    posterior,
    predict_x0,
    prior_kl,
    q_sample,
    schedule_from_betas,
    simple_loss,
    snr,
)

__all__ = [
    "EpsFn", "Schedule", "check_schedule", "cosine_schedule", "ddim_sample", "ddim_step", "ddpm_sample",
    "ddpm_step", "denoising_loss", "denoising_weight", "linear_schedule", "min_snr_weight", "per_example",
    "posterior", "predict_x0", "prior_kl", "q_sample", "schedule_from_betas", "simple_loss", "snr",
]
