"""Shared test settings.

Under CI (``CI=true``) a missing browser or missing data is a failure, never a skip: CI must
prove the whole product works.  On a developer machine those tests skip with a clear reason.
"""

import os
from pathlib import Path

import pytest

from helpers import data

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
    folder = data.data_dir() / "mnist"
    names = data.MNIST.sha256
    require(
        all((folder / n).exists() for n in names),
        f"MNIST files not in {folder}; set ADVML_DATA_DIR (e.g. ../shared/data)",
    )


@pytest.fixture(scope="session")
def fashion_available() -> None:
    folder = data.data_dir() / "fashion-mnist"
    require(
        all((folder / n).exists() for n in data.FASHION_MNIST.sha256),
        f"Fashion-MNIST files not in {folder}; set ADVML_DATA_DIR",
    )
