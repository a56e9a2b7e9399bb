"""Sphinx configuration of the course website (`make site`).

The pages are the committed, executed notebooks rendered by MyST-NB without running them; the
Makefile copies them beside this file into ``build/site-src`` so each page's path matches the
notebook's path in the repository, which the Colab, Binder and download buttons use.
"""

project = "Advanced machine learning for the physical sciences, in JAX"
author = "The advml-jax companion authors"
copyright = (
    "2026, the advml-jax companion authors (code: MIT); lecture notes © 1999-2024 Morten Hjorth-Jensen"
)

extensions = [
    "myst_nb",
    "sphinx-mathjax-offline",  # MathJax 3 is copied into the site: no CDN needed
    "sphinx_copybutton",  # a copy button on every code cell
]
copybutton_exclude = ".linenos, .gp, .go"  # copy the code, not prompts or outputs
nb_execution_mode = "off"  # render the committed outputs; CI has already executed every notebook
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs render with tables and typeset math (show() docstrings)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]  # the progress-bar widgets have no static rendering

html_theme = "sphinx_book_theme"
html_title = "AdvML for the physical sciences, in JAX"
html_context = {"default_mode": "auto"}  # a first visit's colour mode (none gives a console error)
html_favicon = "_static/favicon.svg"
html_static_path = ["_static"]
html_css_files = ["custom.css"]  # long code lines wrap; wide equations and tables scroll in their box
html_js_files = ["site.js"]  # the drawers open from the visible buttons; figures open full size
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": "https://github.com/advml-jax/advml-jax",
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "use_edit_page_button": True,
    "use_issues_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
}


BADGES = {  # the notebooks' badge images, served from the site itself: a page fetches nothing from outside
    "https://colab.research.google.com/assets/colab-badge.svg": "../_static/colab-badge.svg",
    "https://mybinder.org/badge_logo.svg": "../_static/binder-badge.svg",
}


def _prepare_notebook(app, docname, source):
    """Adapt a notebook for its page before MyST-NB parses it: each figure's description becomes its
    ``alt`` text (the notebooks store it in the image's output metadata, :func:`helpers.notebook.figure`;
    MyST-NB reads it from the cell's ``mystnb.image`` options); badge images come from ``_static``; the
    widget state of progress bars is dropped (it would make the page fetch require.js from a CDN)."""
    import json

    if not docname.startswith("notebooks/"):
        return
    nb = json.loads(source[0])
    nb.get("metadata", {}).pop("widgets", None)
    for cell in nb["cells"]:
        if cell["cell_type"] == "markdown":
            text = "".join(cell["source"])
            for remote, local in BADGES.items():
                text = text.replace(remote, local)
            cell["source"] = text
            continue
        cell["outputs"] = [o for o in cell.get("outputs", [])
                           if "application/vnd.jupyter.widget-view+json" not in o.get("data", {})]
        alts = [o.get("metadata", {}).get("image/png", {}).get("alt") for o in cell.get("outputs", [])]
        alts = [alt for alt in alts if alt]
        if alts:
            cell["metadata"].setdefault("mystnb", {}).setdefault("image", {})["alt"] = " ".join(alts)
    source[0] = json.dumps(nb)


def setup(app):
    app.connect("source-read", _prepare_notebook)
