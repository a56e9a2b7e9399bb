"""JupyterLab for real: a server on 127.0.0.1 driven by Debian's Chromium through Playwright.

1. Open ``tests/browser_smoke.ipynb``, run all cells from the Run menu, wait for every prompt to
   show an execution count and the figure to render, check there is no error output and save a
   screenshot.
2. Open each notebook in ``notebooks/``: it renders with its committed figures and its kernel
   starts.
The server is started with ``make lab``, as the README tells a student to, and stopped by its own
process group at the end.
"""

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from conftest import REPO, require

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]
pytestmark = pytest.mark.browser


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} not found (apt-get install chromium)")
    require(shutil.which("jupyter", path=str(Path(sys.executable).parent)) is not None, "jupyter missing")
    port, token = free_port(), secrets.token_hex(16)
    # Serve a copy, so the server's autosave never rewrites a committed notebook.
    root = tmp_path_factory.mktemp("lab")
    for folder in ("tests", "notebooks"):
        (root / folder).mkdir()
        for notebook in (REPO / folder).glob("*.ipynb"):
            shutil.copy(notebook, root / folder / notebook.name)
    log = root / "server.log"
    # Start the server exactly as a student does, with `make lab` (which adds --allow-root when run
    # as root, as on CI machines and in containers), plus what a headless test needs.
    require((REPO / ".venv" / ".runtime").exists(), "the virtual environment of `make lab` is missing")
    extra = [
        "--no-browser", "--ip=127.0.0.1", f"--port={port}", f"--IdentityProvider.token={token}",
        "--LabApp.news_url=None", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate",
    ]
    command = ["make", "-C", str(REPO), "--no-print-directory", "lab", f"LAB_DIR={root}",
               f"LAB_ARGS={' '.join(extra)}"]
    with open(log, "w") as out:
        server = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.time() + 60
        while True:
            try:
                urllib.request.urlopen(f"{base}/api/status?token={token}", timeout=2)
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail(f"jupyter lab did not start:\n{log.read_text()[-3000:]}")
                time.sleep(0.5)
        yield {"base": base, "token": token}
    finally:
        stop_group(server)


def stop_group(server: subprocess.Popen) -> None:
    """Stop the server and the kernels it started (its process group) by the server's PID."""
    if server.poll() is None:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
            server.wait()


@pytest.fixture(scope="module")
def browser(lab):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def open_notebook(browser, lab, path: str):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    page.goto(f"{lab['base']}/lab/tree/{path}?token={lab['token']}&reset")
    page.wait_for_selector(".jp-NotebookPanel .jp-Cell", timeout=90_000)
    return page


def kernel_state(lab, path: str) -> str | None:
    url = f"{lab['base']}/api/sessions?token={lab['token']}"
    sessions = json.load(urllib.request.urlopen(url, timeout=10))
    states = [s["kernel"]["execution_state"] for s in sessions if s["path"] == path and s.get("kernel")]
    return states[0] if states else None


def wait_for_kernel_idle(lab, path: str, timeout: float = 120) -> None:
    deadline = time.time() + timeout
    while kernel_state(lab, path) != "idle":
        assert time.time() < deadline, f"kernel for {path} never became idle: {kernel_state(lab, path)}"
        time.sleep(0.5)


def test_run_all_cells_from_the_run_menu(browser, lab, tmp_path):
    path = "tests/browser_smoke.ipynb"
    page = open_notebook(browser, lab, path)
    wait_for_kernel_idle(lab, path)
    page.locator(".lm-MenuBar-itemLabel", has_text="Run").first.click()
    page.locator(".lm-Menu-itemLabel", has_text="Run All Cells").first.click()
    n_code = sum(c["cell_type"] == "code" for c in json.loads((REPO / path).read_text())["cells"])
    prompts = page.locator(".jp-CodeCell .jp-InputArea-prompt")
    # every prompt shows "[n]:" with a number, i.e. the cell ran (not "[ ]:" or "[*]:")
    page.wait_for_function(
        """n => {
            const p = [...document.querySelectorAll('.jp-CodeCell .jp-InputArea-prompt')];
            return p.length === n && p.every(e => /\\[\\d+\\]/.test(e.textContent));
        }""",
        arg=n_code, timeout=180_000,
    )
    assert prompts.count() == n_code
    figure = page.locator(".jp-OutputArea-output img")
    figure.first.wait_for(state="visible", timeout=60_000)
    assert figure.first.evaluate("img => img.complete && img.naturalWidth > 100")
    errors = page.locator('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]')
    assert errors.count() == 0, errors.all_inner_texts()
    assert "first labels: [7, 2, 1, 0, 4, 1, 4, 9]" in page.locator(".jp-OutputArea").all_inner_texts()[1]
    shot = tmp_path / "browser_smoke.png"
    page.screenshot(path=str(shot), full_page=True)
    assert shot.stat().st_size > 10_000
    page.close()


def committed_images(path: Path) -> int:
    cells = json.loads(path.read_text())["cells"]
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


NOTEBOOKS = sorted(p.relative_to(REPO).as_posix() for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.mark.parametrize("path", NOTEBOOKS)
def test_notebook_renders_with_figures_and_kernel_starts(browser, lab, path):
    expected = committed_images(REPO / path)
    assert expected > 0, f"{path} has no committed figures: run `make notebooks`"
    page = open_notebook(browser, lab, path)
    page.wait_for_function(
        "n => document.querySelectorAll('.jp-OutputArea-output img').length >= n",
        arg=expected, timeout=60_000,
    )
    wait_for_kernel_idle(lab, path)
    page.close()
