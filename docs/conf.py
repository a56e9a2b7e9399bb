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

extensions = ["myst_nb", "sphinx-mathjax-offline"]  # MathJax 3 is copied into the site: no CDN needed
nb_execution_mode = "off"  # render the committed outputs; CI has already executed every notebook
nb_merge_streams = True
nb_render_markdown_format = "myst"  # Markdown outputs render with tables and typeset math (show() docstrings)
myst_enable_extensions = ["dollarmath", "amsmath"]
myst_heading_anchors = 3
exclude_patterns = ["_build", "**.ipynb_checkpoints"]
suppress_warnings = ["mystnb.unknown_mime_type"]  # the progress-bar widgets have no static rendering

html_theme = "sphinx_book_theme"
html_title = "AdvML for the physical sciences, in JAX"
html_last_updated_fmt = None
html_theme_options = {
    "repository_url": "https://github.com/advml-jax/advml-jax",
    "repository_branch": "main",
    "path_to_docs": "",
    "use_repository_button": True,
    "use_download_button": True,
    "launch_buttons": {
        "colab_url": "https://colab.research.google.com",
        "binderhub_url": "https://mybinder.org",
        "notebook_interface": "jupyterlab",
    },
    "show_toc_level": 2,
}


def _figure_descriptions(app, docname, source):
    """Give each figure its description as the page's ``alt`` text: the notebooks store it in the
    image's output metadata (``helpers.notebook.figure``), MyST-NB reads it from the cell's
    ``mystnb.image`` options, so copy it there before the notebook is parsed."""
    import json

    if not docname.startswith("notebooks/"):
        return
    nb = json.loads(source[0])
    for cell in nb["cells"]:
        alts = [o.get("metadata", {}).get("image/png", {}).get("alt") for o in cell.get("outputs", [])]
        alts = [alt for alt in alts if alt]
        if alts:
            cell["metadata"].setdefault("mystnb", {}).setdefault("image", {})["alt"] = " ".join(alts)
    source[0] = json.dumps(nb)


def setup(app):
    app.connect("source-read", _figure_descriptions)
