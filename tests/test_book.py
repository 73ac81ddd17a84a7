"""The book's module tree (zeronlp.book): names, star imports, config.GPU, install(), and
chapters 1-4 written as the book writes them, through the compatibility layer."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

from zeronlp import backend
from zeronlp.book.common import layers as book_layers
from zeronlp.book.common.layers import Affine, Dropout, MatMul, Sigmoid, SoftmaxWithLoss
from zeronlp.book.common.optimizer import SGD
from zeronlp.book.common.trainer import Trainer
from zeronlp.book.common.util import (
    analogy,
    convert_one_hot,
    create_co_matrix,
    create_contexts_target,
    most_similar,
    normalize,
    ppmi,
    preprocess,
)
from zeronlp.book.dataset import spiral

# The public names of the book's modules (what `from common.X import *` brings there).
LAYER_NAMES = {"MatMul", "Affine", "Softmax", "SoftmaxWithLoss", "Sigmoid", "SigmoidWithLoss"}
LAYER_NAMES |= {"Dropout", "Embedding", "np", "GPU", "softmax", "cross_entropy_error"}
TIME_NAMES = LAYER_NAMES | {"sigmoid", "RNN", "TimeRNN", "LSTM", "TimeLSTM", "TimeEmbedding"}
TIME_NAMES |= {"TimeAffine", "TimeSoftmaxWithLoss", "TimeDropout", "TimeBiLSTM", "GRU", "TimeGRU"}
TIME_NAMES |= {"TimeSigmoidWithLoss", "Simple_TimeSoftmaxWithLoss", "Simple_TimeAffine"}
BOOK_NAMES = {
    "layers": LAYER_NAMES,
    "time_layers": TIME_NAMES,
    "functions": {"np", "GPU", "sigmoid", "relu", "softmax", "cross_entropy_error"},
    "optimizer": {"np", "GPU", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"},
    "trainer": {"np", "GPU", "Trainer", "RnnlmTrainer", "remove_duplicate"},
    "base_model": {"np", "GPU", "BaseModel"},
    "util": {"np", "GPU", "preprocess", "cos_similarity", "most_similar", "convert_one_hot"}
    | {"create_co_matrix", "ppmi", "create_contexts_target", "to_cpu", "to_gpu", "clip_grads"}
    | {"eval_perplexity", "eval_seq2seq", "analogy", "normalize"},
    "np": {"np", "GPU"},
}


def star(module):
    namespace = {}
    exec(f"from zeronlp.book.common.{module} import *", namespace)
    return {k for k in namespace if k != "__builtins__"}, namespace


@pytest.mark.parametrize("module", sorted(BOOK_NAMES))
def test_star_import_brings_what_the_books_brings(module):
    names, _ = star(module)
    assert names == BOOK_NAMES[module]


def test_time_layers_star_import_gives_np_and_every_layer():
    _, ns = star("time_layers")
    assert ns["np"] is np and ns["GPU"] is False
    assert ns["Embedding"] is book_layers.Embedding
    assert ns["Dropout"] is book_layers.Dropout  # the book's dropout, not zeronlp's inverted one
    W = ns["np"].random.randn(5, 3).astype("f")
    assert ns["TimeEmbedding"](W).forward(np.array([[1, 2]])).shape == (1, 2, 3)


def test_dataset_modules_have_the_books_names():
    from zeronlp.book.dataset import ptb, sequence

    for name in ("url_base", "key_file", "save_file", "vocab_file", "dataset_dir"):
        assert hasattr(ptb, name)
    assert ptb.key_file["valid"] == "ptb.valid.txt" and ptb.vocab_file == "ptb.vocab.pkl"
    assert ptb.url_base == "https://raw.githubusercontent.com/tomsercu/lstm/master/data/"
    assert callable(ptb.load_vocab) and callable(ptb.load_data)
    assert isinstance(sequence.char_to_id, dict) and isinstance(sequence.id_to_char, dict)


def run_python(code, **env):
    return subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(sys.path), **env},
        timeout=120,
    )


def test_config_gpu_false_keeps_numpy():
    out = run_python(
        "from zeronlp.book.common import config\n"
        "config.GPU = False\n"
        "from zeronlp.book.common.np import *\n"
        "from zeronlp import backend\n"
        "print(np.__name__, GPU, backend.is_gpu())"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["numpy", "False", "False"]


@pytest.mark.skipif(backend.gpu_available(), reason="checks the message on a machine without GPU")
def test_config_gpu_true_without_a_gpu_says_what_is_missing():
    out = run_python(
        "from zeronlp.book.common import config\n"
        "config.GPU = True\n"
        "from zeronlp.book.common.time_layers import *\n"
    )
    assert out.returncode != 0
    last = out.stderr.strip().splitlines()[-1]  # zeronlp's own message, not a CuPy traceback
    assert last.startswith("zeronlp.errors.GPUUnavailableError: use_gpu()") and "CuPy" in last


@pytest.mark.gpu
@pytest.mark.skipif(not backend.gpu_available(), reason="needs CuPy and a GPU")
def test_config_gpu_true_switches_to_cupy():
    out = run_python(
        "from zeronlp.book.common import config\n"
        "config.GPU = True\n"
        "from zeronlp.book.common.time_layers import *\n"
        "from zeronlp import backend\n"
        "W = (np.random.randn(10, 4) / 100).astype('f')\n"
        "e = TimeEmbedding(W); out = e.forward(np.array([[1, 2, 3]]))\n"
        "print(np.__name__, type(out).__module__.split('.')[0], backend.is_gpu())"
    )
    assert out.returncode == 0, out.stderr
    assert "GPU Mode (cupy)" in out.stdout
    assert out.stdout.split()[-3:] == ["cupy", "cupy", "True"]


def test_install_lets_an_unmodified_notebook_import_common_and_dataset():
    out = run_python(
        "import sys, zeronlp.book\n"
        "zeronlp.book.install()\n"
        "from common import config\n"
        "config.GPU = False\n"
        "from common.layers import Embedding\n"
        "from common.time_layers import *\n"
        "from dataset import sequence, spiral\n"
        "import zeronlp.book.common.config as real\n"
        "print(config is real, Embedding.__module__, TimeAffine.__module__, np.__name__)\n"
        "print(spiral.__name__, 'common' in sys.modules, spiral.__spec__.name)\n"
        "zeronlp.book.uninstall()\n"
        "try:\n"
        "    import common.layers\n"
        "except ImportError:\n"
        "    print('gone')\n"
    )
    assert out.returncode == 0, out.stderr
    assert out.stdout.splitlines() == [
        "True zeronlp.layers zeronlp.time_layers.basic numpy",
        "zeronlp.book.dataset.spiral True zeronlp.book.dataset.spiral",
        "gone",
    ]


# ---------------------------------------------------------------- chapter 1


class TwoLayerNet:
    """The chapter 1 network, written as the book writes it."""

    def __init__(self, input_size, hidden_size, output_size):
        I, H, O = input_size, hidden_size, output_size
        W1 = 0.01 * np.random.randn(I, H)
        b1 = np.zeros(H)
        W2 = 0.01 * np.random.randn(H, O)
        b2 = np.zeros(O)
        self.layers = [Affine(W1, b1), Sigmoid(), Affine(W2, b2)]
        self.loss_layer = SoftmaxWithLoss()
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, x):
        for layer in self.layers:
            x = layer.forward(x)
        return x

    def forward(self, x, t):
        return self.loss_layer.forward(self.predict(x), t)

    def backward(self, dout=1):
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout


LINE = re.compile(r"^\| epoch (\d+) \|  iter (\d+) / (\d+) \| time \d+\[s\] \| loss (\d+\.\d\d)$")


def test_spiral_is_the_books_and_leaves_the_global_generator_where_the_book_does():
    x, t = spiral.load_data()
    assert x.shape == (300, 2) and x.dtype == np.float64
    assert t.shape == (300, 3) and t.dtype == np.int32 and (t.sum(axis=1) == 1).all()
    after = np.random.randn(3)
    np.random.seed(1984)
    np.random.randn(300)
    np.testing.assert_array_equal(after, np.random.randn(3))


def test_ch1_trainer_prints_the_books_lines_and_plot_saves_where_no_display(
    tmp_path, monkeypatch, capsys
):
    import matplotlib

    matplotlib.use("Agg")
    monkeypatch.chdir(tmp_path)
    x, t = spiral.load_data()
    model = TwoLayerNet(input_size=2, hidden_size=10, output_size=3)
    trainer = Trainer(model, SGD(lr=1.0))
    trainer.fit(x, t, max_epoch=30, batch_size=30, eval_interval=5)
    trainer.plot()
    out = capsys.readouterr().out.splitlines()
    lines = [LINE.match(line) for line in out[:-1]]
    assert all(lines) and len(lines) == 30 * 2  # iterations 1 and 6 of 10, every epoch
    assert [m.group(1, 2, 3) for m in lines[:3]] == [("1", "1", "10"), ("1", "6", "10")] + [
        ("2", "1", "10")
    ]
    assert float(lines[-1].group(4)) < float(lines[0].group(4)) - 0.2  # it learns
    np.testing.assert_allclose(trainer.loss_list, [float(m.group(4)) for m in lines], atol=0.005)
    assert out[-1] == "(no display: the loss curve was saved to loss.png)"
    assert (tmp_path / "loss.png").stat().st_size > 1000


def test_ch1_trainer_plot_shows_the_curve_where_a_display_is(monkeypatch, capsys):
    import matplotlib
    import matplotlib.pyplot as plt

    shown = []
    monkeypatch.setattr(matplotlib, "get_backend", lambda: "TkAgg")
    monkeypatch.setattr(plt, "show", lambda: shown.append(plt.gca().get_lines()[0].get_ydata()))
    trainer = Trainer(None, None)
    trainer.loss_list, trainer.eval_interval = [3.0, 2.0, 1.0], 10
    assert trainer.plot(ylim=(0, 4)) is None
    plt.close("all")
    assert capsys.readouterr().out == ""
    np.testing.assert_array_equal(shown[0], [3.0, 2.0, 1.0])


def test_book_dropout_scales_at_evaluation_not_in_training():
    x = np.ones((1000, 10), dtype="f")
    layer = Dropout(0.3)
    y = layer.forward(x, train_flg=True)
    assert set(np.unique(y)) == {0.0, 1.0}  # survivors unscaled, as the book
    np.testing.assert_array_equal(layer.backward(np.ones_like(x)), y)
    np.testing.assert_allclose(layer.forward(x, train_flg=False), 0.7)


# ---------------------------------------------------------------- chapter 2


def test_ch2_most_similar_prints_as_the_book_and_returns_none(capsys):
    corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
    C = create_co_matrix(corpus, len(word_to_id), window_size=1)
    assert most_similar("you", word_to_id, id_to_word, C, top=3) is None
    assert most_similar("zzz", word_to_id, id_to_word, C) is None
    assert capsys.readouterr().out == (
        "\n[query] you\n"
        " goodbye: 0.7071067691154799\n"
        " i: 0.7071067691154799\n"
        " hello: 0.7071067691154799\n"
        "zzz is not found\n"
    )


def test_most_similar_prints_float64_digits_as_the_book_for_float16_vectors(capsys):
    word_to_id = {"a": 0, "b": 1, "c": 2}
    id_to_word = {i: w for w, i in word_to_id.items()}
    W = np.array([[1, 0], [1, 1], [0, 1]], dtype=np.float16)  # ch04's cbow_params are float16
    most_similar("a", word_to_id, id_to_word, W, top=2)
    # the book stores float16 similarities in a float64 array and prints those digits
    assert capsys.readouterr().out == "\n[query] a\n b: 0.70703125\n c: 0.0\n"


def test_ch2_ppmi_prints_progress_and_gives_the_books_matrix(capsys):
    corpus, word_to_id, _ = preprocess("You say goodbye and I say hello.")
    C = create_co_matrix(corpus, len(word_to_id))
    M = ppmi(C, verbose=True)
    assert capsys.readouterr().out.strip().endswith("100.0% done")
    assert M.dtype == np.float32
    np.testing.assert_allclose(M[0, 1], 1.807, atol=1e-3)
    np.testing.assert_allclose(M[5, 6], 2.807, atol=1e-3)


def test_ch2_analogy_prints_as_the_book(capsys):
    word_to_id = {"man": 0, "king": 1, "woman": 2, "queen": 3, "car": 4}
    id_to_word = {i: w for w, i in word_to_id.items()}
    W = np.array([[1, 0, 0], [1, 1, 0], [0, 0, 1], [0, 1, 1], [1, 0, 1]], dtype="f")
    assert analogy("man", "king", "woman", word_to_id, id_to_word, W, top=2, answer="queen") is None
    out = capsys.readouterr().out.splitlines()
    assert out[:2] == ["", "[analogy] man:king = woman:?"]
    assert out[2].startswith("==>queen:1.41421")
    assert out[3].startswith(" queen: 1.41421") and out[4].startswith(" car: 0.70710")
    assert analogy("man", "king", "robot", word_to_id, id_to_word, W) is None
    assert capsys.readouterr().out == "robot is not found\n"


def test_normalize_works_in_place_as_the_books():
    x = np.array([[3.0, 4.0], [0.0, 2.0]])
    assert normalize(x) is x
    np.testing.assert_allclose(x, [[0.6, 0.8], [0.0, 1.0]])


# ---------------------------------------------------------------- chapters 3-4


class SimpleCBOW:
    """Chapter 3's CBOW, written as the book writes it (one shared input MatMul)."""

    def __init__(self, vocab_size, hidden_size):
        V, H = vocab_size, hidden_size
        W_in = 0.01 * np.random.randn(V, H).astype("f")
        W_out = 0.01 * np.random.randn(H, V).astype("f")
        self.in_layer0, self.in_layer1 = MatMul(W_in), MatMul(W_in)
        self.out_layer = MatMul(W_out)
        self.loss_layer = SoftmaxWithLoss()
        layers = [self.in_layer0, self.in_layer1, self.out_layer]
        self.params, self.grads = [], []
        for layer in layers:
            self.params += layer.params
            self.grads += layer.grads
        self.word_vecs = W_in

    def forward(self, contexts, target):
        h = 0.5 * (self.in_layer0.forward(contexts[:, 0]) + self.in_layer1.forward(contexts[:, 1]))
        return self.loss_layer.forward(self.out_layer.forward(h), target)

    def backward(self, dout=1):
        da = 0.5 * self.out_layer.backward(self.loss_layer.backward(dout))
        self.in_layer1.backward(da)
        self.in_layer0.backward(da)


def test_ch3_simple_cbow_learns_with_the_shared_input_weight(capsys):
    corpus, word_to_id, id_to_word = preprocess("You say goodbye and I say hello.")
    contexts, target = create_contexts_target(corpus, window_size=1)
    assert contexts.shape == (6, 2) and target.tolist() == [1, 2, 3, 4, 1, 5]
    V = len(word_to_id)
    contexts, target = convert_one_hot(contexts, V), convert_one_hot(target, V)
    assert contexts.shape == (6, 2, 7) and target.shape == (6, 7)
    model = SimpleCBOW(V, 5)
    trainer = Trainer(model, SGD(lr=1.0))
    trainer.fit(contexts, target, max_epoch=300, batch_size=3, eval_interval=None)
    assert capsys.readouterr().out == ""  # eval_interval=None prints nothing, as the book
    assert model.forward(contexts, target) < 0.8
