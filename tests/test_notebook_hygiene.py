"""The notebook-hygiene hook finds each kind of problem, and passes a clean notebook."""

import json

from notebook_hygiene import MAX_OUTPUT_BYTES, main, problems


def notebook(tmp_path, cells, metadata=None):
    nb = {"cells": cells, "metadata": metadata or {"kernelspec": {"name": "python3"}}, "nbformat": 4,
          "nbformat_minor": 5}
    path = tmp_path / "n.ipynb"
    path.write_text(json.dumps(nb))
    return path


def code(count, outputs=(), metadata=None):
    return {"cell_type": "code", "execution_count": count, "metadata": metadata or {},
            "outputs": list(outputs), "source": "1"}


def test_clean_notebook_passes(tmp_path, capsys):
    path = notebook(tmp_path, [{"cell_type": "markdown", "metadata": {}, "source": "# t"}, code(1), code(2)])
    assert problems(path) == []
    assert main([str(path)]) == 0 and "1 notebooks clean" in capsys.readouterr().out


def test_each_problem_is_reported(tmp_path):
    big = {"output_type": "stream", "name": "stdout", "text": "x" * (MAX_OUTPUT_BYTES + 1)}
    error = {"output_type": "error", "ename": "ValueError", "evalue": "", "traceback": []}
    cells = [code(None), code(2, metadata={"execution": {"t": 1}, "scrolled": True}), code(1, [error]),
             code(3, [big])]
    path = notebook(tmp_path, cells, {"kernelspec": {"name": "julia"}, "colab": {}})
    found = "\n".join(problems(path))
    for what in ("not executed", "metadata ['execution', 'scrolled']", "out of order",
                 "error output ValueError", "an output of", "notebook metadata ['colab']",
                 "kernelspec is not python3"):
        assert what in found, what
    assert main([str(path)]) == 1


def test_a_figure_needs_a_description(tmp_path):
    png = {"output_type": "display_data", "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
           "metadata": {}}
    described = {**png, "metadata": {"image/png": {"alt": "Loss falls with the epochs for both models."}}}
    short = {**png, "metadata": {"image/png": {"alt": "Figure 3"}}}
    found = problems(notebook(tmp_path, [code(1, [png]), code(2, [described]), code(3, [short])]))
    assert [line.split(": ")[1] for line in found] == ["cell 0", "cell 2"], found
