"""The helpers' layout reads like the course: topic subpackages whose imports flow one way.

core <- networks, data <- analysis <- physics, generative <- the notebook plumbing (notebook,
results, checks).  A module imports only from its own subpackage or from a lower floor (physics and
generative stand side by side and do not import each other), no two modules import each other in a
loop, and no module passes 350 lines.
"""

import ast
from pathlib import Path

import pytest
from conftest import REPO

HELPERS = REPO / "helpers"
FLOOR = {"core": 0, "networks": 1, "data": 1, "analysis": 2, "physics": 3, "generative": 3, "plumbing": 4}
PLUMBING = {"notebook", "results", "checks"}  # the notebook plumbing and the self-checking exercises
MODULES = sorted(p for p in HELPERS.rglob("*.py") if p.name != "__init__.py")


def package(path: Path) -> str:
    first = path.relative_to(HELPERS).with_suffix("").parts[0]
    return "plumbing" if first in PLUMBING else first


def name(path: Path) -> str:
    return "helpers." + ".".join(path.relative_to(HELPERS).with_suffix("").parts)


def imports(path: Path) -> set[str]:
    """Every helpers module ``path`` imports, at any depth of the file (lazy imports count)."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.startswith("helpers"):
            for alias in node.names:
                candidate = f"{node.module}.{alias.name}"
                known = {name(p) for p in MODULES}
                found.add(candidate if candidate in known else node.module)
        elif isinstance(node, ast.Import):
            found.update(a.name for a in node.names if a.name.startswith("helpers"))
    return found


def test_every_module_lives_in_a_known_subpackage():
    assert {package(p) for p in MODULES} <= set(FLOOR)
    top = ("__init__.py", "notebook.py", "results.py")
    flat = [p.name for p in HELPERS.glob("*.py") if p.name not in top]
    assert flat == []


@pytest.mark.parametrize("path", MODULES, ids=lambda p: name(p))
def test_imports_flow_one_way(path):
    own = package(path)
    for target in imports(path):
        other = target.split(".")[1]
        other = "plumbing" if other in PLUMBING else other
        if other == own:
            continue
        assert FLOOR[other] < FLOOR[own], f"{name(path)} imports {target}: {other} is not below {own}"


def test_no_import_cycle():
    graph = {name(p): {t for t in imports(p) if t != name(p)} for p in MODULES}
    state: dict[str, int] = {}

    def visit(node, trail):
        if state.get(node) == 1:
            raise AssertionError("import cycle: " + " -> ".join(trail + [node]))
        if state.get(node) == 2 or node not in graph:
            return
        state[node] = 1
        for nxt in graph[node]:
            visit(nxt, trail + [node])
        state[node] = 2

    for node in graph:
        visit(node, [])


@pytest.mark.parametrize("path", MODULES, ids=lambda p: name(p))
def test_modules_stay_small(path):
    assert len(path.read_text().splitlines()) <= 350, f"{name(path)} has more than 350 lines"
