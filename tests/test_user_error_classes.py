"""Mistakes a user makes with gradcheck and plotting raise zeronlp's user-error classes.

DESIGN.md: bad input raises zeronlp's own user-error classes, and the CLI turns those, and
only those, into one line and exit 2. A missing optional package is
``errors.MissingDependencyError``.
"""

import sys

import numpy as np
import pytest

from zeronlp.cli import main
from zeronlp.errors import InputTypeError, MissingDependencyError
from zeronlp.gradcheck import gradcheck
from zeronlp.layers import Affine


def test_gradcheck_float32_parameters_are_a_user_error():
    layer = Affine(np.ones((3, 2), np.float32), np.zeros(2, np.float32))
    with pytest.raises(InputTypeError, match="float64 parameters"):
        gradcheck(layer, np.ones((1, 3)))


def test_gradcheck_float32_inputs_are_a_user_error():
    layer = Affine(np.ones((3, 2)), np.zeros(2))
    with pytest.raises(InputTypeError, match="float64 inputs"):
        gradcheck(layer, np.ones((1, 3), np.float32))


@pytest.fixture
def no_matplotlib(monkeypatch):
    """``import matplotlib`` fails, as on a machine without the plot extra."""
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)


def test_plot_without_matplotlib_says_how_to_get_it(no_matplotlib, tmp_path):
    from zeronlp import plot

    with pytest.raises(MissingDependencyError, match=r"zeronlp\[plot\]"):
        plot.plot_curve([1.0, 0.5], tmp_path / "loss.png")


def test_train_spiral_plot_without_matplotlib_is_one_line_and_exit_2(
    no_matplotlib, tmp_path, capsys
):
    png = tmp_path / "loss.png"
    assert main(["train", "spiral", "--epochs", "1", "--quiet", "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert "zeronlp[plot]" in err
    assert not png.exists()
