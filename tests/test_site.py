"""The course website: `make site` builds it from the committed notebooks with no warning, and
headless Chromium finds the equations typeset by the bundled MathJax (no raw TeX left), every figure
loaded, the Colab, Binder and download buttons on each chapter, and every chapter in the navigation.
The pages are served from 127.0.0.1, so nothing is fetched from the network.
"""

import functools
import http.server
import json
import os
import subprocess
import threading

import pytest
from conftest import REPO, require
from test_browser import CHROMIUM, CHROMIUM_ARGS

pytestmark = pytest.mark.browser
SITE = REPO / "site"
NOTEBOOKS = sorted(p.stem for p in (REPO / "notebooks").glob("*.ipynb"))


@pytest.fixture(scope="module")
def site():
    build = subprocess.run(["make", "-C", str(REPO), "--no-print-directory", "site"], capture_output=True,
                           text=True)
    log = build.stdout + build.stderr
    assert build.returncode == 0, log[-5000:]
    assert "WARNING" not in log and "ERROR" not in log, log[-5000:]
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(SITE))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()


@pytest.fixture(scope="module")
def browser(site):
    require(os.path.exists(CHROMIUM), f"{CHROMIUM} not found (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        chromium = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


def test_every_chapter_is_built_and_reached_from_the_navigation(browser, site):
    assert {p.stem for p in (SITE / "notebooks").glob("*.html")} == set(NOTEBOOKS)
    assert (SITE / "results" / "README.html").exists(), "the page of every recorded figure is missing"
    page = browser.new_page()
    page.goto(f"{site}/index.html")
    links = page.eval_on_selector_all(".bd-sidebar a.reference.internal", "as => as.map(a => a.href)")
    reached = {link.rsplit("/", 1)[-1].split("#")[0].removesuffix(".html") for link in links}
    assert set(NOTEBOOKS) <= reached, f"not in the navigation: {set(NOTEBOOKS) - reached}"
    assert "Hjorth-Jensen" in page.inner_text("main") and "MIT" in page.inner_text("main")  # credits, licence
    page.close()


def committed_figures(stem: str) -> int:
    cells = json.loads((REPO / "notebooks" / f"{stem}.ipynb").read_text())["cells"]
    return sum("image/png" in o.get("data", {}) for c in cells for o in c.get("outputs", []))


@pytest.mark.parametrize("stem", [NOTEBOOKS[0], NOTEBOOKS[6]])
def test_a_chapter_has_typeset_equations_figures_and_buttons(browser, site, stem):
    page = browser.new_page(viewport={"width": 1400, "height": 1000})
    errors = []
    page.on("pageerror", lambda err: errors.append(str(err)))
    page.goto(f"{site}/notebooks/{stem}.html")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    n_math = page.locator("main mjx-container").count()
    assert n_math > 50, f"only {n_math} typeset equations"
    assert page.locator("main mjx-merror").count() == 0, "MathJax could not typeset an equation"
    # The prose only: code cells (and the source they show, with TeX in docstrings) are left out.
    text = page.evaluate("""() => { const m = document.querySelector('main').cloneNode(true);
        m.querySelectorAll('.cell, pre, code, mjx-container').forEach(e => e.remove());
        return m.textContent; }""")
    for raw in ("$$", "\\begin{", "\\frac", "\\mathbf"):
        assert raw not in text, f"untypeset TeX {raw!r} left in the page"
    page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    figures = page.eval_on_selector_all(
        "main .cell_output img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    assert len(figures) == committed_figures(stem)
    alts = page.eval_on_selector_all("main .cell_output img", "imgs => imgs.map(i => i.getAttribute('alt'))")
    assert all(len((alt or "").split()) >= 5 and not alt.endswith(".png") for alt in alts), alts  # not a path
    assert page.locator("main .cell_output table").count() >= 1, "the summary table did not render as a table"
    assert all(complete and width > 0 for _, complete, width in figures), [f for f in figures if not f[2]]
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    assert any(f"colab.research.google.com/github/advml-jax/advml-jax/blob/main/notebooks/{stem}.ipynb" in h
               for h in hrefs)
    assert any(h.startswith("https://mybinder.org/v2/gh/advml-jax/advml-jax/") and stem in h for h in hrefs)
    assert any(h.endswith(f"_sources/notebooks/{stem}.ipynb") for h in hrefs)  # the download button
    assert errors == [], errors
    page.close()


def test_the_results_page_has_a_table_per_chapter(browser, site):
    page = browser.new_page()
    page.goto(f"{site}/results/README.html")
    assert page.locator("main table").count() == len(NOTEBOOKS)
    hrefs = page.eval_on_selector_all("main a", "as => as.map(a => a.href)")
    assert all(any(h.endswith(f"notebooks/{stem}.html") for h in hrefs) for stem in NOTEBOOKS), hrefs
    page.close()
