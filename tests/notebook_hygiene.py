"""Notebook hygiene for commits (a pre-commit hook; `make test` runs it on every notebook).

A committed notebook must be executed top to bottom (every code cell has an execution count, in
order, and no error output), stay small (the file and each output under a limit, so the repository
and the rendered pages stay light), and carry no stray metadata: the notebook keeps only its
kernel and language (no widget state: it would make the website fetch scripts from a CDN), a cell
only its tags (no timings, no scroll or collapse state, no editor- or Colab-specific keys).  Every
figure carries a description (``alt`` in its
``image/png`` output metadata, written by ``helpers.notebook.figure``) of at least a short sentence.
Usage: ``python tests/notebook_hygiene.py FILE.ipynb ...``;
prints one line per problem and exits 1 if there is any.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

MAX_NOTEBOOK_BYTES = 3_000_000
MAX_OUTPUT_BYTES = 1_000_000
MIN_ALT_WORDS = 5
NOTEBOOK_METADATA = {"kernelspec", "language_info"}  # no widget state: it makes pages fetch CDN scripts
CELL_METADATA = {"tags"}


def problems(path: Path) -> list[str]:
    """Every hygiene problem of one notebook, as ``path: what`` lines (empty when clean)."""
    raw = path.read_bytes()
    found = []
    if len(raw) > MAX_NOTEBOOK_BYTES:
        found.append(f"{len(raw) / 1e6:.1f} MB, more than {MAX_NOTEBOOK_BYTES / 1e6:.0f} MB")
    try:
        nb = json.loads(raw)
    except json.JSONDecodeError as err:
        return [f"{path}: not valid JSON ({err})"]
    if stray := set(nb.get("metadata", {})) - NOTEBOOK_METADATA:
        found.append(f"notebook metadata {sorted(stray)} (keep only {sorted(NOTEBOOK_METADATA)})")
    if nb.get("metadata", {}).get("kernelspec", {}).get("name") != "python3":
        found.append("kernelspec is not python3")
    count = 0
    for index, cell in enumerate(nb.get("cells", [])):
        if stray := set(cell.get("metadata", {})) - CELL_METADATA:
            found.append(f"cell {index}: metadata {sorted(stray)}")
        if cell["cell_type"] != "code":
            continue
        if cell.get("execution_count") is None:
            found.append(f"cell {index}: not executed (run the notebook top to bottom: make notebooks)")
        elif cell["execution_count"] <= count:
            found.append(f"cell {index}: execution count {cell['execution_count']} out of order")
        else:
            count = cell["execution_count"]
        for output in cell.get("outputs", []):
            if output.get("output_type") == "error":
                found.append(f"cell {index}: error output {output.get('ename')}")
            if "image/png" in output.get("data", {}):
                alt = output.get("metadata", {}).get("image/png", {}).get("alt", "")
                if len(alt.split()) < MIN_ALT_WORDS or alt.endswith(".png"):
                    found.append(f"cell {index}: a figure without a description "
                                 "(show it with helpers.notebook.figure(fig, alt=...))")
            size = len(json.dumps(output))
            if size > MAX_OUTPUT_BYTES:
                found.append(f"cell {index}: an output of {size / 1e6:.1f} MB "
                             f"(limit {MAX_OUTPUT_BYTES / 1e6:.0f} MB)")
    return [f"{path}: {p}" for p in found]


def main(paths: list[str]) -> int:
    lines = [line for p in paths for line in problems(Path(p))]
    print("\n".join(lines) if lines else f"{len(paths)} notebooks clean")
    return 1 if lines else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
