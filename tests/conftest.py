"""Shared test settings.

Notebooks run as tests: every quality check that fails raises (``ADVML_STRICT=1``, below).
Under CI (``CI=true``) a missing browser or missing data is a failure, never a skip: CI must
prove the whole product works.  On a developer machine those tests skip with a clear reason.
"""

import os
from pathlib import Path

import pytest

from helpers import results
from helpers.data import datasets

# The test configuration's one switch: a notebook's failed quality check (helpers.results) raises
# here, so nbval fails when learning breaks; a student's run prints ✗ and goes on.  nbval's kernels
# inherit this environment.
os.environ[results.STRICT_ENV] = "1"

ON_CI = os.environ.get("CI", "").lower() == "true"
REPO = Path(__file__).resolve().parent.parent


def require(condition: bool, reason: str) -> None:
    """Skip when ``condition`` is false, except under CI where it fails."""
    if condition:
        return
    if ON_CI:
        pytest.fail(f"required under CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(scope="session")
def mnist_available() -> None:
    folder = datasets.data_dir() / "mnist"
    names = datasets.MNIST.sha256
    require(
        all((folder / n).exists() for n in names),
        f"MNIST files not in {folder}; set ADVML_DATA_DIR (e.g. ../shared/data)",
    )


@pytest.fixture(scope="session")
def fashion_available() -> None:
    folder = datasets.data_dir() / "fashion-mnist"
    require(
        all((folder / n).exists() for n in datasets.FASHION_MNIST.sha256),
        f"Fashion-MNIST files not in {folder}; set ADVML_DATA_DIR",
    )


def _notebook_seconds(path: Path) -> float:
    """The run time a notebook printed in its committed outputs ("total run time N s"), else 0."""
    import json
    import re

    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return 0.0
    text = "".join("".join(o.get("text", "")) for c in cells for o in c.get("outputs", []))
    found = re.findall(r"total run time (\d+) s", text)
    return float(found[-1]) if found else 0.0


def pytest_collection_modifyitems(session, config, items):
    """Longest notebooks first, so the two workers (`--dist loadfile`, one file each) finish together
    rather than one waiting on a long notebook started last.  The sort is stable: a notebook's cells
    stay together and in order."""
    seconds = {}
    for item in items:
        path = Path(str(item.fspath))
        if path.suffix == ".ipynb" and path not in seconds:
            seconds[path] = _notebook_seconds(path)
    items.sort(key=lambda item: -seconds.get(Path(str(item.fspath)), 0.0))
