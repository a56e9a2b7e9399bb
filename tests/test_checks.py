"""Every self-checking exercise passes the instructors' solution, and fails a plausible wrong answer with
a verdict that names the mistake; a stub reads "not attempted yet"."""

import importlib.util
import inspect
import json
import re

import jax
import jax.numpy as jnp
import pytest
from conftest import REPO

from helpers import checks


def solutions(stem: str):
    path = next((REPO / "solutions").glob(f"{stem}_*.py"))
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


S = {n: solutions(f"{n:02d}") for n in range(1, 9)}
softplus_pair = (S[1].softplus, S[1].softplus_prime)


def _naive_cd1(key, params, x):  # the negative phase reuses p(h|x) of the data
    k_h, k_x = jax.random.split(key)
    ph = jax.nn.sigmoid(params.b + x @ params.W)
    h = jax.random.bernoulli(k_h, ph).astype(x.dtype)
    x_neg = jax.random.bernoulli(k_x, jax.nn.sigmoid(params.a + h @ params.W.T)).astype(x.dtype)
    return type(params)((x - x_neg).mean(0), ph.mean(0) - ph.mean(0), (x - x_neg).T @ ph / len(x))


def _half_backprop(params, x, y):
    return jax.tree.map(lambda g: g / 2, S[1].backprop(params, x, y))


# (check, the solution's arguments, a wrong answer's arguments, text the failed verdict must contain)
CASES = [
    (checks.softplus, softplus_pair, (lambda z: jnp.log(1 + jnp.exp(z)), S[1].softplus_prime), "overflows"),
    (checks.softplus, softplus_pair,
     (S[1].softplus, lambda z: jax.nn.sigmoid(z) * (1 - jax.nn.sigmoid(z))), "derivative of the logistic"),
    (checks.backprop, (S[1].backprop,), (_half_backprop,), "0.5 times the correct value"),
    (checks.correlate2d, (S[2].correlate2d,), (lambda x, w: S[2].correlate2d(x, w[::-1, ::-1]),), "flipped"),
    (checks.elman_unroll, (S[2].elman_unroll,),
     (lambda p, xs, h0: S[2].elman_unroll(p, xs, h0)[:-1],), "shape (5, 3, 4); expected (6, 3, 4)"),
    (checks.principal_components, (S[3].principal_components,),
     (lambda x, k: (S[3].principal_components(x, k)[0], S[3].principal_components(x, k)[1] * 200 / 199),),
     "n - 1"),
    (checks.reconstruction_error, (S[3].reconstruction_error,),
     (lambda x, k: S[3].reconstruction_error(x, k) / x.shape[1],), "average only over the samples"),
    (checks.rbm_free_energy, (S[4].free_energy,), (lambda p, x: -S[4].free_energy(p, x),), "the sign"),
    (checks.cd1_gradient, (S[4].cd1_gradient,), (_naive_cd1,), "differs from CD-1"),
    (checks.cd1_gradient, (S[4].cd1_gradient,),
     (lambda k, p, x: jax.tree.map(lambda g: -g, S[4].cd1_gradient(k, p, x)),), "positive minus negative"),
    (checks.langevin_step, (S[5].langevin_step,),
     (lambda k, g, x, e: x - e * g(x) + jnp.sqrt(e) * jax.random.normal(k, x.shape),), "half the step"),
    (checks.langevin_step, (S[5].langevin_step,),
     (lambda k, g, x, e: x - e / 2 * g(x) + e * jax.random.normal(k, x.shape),), "its variance is eps"),
    (checks.ebm_loss, (S[5].contrastive_loss,),
     (lambda f, xd, xm, a: -S[5].contrastive_loss(f, xd, xm, 0.0) + a * (
         jnp.mean(f(xd) ** 2) + jnp.mean(f(xm) ** 2)),), "the sign"),
    (checks.ebm_loss, (S[5].contrastive_loss,),
     (lambda f, xd, xm, a: jnp.mean(f(xd)) - jnp.mean(f(xm))
      + a * (jnp.mean(f(xd) ** 2) + jnp.mean(f(xm) ** 2)),),
     "stop_gradient"),
    (checks.gaussian_kl, (S[6].gaussian_kl,),
     (lambda m, lv: 0.5 * jnp.mean(m**2 + jnp.exp(lv) - 1 - lv, axis=-1),), "do not average"),
    (checks.reparameterize, (S[6].reparameterize,),
     (lambda k, m, lv: m + jnp.exp(lv) * jax.random.normal(k, m.shape),), "not exp(logvar)"),
    (checks.ddim_step, (S[7].ddim_step,),
     (lambda xt, e, ab, abp: jnp.sqrt(abp) * (xt - jnp.sqrt(1 - ab) * e) / jnp.sqrt(ab),),
     "add the predicted"),
    (checks.q_posterior, (S[7].q_posterior,),
     (lambda xt, x0, a, ab, abp: (S[7].q_posterior(xt, x0, a, ab, abp)[0], 1 - a),),
     "forward step's variance"),
    (checks.discriminator_loss, (S[8].discriminator_loss,),
     (lambda r, f: -jnp.mean(jnp.log(jax.nn.sigmoid(r))) - jnp.mean(jnp.log(1 - jax.nn.sigmoid(f))),),
     "underflows"),
    (checks.generator_loss, (S[8].generator_loss,), (lambda f: -jnp.mean(jax.nn.softplus(f)),), "saturating"),
]
IDS = [f"{case[0].__name__}-{i}" for i, case in enumerate(CASES)]


@pytest.mark.parametrize(("check", "right", "wrong", "says"), CASES, ids=IDS)
def test_solution_passes_and_wrong_answer_fails_with_a_hint(check, right, wrong, says):
    verdict = check(*right)
    assert verdict.passed, repr(verdict)
    assert repr(verdict).startswith("[PASS]")
    verdict = check(*wrong)
    assert not verdict.passed
    assert says in repr(verdict), repr(verdict)
    assert "Hint:" in repr(verdict)


def test_every_check_has_a_case_and_every_notebook_two_checks():
    public = {name for name in checks.__all__ if inspect.isfunction(getattr(checks, name))}
    assert public == {case[0].__name__ for case in CASES}
    assert len(public) == 16


def test_a_stub_reads_not_attempted_and_a_crash_becomes_a_verdict():
    def stub(*args):
        raise NotImplementedError

    verdict = checks.gaussian_kl(stub)
    assert not verdict and "not attempted yet" in repr(verdict) and "Hint:" in repr(verdict)
    verdict = checks.gaussian_kl(lambda mu, logvar: mu.undefined_attribute)
    assert not verdict and "raised AttributeError" in repr(verdict)
    verdict = checks.ddim_step(lambda *args: None)
    assert not verdict and "returns nothing" in repr(verdict)


NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_has_badges_the_colab_prologue_and_two_self_checks(path):
    cells = json.loads(path.read_text())["cells"]
    title = "".join(cells[0]["source"])
    assert f"colab.research.google.com/github/advml-jax/advml-jax/blob/main/notebooks/{path.name}" in title
    assert f"mybinder.org/v2/gh/advml-jax/advml-jax/HEAD?urlpath=lab/tree/notebooks/{path.name}" in title
    setup = "".join(cells[1]["source"])
    reference = "".join(json.loads(NOTEBOOKS[0].read_text())["cells"][1]["source"])
    prologue = reference[: reference.index("import time")]
    assert 'find_spec("helpers") is None' in prologue and setup.startswith(prologue), "setup cells differ"
    code = "\n".join("".join(c["source"]) for c in cells if c["cell_type"] == "code")
    called = set(re.findall(r"^checks\.(\w+)\(", code, re.M))
    assert len(called) >= 2 and called <= set(checks.__all__), called
    solved = {f"{case[0].__name__}" for case in CASES}
    assert called <= solved
    assert (REPO / "solutions" / f"{path.stem}.py").exists()
