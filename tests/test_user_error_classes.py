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
    png, run = tmp_path / "loss.png", tmp_path / "run"
    argv = ["train", "spiral", "--epochs", "1", "--plot", str(png), "--out", str(run)]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "Traceback" not in err
    assert err.strip().count("\n") == 0
    assert "zeronlp[plot]" in err
    assert not png.exists()
    assert not run.exists() and "spiral" not in out  # refused before training, not after


# ---------------------------------------------------------------- bad input to the API


def _transformer_cases():
    from zeronlp.attention.transformer import (
        FeedForward,
        LearnedPositionalEmbedding,
        MultiHeadAttention,
        PositionalEncoding,
        ScaledDotProductAttention,
        attention_mask,
    )
    from zeronlp.models import TransformerConfig, TransformerLM, TransformerSeq2seq
    from zeronlp.optimizers import SGD

    q, ids = np.ones((2, 3, 4)), np.ones((2, 3), int)
    W, b = np.ones((4, 4)), np.zeros(4)

    def mha(num_heads=2, Wo=W):
        return MultiHeadAttention(W, b, W, b, W, b, Wo, b, num_heads)

    lm = TransformerLM(7, 4, 2, 8, 1, max_len=5)
    s2s = TransformerSeq2seq(7, 4, 2, 8, 1, max_len=5)
    return {
        "key_padding_mask not bool": lambda: attention_mask(2, 3, 3, key_padding_mask=q[:, :, 0]),
        "key_padding_mask shape": lambda: attention_mask(2, 3, 3, key_padding_mask=q[:, :2, 0] > 0),
        "attention mask not bool": lambda: ScaledDotProductAttention().forward(q, q, q, mask=q),
        "attention mask shape": lambda: ScaledDotProductAttention().forward(
            q, q, q, mask=np.ones((5, 5), bool)
        ),
        "q, k, v ranks": lambda: ScaledDotProductAttention().forward(q, q[0], q),
        "q, k sizes": lambda: ScaledDotProductAttention().forward(q, np.ones((2, 3, 5)), q),
        "MultiHeadAttention heads": lambda: mha(num_heads=3),
        "MultiHeadAttention weights": lambda: mha(Wo=np.ones((4, 3))),
        "MultiHeadAttention input": lambda: mha().forward(np.ones((2, 3, 5))),
        "PositionalEncoding input": lambda: PositionalEncoding().forward(np.ones((3, 4))),
        "learned positions input": lambda: LearnedPositionalEmbedding(W).forward(q[:, :, :3]),
        "learned positions length": lambda: LearnedPositionalEmbedding(W).forward(
            np.ones((1, 5, 4))
        ),
        "FeedForward activation": lambda: FeedForward(W, b, W, b, activation="tanh"),
        "FeedForward weights": lambda: FeedForward(W, b, W[:3], b),
        "config heads": lambda: TransformerConfig(7, 6, 4),
        "config layers": lambda: TransformerConfig(7, 4, 2, num_layers=0),
        "config dropout": lambda: TransformerConfig(7, 4, 2, dropout_ratio=1.0),
        "config positions": lambda: TransformerConfig(7, 4, 2, positions="rope"),
        "TransformerLM ids": lambda: lm.forward(np.ones(3, int), np.ones(3, int)),
        "TransformerSeq2seq answers": lambda: s2s.forward(ids[:, :3], ids[:, :1]),
        "optimizer params and grads": lambda: SGD(0.1).update([np.ones(2)], []),
        "optimizer grad shape": lambda: SGD(0.1).update([np.ones(2)], [np.ones(3)]),
    }


@pytest.mark.parametrize("case", list(_transformer_cases()))
def test_bad_input_to_transformer_layers_models_and_optimizers_is_a_user_error(case):
    """Each is a mistake in the caller's arguments: zeronlp's InputError (a ValueError) or
    InputTypeError (a TypeError), never a bare builtin error that reads as a bug."""
    from zeronlp.errors import UserError

    with pytest.raises(UserError):
        _transformer_cases()[case]()


def test_seq2seq_takes_answer_ids_as_a_list_like_the_question_ids():
    from zeronlp.models import Seq2seq, TransformerSeq2seq

    for model in (Seq2seq(7, 4, 5), TransformerSeq2seq(7, 4, 2, 8, 1, max_len=5)):
        xs, ts = [[1, 2, 3]], [[4, 5, 6]]
        assert np.isfinite(model.forward(xs, ts))


@pytest.mark.skipif(
    __import__("zeronlp").backend.gpu_available(), reason="checks the message without a GPU"
)
def test_gpu_option_without_a_gpu_is_one_line_and_exit_2(capsys, tmp_path):
    """--gpu on a machine without CuPy or a GPU is the user's setup, not a bug in zeronlp."""
    from zeronlp.errors import GPUUnavailableError

    assert issubclass(GPUUnavailableError, RuntimeError)  # the book's code catches RuntimeError
    code = main(["train", "spiral", "--epochs", "1", "--gpu", "--out", str(tmp_path / "run")])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert len(err) == 1 and "CuPy and a CUDA GPU" in err[0], err
    assert not (tmp_path / "run").exists()
