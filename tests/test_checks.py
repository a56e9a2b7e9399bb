"""Every self-checking exercise passes the instructors' solution, and fails a plausible wrong answer with
a verdict that names the mistake; a stub reads "not attempted yet"."""

import importlib.util
import inspect
import json
import re

import pytest
from conftest import REPO

from helpers import checks


def solutions(stem: str):
    path = next((REPO / "solutions").glob(f"{stem}_*.py"))
    spec = importlib.util.spec_from_file_location(f"solutions_{stem}", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# Every notebook's solutions file lists its checks' cases: (check, the solution's arguments, a wrong
# answer's arguments, text the failed verdict must contain).
SOLUTIONS = sorted((REPO / "solutions").glob("*.py"))
CASES = [case for path in SOLUTIONS for case in solutions(path.stem[:2]).CASES]
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


NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


def test_every_check_has_a_case_and_every_notebook_two_checks():
    public = {name for name in checks.__all__ if inspect.isfunction(getattr(checks, name))}
    assert public == {case[0].__name__ for case in CASES}
    assert len(public) == 2 * len(NOTEBOOKS)


def test_a_stub_reads_not_attempted_and_a_crash_becomes_a_verdict():
    def stub(*args):
        raise NotImplementedError

    verdict = checks.lennard_jones_force(stub)
    assert not verdict and "not attempted yet" in repr(verdict) and "Hint:" in repr(verdict)
    verdict = checks.lennard_jones_force(lambda *args: args[0].undefined_attribute)
    assert not verdict and "raised AttributeError" in repr(verdict)
    verdict = checks.ddim_step(lambda *args: None)
    assert not verdict and "returns nothing" in repr(verdict)


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
