"""The course website: `make site` builds it from the committed notebooks with no warning, and
headless Chromium reads every chapter as a reader would, on a desktop (1280 px) and a phone (390 px):
equations typeset by the bundled MathJax (no raw TeX left), every figure loaded and described, the
summary table a table, the Colab, Binder, download, edit and issue buttons, copy buttons on code,
nothing wider than the column (long code lines wrap; only a display equation may scroll inside its
own box), no sideways scrolling on a phone, the navigation drawer opening from the visible button,
no console error, and no request leaving 127.0.0.1 (the pages are served from there).
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


def _watch(page, site):
    """Collect the page's errors (script errors, console errors) and requests that leave the site."""
    seen = {"errors": [], "outside": []}
    page.on("pageerror", lambda err: seen["errors"].append(str(err)))
    page.on("console", lambda m: seen["errors"].append(m.text) if m.type == "error" else None)
    local = (site, "data:", "blob:")
    page.on("request", lambda r: None if r.url.startswith(local) else seen["outside"].append(r.url))
    return seen


def _open_chapter(browser, site, stem, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    seen = _watch(page, site)
    page.goto(f"{site}/notebooks/{stem}.html")
    page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                           timeout=30_000)
    page.evaluate("() => MathJax.startup.promise")
    page.evaluate("() => Promise.all([...document.images].map(i => i.decode().catch(() => null)))")
    return page, seen


# Elements of the article wider than its column, leaving out what sits inside a box that scrolls or
# clips on its own (a display equation); only the outermost offender of each nest is listed.
OVERFLOW = """() => { const col = document.querySelector('article.bd-article');
  const right = col.getBoundingClientRect().right;
  const wide = e => { const r = e.getBoundingClientRect();
    return r.width > 0 && r.right > right + 1 && getComputedStyle(e).visibility !== 'hidden'; };
  const boxed = p => ['auto', 'scroll', 'hidden'].includes(getComputedStyle(p).overflowX)
    && p.getBoundingClientRect().right <= right + 1;
  const out = [];
  for (const e of col.querySelectorAll('*')) {
    if (!wide(e)) continue;
    let p = e.parentElement, inside = false;
    for (; p && p !== col; p = p.parentElement) if (boxed(p) || wide(p)) { inside = true; break; }
    const text = (e.textContent || '').slice(0, 40);
    if (!inside) out.push(`${e.tagName.toLowerCase()}.${e.className} (${text})`);
  }
  return out; }"""


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_a_chapter_reads_well_on_a_desktop(browser, site, stem):
    page, seen = _open_chapter(browser, site, stem, 1280)
    n_math = page.locator("main mjx-container").count()
    assert n_math > 20, f"only {n_math} typeset equations"
    assert page.locator("main mjx-merror").count() == 0, "MathJax could not typeset an equation"
    # The prose only: code cells (and the source they show) are left out.
    text = page.evaluate("""() => { const m = document.querySelector('main').cloneNode(true);
        m.querySelectorAll('.cell_input, pre, code, mjx-container').forEach(e => e.remove());
        return m.textContent; }""")
    for raw in ("$$", "\\begin{", "\\frac", "\\mathbf", ":math:`", ":func:`"):
        assert raw not in text, f"untypeset TeX or reST {raw!r} left in the page"
    figures = page.eval_on_selector_all(
        "main .cell_output img", "imgs => imgs.map(i => [i.getAttribute('src'), i.complete, i.naturalWidth])")
    assert len(figures) == committed_figures(stem)
    assert all(complete and width > 0 for _, complete, width in figures), [f for f in figures if not f[2]]
    alts = page.eval_on_selector_all("main .cell_output img", "imgs => imgs.map(i => i.getAttribute('alt'))")
    assert all(len((alt or "").split()) >= 5 and not alt.endswith(".png") for alt in alts), alts  # not a path
    full_size = page.eval_on_selector_all("main .cell_output img", "imgs => imgs.map(i => !!i.closest('a'))")
    assert all(full_size), "a figure does not open full size on click"
    assert page.locator("main .cell_output table").count() >= 1, "the summary table did not render as a table"
    assert page.locator("main .cell_input button.copybtn").count() >= 1, "no copy button on the code cells"
    assert page.evaluate(OVERFLOW) == [], "wider than the column at 1280 px"
    scrolling = page.eval_on_selector_all(
        "article pre", "ps => ps.filter(p => p.scrollWidth > p.clientWidth + 1).length")
    assert scrolling == 0, f"{scrolling} code blocks scroll sideways"
    hrefs = page.eval_on_selector_all("a", "as => as.map(a => a.href)")
    assert any(f"colab.research.google.com/github/advml-jax/advml-jax/blob/main/notebooks/{stem}.ipynb" in h
               for h in hrefs)
    assert any(h.startswith("https://mybinder.org/v2/gh/advml-jax/advml-jax/") and stem in h for h in hrefs)
    assert any(h.endswith(f"_sources/notebooks/{stem}.ipynb") for h in hrefs)  # the download button
    assert any("advml-jax/advml-jax/edit/main/" in h and stem in h for h in hrefs)  # edit this page
    assert any("github.com/advml-jax/advml-jax/issues/new" in h for h in hrefs)  # open an issue
    assert page.evaluate("() => !!document.querySelector('link[rel~=icon]')"), "no favicon"
    assert seen["errors"] == [], seen["errors"]
    assert seen["outside"] == [], f"requests leaving the site: {seen['outside']}"
    page.close()


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_a_chapter_reads_well_on_a_phone(browser, site, stem):
    page, seen = _open_chapter(browser, site, stem, 390)
    sideways = page.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert sideways <= 0, f"the page scrolls {sideways} px sideways at 390 px: {page.evaluate(OVERFLOW)}"
    assert page.evaluate(OVERFLOW) == [], "wider than the column at 390 px"
    drawer = "() => !!document.querySelector('#pst-primary-sidebar-modal')?.open"
    assert not page.evaluate(drawer)
    page.locator(".primary-toggle:visible").first.click()
    page.wait_for_function(drawer, timeout=5_000)  # the visible menu button opens the navigation drawer
    chapters = page.eval_on_selector_all(
        "#pst-primary-sidebar-modal a.reference.internal",
        "as => as.filter(a => a.getBoundingClientRect().width > 0).map(a => a.href)")
    assert len(chapters) >= len(NOTEBOOKS), chapters
    assert seen["errors"] == [], seen["errors"]
    assert seen["outside"] == [], f"requests leaving the site: {seen['outside']}"
    page.close()


@pytest.mark.parametrize("stem", NOTEBOOKS)
def test_setup_and_bookkeeping_cells_are_folded_and_no_widget_state_is_kept(stem):
    nb = json.loads((REPO / "notebooks" / f"{stem}.ipynb").read_text())
    code = [c for c in nb["cells"] if c["cell_type"] == "code"]
    assert "hide-input" in code[0]["metadata"].get("tags", []), "the setup cell is not folded on the site"
    assert "".join(code[-1]["source"]).startswith("finish(START)")
    assert "hide-cell" in code[-1]["metadata"].get("tags", []), "the run-time report is not folded"
    assert "widgets" not in nb["metadata"], "widget state makes the page fetch scripts from a CDN"


def test_the_notebooks_download_as_one_zip(site):
    import io
    import urllib.request
    import zipfile

    html = (SITE / "index.html").read_text()
    href = html.split('notebooks.zip"')[0].rsplit('href="', 1)[1] + "notebooks.zip"
    with urllib.request.urlopen(f"{site}/{href}") as response:
        names = zipfile.ZipFile(io.BytesIO(response.read())).namelist()
    assert sorted(names) == [f"advml-jax-notebooks/{stem}.ipynb" for stem in NOTEBOOKS]


def test_the_results_page_has_a_table_per_chapter(browser, site):
    page = browser.new_page()
    page.goto(f"{site}/results/README.html")
    assert page.locator("main table").count() == len(NOTEBOOKS)
    hrefs = page.eval_on_selector_all("main a", "as => as.map(a => a.href)")
    assert all(any(h.endswith(f"notebooks/{stem}.html") for h in hrefs) for stem in NOTEBOOKS), hrefs
    page.close()
