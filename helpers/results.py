"""The course's record of measured figures: what each notebook checks, beside its reference.

A notebook makes its quality checks through :class:`Results`: ``RESULTS.check(key, quantity, value,
at_least=..., reference=..., within=...)`` records the figure, prints a ✓ or ✗ line beside its
reference, and raises only when the notebook runs as a test (the environment variable
``ADVML_STRICT=1``, which the test configuration and ``make notebooks`` set), so a student who changed
a setting sees ✗ and reads on, while the tests fail when learning breaks.  ``RESULTS.note`` records a
figure that has no pass/fail (a baseline, a count).  ``RESULTS.show()`` displays the summary table and
writes the record ``results/<notebook>.json`` in the repository (nowhere when the package is installed
without a repository, as on Colab).  Exact identities (a gradient against ``jax.grad``) stay plain
``assert``s in the notebooks.

The record holds only figures that a re-run reproduces (no run times), so it changes only when a
result does.  Other notebooks cite a figure with :func:`cite`, never by typing it in;
``python -m helpers.results`` prints every record as one table and, with ``--since REV``, the figures
that moved beyond their tolerance since that git revision (``make results [SINCE=REV]``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import math
import os
import platform
import subprocess
import sys
from pathlib import Path

from helpers.core import cache

STRICT_ENV = "ADVML_STRICT"
DIR_ENV = "ADVML_RESULTS_DIR"
_REPO = Path(__file__).resolve().parents[1]


def strict() -> bool:
    """Whether a failed check raises: true when the notebook runs as a test (``ADVML_STRICT=1``)."""
    return os.environ.get(STRICT_ENV, "").lower() in {"1", "true", "yes"}


def results_dir() -> Path | None:
    """Where the records live: ``$ADVML_RESULTS_DIR``, else ``results/`` of the repository that holds
    this package; ``None`` for an installed package without a repository (nothing is written)."""
    if os.environ.get(DIR_ENV):
        return Path(os.environ[DIR_ENV])
    folder = _REPO / "results"
    return folder if folder.is_dir() and (_REPO / "notebooks").is_dir() else None


@dataclasses.dataclass(frozen=True)
class Row:
    """One recorded figure.  A checked row passes when every bound it gives holds:
    ``|value - reference| <= within``, ``value >= at_least``, ``value <= at_most``."""

    key: str
    quantity: str
    value: float
    unit: str = ""
    reference: float | None = None
    within: float | None = None
    at_least: float | None = None
    at_most: float | None = None
    source: str = ""
    fmt: str = ".4g"
    checked: bool = True
    passed: bool | None = None
    tolerance: float | None = None  # how far a re-run may move it (``--since``); default 5 %

    def _num(self, x: float) -> str:
        return format(x, self.fmt)

    def value_text(self) -> str:
        """The value as the table prints it, with its unit."""
        return f"{self._num(self.value)}{(' ' + self.unit) if self.unit else ''}"

    def reference_text(self) -> str:
        """The reference column: the bound the check applies, the reference value and its source."""
        parts = []
        if self.within is not None and self.reference is not None:
            parts.append(f"{self._num(self.reference)} ± {self._num(self.within)}")
        elif self.reference is not None:
            parts.append(self._num(self.reference))
        if self.at_least is not None and self.at_most is not None:
            parts.append(f"between {self._num(self.at_least)} and {self._num(self.at_most)}")
        elif self.at_least is not None:
            parts.append(f"≥ {self._num(self.at_least)}")
        elif self.at_most is not None:
            parts.append(f"≤ {self._num(self.at_most)}")
        text = ", ".join(parts)
        if self.source:
            text = f"{text} ({self.source})" if text else self.source
        return text

    def mark(self) -> str:
        return "" if not self.checked else ("✓" if self.passed else "✗")


def _passes(value: float, reference, within, at_least, at_most) -> bool:
    if not math.isfinite(value):
        return False
    ok = True
    if within is not None:
        ok &= abs(value - reference) <= within
    if at_least is not None:
        ok &= value >= at_least
    if at_most is not None:
        ok &= value <= at_most
    return bool(ok)


def _float(name: str, value) -> float | None:
    if value is None:
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name}={value!r}; expected a real number") from None


class Results(list):
    """The notebook's summary table and its record: rows of :class:`Row`, one per key."""

    def __init__(self, notebook: str):
        super().__init__()
        if not isinstance(notebook, str) or not notebook:
            raise ValueError(f"notebook={notebook!r}; expected the notebook's file name without .ipynb")
        self.notebook = notebook

    def _add(self, row: Row) -> Row:
        for i, old in enumerate(self):  # a re-run cell replaces its row
            if old.key == row.key:
                self[i] = row
                return row
        self.append(row)
        return row

    def check(self, key: str, quantity: str, value, *, reference=None, within=None, at_least=None,
              at_most=None, unit: str = "", source: str = "", fmt: str = ".4g", tolerance=None) -> bool:
        """Record ``value`` and check it against its reference: pass when every bound given holds
        (``|value - reference| <= within``, ``value >= at_least``, ``value <= at_most``).  Prints a ✓
        or ✗ line; a ✗ raises ``AssertionError`` when the notebook runs as a test.  Returns whether
        it passed."""
        value = _float("value", value)
        reference, within = _float("reference", reference), _float("within", within)
        at_least, at_most = _float("at_least", at_least), _float("at_most", at_most)
        if within is not None and reference is None:
            raise ValueError(f"within={within} needs a reference value")
        if within is None and at_least is None and at_most is None:
            raise ValueError(f"{key}: give at_least, at_most, or reference with within; "
                             "a figure without a bound goes into Results.note")
        passed = _passes(value, reference, within, at_least, at_most)
        row = self._add(Row(key, quantity, value, unit, reference, within, at_least, at_most, source,
                            fmt, True, passed, _float("tolerance", tolerance)))
        line = f"{row.mark()} {quantity}: {row.value_text()} (reference {row.reference_text()})"
        if not passed and strict():
            raise AssertionError(line)
        if not passed:
            line += "; expected only if you changed the settings above"
        print(line)
        return passed

    def note(self, key: str, quantity: str, value, *, reference=None, unit: str = "", source: str = "",
             fmt: str = ".4g") -> None:
        """Record a figure that has no pass/fail (a baseline, a count) in the table and the record."""
        self._add(Row(key, quantity, _float("value", value), unit, _float("reference", reference),
                      source=source, fmt=fmt, checked=False))

    def __getitem__(self, index):
        if isinstance(index, str):
            return next(row for row in self if row.key == index)
        return super().__getitem__(index)

    def show(self) -> None:
        """Display the rows as a Markdown table and write the record (where there is a repository)."""
        from IPython.display import Markdown, display

        display(Markdown(table(self)))
        folder = results_dir()
        if folder is not None:
            write(folder / f"{self.notebook}.json", self.notebook, list(self))


def table(rows) -> str:
    """A GitHub-flavoured Markdown table of rows: quantity, measured, reference, ✓/✗."""
    lines = ["| quantity | measured here | reference | |", "| --- | --- | --- | --- |"]
    cells = ((r.quantity, r.value_text(), r.reference_text(), r.mark()) for r in rows)
    # An escaped bar keeps a quantity such as |m| in its own cell.
    lines += ["| " + " | ".join(c.replace("|", "\\|") for c in row) + " |" for row in cells]
    return "\n".join(lines)


def _versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError, version

    out = {"python": platform.python_version()}
    for name in ("jax", "flax", "optax", "numpy"):
        try:
            out[name] = version(name)
        except PackageNotFoundError:
            pass
    return out


def write(path: Path, notebook: str, rows: list[Row]) -> None:
    """Write a notebook's record as JSON, one row a line (fields left at None omitted), atomically."""
    head = json.dumps({"notebook": notebook, "versions": _versions()}, ensure_ascii=False)[:-1]
    lines = [json.dumps({k: v for k, v in dataclasses.asdict(r).items() if v is not None}, ensure_ascii=False)
             for r in rows]
    with cache.atomic_file(Path(path)) as tmp:
        tmp.write_text(head + ', "rows": [\n ' + ",\n ".join(lines) + "\n]}\n", encoding="utf-8")
        tmp.chmod(0o644)  # a record is for everyone to read (the temporary file starts private)


def _parse(text: str) -> list[Row]:
    return [Row(**row) for row in json.loads(text)["rows"]]


def load(notebook: str) -> dict[str, Row]:
    """The record of ``notebook`` (file name without .ipynb), by key; raises FileNotFoundError
    naming the file when there is none (the notebook has not been run in this repository)."""
    folder = results_dir()
    path = (folder or _REPO / "results") / f"{notebook}.json"
    if not path.exists():
        raise FileNotFoundError(f"no record {path}: run notebooks/{notebook}.ipynb in the repository "
                                "(or `make notebooks`) to write it")
    return {row.key: row for row in _parse(path.read_text(encoding="utf-8"))}


def cite(notebook: str, key: str) -> str:
    """Another notebook's recorded figure as its table prints it (value and unit), read from its
    record; ``"see notebook NN"`` where no record is at hand (an installed package on Colab)."""
    try:
        return load(notebook)[key].value_text()
    except FileNotFoundError:
        return f"see notebook {notebook[:2]}"
    except KeyError:
        raise KeyError(f"key={key!r}: notebook {notebook} records no such figure") from None


def all_records(folder: Path) -> dict[str, list[Row]]:
    """Every record in ``folder``, by notebook, in file-name order."""
    return {p.stem: _parse(p.read_text(encoding="utf-8")) for p in sorted(Path(folder).glob("*.json"))}


def page(records: dict[str, list[Row]]) -> str:
    """The Markdown page of every recorded figure (the website's 'what this course reproduces')."""
    checked = sum(r.checked for rows in records.values() for r in rows)
    passed = sum(bool(r.passed) for rows in records.values() for r in rows)
    out = ["# What this course reproduces", "",
           "Every figure that a notebook checks against an exact result or a published number, as recorded "
           "by the notebook's last run (`results/<notebook>.json`, rewritten whenever the notebook runs). "
           f"{passed} of {checked} checked figures are within their reference. "
           "`make results` prints this table; `make results SINCE=<git revision>` lists the figures that "
           "moved since that revision.", ""]
    for notebook, rows in records.items():
        out += [f"## [{notebook.replace('_', ' ')}](../notebooks/{notebook}.ipynb)", "", table(rows), ""]
    return "\n".join(out)


def moved(old: list[Row], new: list[Row]) -> list[str]:
    """Lines naming each figure whose value moved beyond its tolerance (default 5 % of the larger
    magnitude), whose check changed verdict, or that appeared or disappeared."""
    before, after = {r.key: r for r in old}, {r.key: r for r in new}
    lines = []
    for key in before.keys() | after.keys():
        a, b = before.get(key), after.get(key)
        if a is None or b is None:
            lines.append(f"{(a or b).quantity}: {'added' if a is None else 'removed'}")
            continue
        tolerance = b.tolerance if b.tolerance is not None else 0.05 * max(abs(a.value), abs(b.value))
        changed_verdict = a.checked and b.checked and a.passed != b.passed
        if changed_verdict or (abs(b.value - a.value) > tolerance and max(abs(a.value), abs(b.value)) > 1e-8):
            lines.append(f"{b.quantity}: {a.value_text()} {a.mark()} -> {b.value_text()} {b.mark()}")
    return sorted(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m helpers.results", description=__doc__.split("\n\n")[0])
    parser.add_argument("--since", metavar="REV", help="list the figures that moved since this git revision")
    parser.add_argument("--page", metavar="FILE", help="write the website's page of every figure to FILE")
    args = parser.parse_args(argv)
    folder = results_dir() or _REPO / "results"
    records = all_records(folder)
    if args.page:
        with cache.atomic_file(Path(args.page)) as tmp:
            tmp.write_text(page(records) + "\n", encoding="utf-8")
        return 0
    if args.since is None:
        print(page(records))
        return 0
    failures = 0
    for name, rows in records.items():
        rel = (folder / f"{name}.json").resolve().relative_to(_REPO)
        shown = subprocess.run(["git", "-C", str(_REPO), "show", f"{args.since}:{rel}"],
                               capture_output=True, text=True)
        if shown.returncode != 0:
            print(f"{name}: no record at {args.since}")
            continue
        for line in moved(_parse(shown.stdout), rows):
            failures += 1
            print(f"{name}: {line}")
    print(f"{failures} figure(s) moved since {args.since}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
