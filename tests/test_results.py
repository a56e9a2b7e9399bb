"""helpers.results: checks that print ✓/✗ and raise only in a test, the record every notebook writes,
figures cited from it, and the list of figures that moved."""

import json
import os
import re

import nbformat
import pytest
from conftest import REPO
from nbclient import NotebookClient

from helpers import results
from helpers.results import Results, Row

NOTEBOOKS = sorted((REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture
def record_dir(tmp_path, monkeypatch):
    monkeypatch.setenv(results.DIR_ENV, str(tmp_path))
    return tmp_path


def test_a_check_passes_when_every_bound_holds(monkeypatch, capsys):
    monkeypatch.setenv(results.STRICT_ENV, "0")
    r = Results("99_test")
    assert r.check("acc", "accuracy", 0.985, at_least=0.98, unit="", fmt=".1%")
    assert r.check("tc", "T_c", 2.27, reference=2.2692, within=0.01, source="Onsager")
    assert not r.check("both", "inside a band", 5.0, at_least=1.0, at_most=4.0)
    assert not r.check("nan", "a NaN never passes", float("nan"), at_most=1.0)
    out = capsys.readouterr().out.splitlines()
    assert out[0] == "✓ accuracy: 98.5% (reference ≥ 98.0%)"
    assert out[1] == "✓ T_c: 2.27 (reference 2.269 ± 0.01 (Onsager))"
    assert out[2].startswith("✗ inside a band: 5 (reference between 1 and 4); expected only if you changed")
    assert [row.passed for row in r] == [True, True, False, False]


def test_a_failed_check_raises_only_in_a_test(monkeypatch):
    r = Results("99_test")
    monkeypatch.setenv(results.STRICT_ENV, "1")
    with pytest.raises(AssertionError, match="✗ accuracy: 0.5 \\(reference ≥ 0.9\\)"):
        r.check("acc", "accuracy", 0.5, at_least=0.9)
    monkeypatch.setenv(results.STRICT_ENV, "0")
    assert r.check("acc", "accuracy", 0.5, at_least=0.9) is False


def test_bad_checks_are_refused():
    r = Results("99_test")
    with pytest.raises(ValueError, match="give at_least, at_most"):
        r.check("x", "no bound", 1.0)
    with pytest.raises(ValueError, match="within=0.1 needs a reference"):
        r.check("x", "no reference", 1.0, within=0.1)
    with pytest.raises(TypeError, match="value='a'"):
        r.check("x", "text", "a", at_least=0)
    with pytest.raises(ValueError, match="notebook=''"):
        Results("")


def test_a_rerun_cell_replaces_its_row_and_the_record_is_written(record_dir, monkeypatch):
    monkeypatch.setenv(results.STRICT_ENV, "0")
    r = Results("99_test")
    r.check("acc", "accuracy", 0.5, at_least=0.9)
    r.check("acc", "accuracy", 0.95, at_least=0.9)
    r.note("n", "parameters", 4254, fmt=",.0f")
    assert len(r) == 2 and r["acc"].value == 0.95 and r["n"].value_text() == "4,254"
    pytest.importorskip("IPython")
    r.show()
    record = json.loads((record_dir / "99_test.json").read_text())
    assert record["notebook"] == "99_test" and record["versions"]["jax"]
    assert [row["key"] for row in record["rows"]] == ["acc", "n"]
    loaded = results.load("99_test")
    assert loaded["acc"] == r["acc"]
    assert results.cite("99_test", "n") == "4,254"
    with pytest.raises(KeyError, match="no such figure"):
        results.cite("99_test", "missing")
    assert results.cite("98_none", "x") == "see notebook 98"
    with pytest.raises(FileNotFoundError, match="98_none.json"):
        results.load("98_none")


def test_moved_names_changed_values_and_verdicts():
    old = [Row("a", "A", 1.00, at_least=0.5, passed=True), Row("b", "B", 1.0, at_least=0.5, passed=True),
           Row("c", "C", 1e-15, at_most=1e-10, passed=True), Row("d", "D", 3.0, checked=False)]
    new = [Row("a", "A", 1.04, at_least=0.5, passed=True), Row("b", "B", 0.4, at_least=0.5, passed=False),
           Row("c", "C", 3e-15, at_most=1e-10, passed=True), Row("e", "E", 1.0, checked=False)]
    lines = results.moved(old, new)
    assert lines == ["B: 1 ✓ -> 0.4 ✗", "D: removed", "E: added"]


def test_the_page_lists_every_record(record_dir):
    results.write(record_dir / "01_x.json", "01_x", [Row("a", "A", 0.99, at_least=0.98, passed=True)])
    page = results.page(results.all_records(record_dir))
    assert "## [01 x](../notebooks/01_x.ipynb)" in page and "| A | 0.99 | ≥ 0.98 | ✓ |" in page
    assert "1 of 1 checked figures" in page
    assert "| <\\|m\\|> | 0.5 |  |  |" in results.table([Row("m", "<|m|>", 0.5, checked=False)])
    assert results.main(["--page", str(record_dir / "page.md")]) == 0
    assert (record_dir / "page.md").read_text().startswith("# What this course reproduces")


def _run(cells, env):
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    client = NotebookClient(nb, timeout=120, kernel_name="python3", allow_errors=True,
                            resources={"metadata": {"path": str(REPO)}})
    old = {k: os.environ.get(k) for k in env}
    os.environ.update(env)  # the kernel inherits this process's environment
    try:
        client.execute()
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k)
            else:
                os.environ[k] = v
    return nb


@pytest.mark.slow
def test_in_a_kernel_the_switch_decides_and_figures_carry_their_description(tmp_path):
    cells = ["import matplotlib.pyplot as plt\nfrom helpers.notebook import Results, figure",
             "R = Results('99_test')\nfig, ax = plt.subplots()\nax.plot([0, 1])\n"
             "figure(fig, 'A straight line rising from zero to one.')",
             "R.check('acc', 'accuracy', 0.5, at_least=0.9)"]
    env = {results.DIR_ENV: str(tmp_path), "PYTHONPATH": str(REPO)}
    student = _run(cells, {**env, results.STRICT_ENV: "0"})
    image = student.cells[1].outputs[0]
    assert "image/png" in image["data"]
    assert image["metadata"]["image/png"]["alt"].startswith("A straight line")
    assert student.cells[2].outputs[0]["text"].startswith("✗ accuracy")
    test = _run(cells, {**env, results.STRICT_ENV: "1"})
    assert test.cells[2].outputs[0]["output_type"] == "error"
    assert test.cells[2].outputs[0]["ename"] == "AssertionError"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.stem)
def test_every_notebook_keeps_its_record(path):
    source = "\n".join("".join(c["source"]) for c in json.loads(path.read_text())["cells"])
    assert f'Results("{path.stem}")' in source, "the notebook's Results must be named after its file"
    record = REPO / "results" / f"{path.stem}.json"
    assert record.exists(), f"{record.name} missing: run the notebook (make notebooks)"
    rows = results.load(path.stem)
    assert rows and all(row.passed for row in rows.values() if row.checked), \
        [row.quantity for row in rows.values() if row.checked and not row.passed]


# The records as the notebooks' committed outputs saw them, read when the tests are collected: the
# same session re-executes the notebooks, which rewrite the records, and a figure from training can
# move in its last digits between machines (a cache trained with another number of threads, say).
RECORDED = {name: {row.key: row for row in rows}
            for name, rows in results.all_records(REPO / "results").items()}


def test_cited_figures_agree_with_their_records():
    """A notebook that cites another's figure (``results.cite``) shows the figure its record holds."""
    cite = re.compile(r"""results\.cite\(\s*["'](\w+)["']\s*,\s*["'](\w+)["']\s*\)""")
    found = 0
    for path in NOTEBOOKS:
        cells = json.loads(path.read_text())["cells"]
        for cell in cells:
            for notebook, key in cite.findall("".join(cell["source"])):
                shown = json.dumps(cell.get("outputs", []), ensure_ascii=False)
                assert RECORDED[notebook][key].value_text() in shown, (path.stem, notebook, key)
                found += 1
    assert found, "no notebook cites another's figure"
