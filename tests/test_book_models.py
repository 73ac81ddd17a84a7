"""Chapters 5-8 written as the book writes them, through zeronlp.book: the Time layers, the
truncated-BPTT trainer's lines, the book's parameter files (names, format, published files),
printing of eval_perplexity / eval_seq2seq, and the sequence datasets."""

import pickle
import re
from pathlib import Path

import numpy as np
import pytest

from zeronlp.attention import TimeAttention  # the book keeps it in ch08/attention_layer.py
from zeronlp.book.common.base_model import BaseModel
from zeronlp.book.common.optimizer import SGD
from zeronlp.book.common.time_layers import (
    Simple_TimeAffine,
    Simple_TimeSoftmaxWithLoss,
    TimeAffine,
    TimeEmbedding,
    TimeLSTM,
    TimeSoftmaxWithLoss,
)
from zeronlp.book.common.trainer import RnnlmTrainer
from zeronlp.book.common.util import eval_perplexity, eval_seq2seq
from zeronlp.io import UnsafePickleError

# ---------------------------------------------------------------- chapter 5


def test_simple_time_affine_sums_the_steps_like_time_affine():
    N, T, D, M = 3, 4, 5, 6
    W, b = np.random.randn(D, M).astype("f"), np.random.randn(M).astype("f")
    xs, dout = np.random.randn(N, T, D).astype("f"), np.random.randn(N, T, M).astype("f")
    simple, fast = Simple_TimeAffine(W, b), TimeAffine(W, b)
    np.testing.assert_allclose(simple.forward(xs), fast.forward(xs), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(simple.backward(dout), fast.backward(dout), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(simple.dW, fast.grads[0], rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(simple.db, fast.grads[1], rtol=1e-4, atol=1e-5)
    assert simple.grads[0] is simple.dW and simple.params == [W, b]


def test_simple_time_softmax_with_loss_equals_the_time_layer():
    N, T, V = 3, 4, 7
    xs = np.random.randn(N, T, V).astype("f")
    ts = np.random.randint(0, V, size=(N, T))
    simple, fast = Simple_TimeSoftmaxWithLoss(), TimeSoftmaxWithLoss()
    assert simple.forward(xs, ts) == pytest.approx(fast.forward(xs, ts), rel=1e-5)
    np.testing.assert_allclose(simple.backward(), fast.backward(), rtol=1e-5, atol=1e-7)


class Rnnlm(BaseModel):
    """Chapter 6's language model, written as the book writes it."""

    def __init__(self, vocab_size=10000, wordvec_size=100, hidden_size=100):
        V, D, H = vocab_size, wordvec_size, hidden_size
        rn = np.random.randn
        self.layers = [
            TimeEmbedding((rn(V, D) / 100).astype("f")),
            TimeLSTM(
                (rn(D, 4 * H) / np.sqrt(D)).astype("f"),
                (rn(H, 4 * H) / np.sqrt(H)).astype("f"),
                np.zeros(4 * H).astype("f"),
                stateful=True,
            ),
            TimeAffine((rn(H, V) / np.sqrt(H)).astype("f"), np.zeros(V).astype("f")),
        ]
        self.loss_layer = TimeSoftmaxWithLoss()
        self.lstm_layer = self.layers[1]
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, xs):
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def forward(self, xs, ts):
        return self.loss_layer.forward(self.predict(xs), ts)

    def backward(self, dout=1):
        dout = self.loss_layer.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        return dout

    def reset_state(self):
        self.lstm_layer.reset_state()


class RnnlmGen(Rnnlm):
    """Chapter 7's generator: a subclass that reads its parent's parameter file."""

    def generate(self, start_id, sample_size=5):
        word_ids, x = [start_id], start_id
        while len(word_ids) < sample_size:
            score = self.predict(np.array(x).reshape(1, 1))
            x = int(np.argmax(score.flatten()))
            word_ids.append(x)
        return word_ids


PPL_LINE = re.compile(
    r"^\| epoch (\d) \|  iter (\d+) / (\d+) \| time \d+\[s\] \| perplexity [\d.]+$"
)


def test_ch5_rnnlm_trainer_prints_the_books_lines_and_keeps_the_state(capsys):
    corpus = np.random.randint(0, 20, size=1001)
    model = Rnnlm(vocab_size=20, wordvec_size=8, hidden_size=8)
    trainer = RnnlmTrainer(model, SGD(lr=0.1))
    trainer.fit(corpus[:-1], corpus[1:], max_epoch=2, batch_size=5, time_size=10, eval_interval=10)
    lines = capsys.readouterr().out.splitlines()
    assert [PPL_LINE.match(line).group(1, 2, 3) for line in lines] == [
        (e, i, "20") for e in "12" for i in ("1", "11")
    ]
    assert len(trainer.ppl_list) == 4 and trainer.current_epoch == 2
    state = model.lstm_layer.h.copy()
    started_from = []
    forward = model.forward

    def spy(xs, ts):
        started_from.append(model.lstm_layer.h)
        return forward(xs, ts)

    model.forward = spy
    trainer.fit(corpus[:-1], corpus[1:], 1, batch_size=5, time_size=10, eval_interval=None)
    assert trainer.ppl_list == []  # every fit starts a new list, as the book's
    # the book's fit does not reset the state: the next fit goes on from the last one
    np.testing.assert_array_equal(started_from[0], state)


def test_rnnlm_trainer_get_batch_reads_the_books_streams():
    trainer = RnnlmTrainer(None, None)
    trainer.time_idx = 0
    x = np.arange(100)
    bx, bt = trainer.get_batch(x, x + 1, batch_size=4, time_size=3)
    assert bx.dtype == np.int32 and bt.dtype == np.int32
    assert bx.tolist() == [[0, 1, 2], [25, 26, 27], [50, 51, 52], [75, 76, 77]]
    assert trainer.get_batch(x, x + 1, 4, 3)[0][0].tolist() == [3, 4, 5]


# ---------------------------------------------------------------- chapter 6-7: parameter files


def test_bare_save_and_load_params_use_the_books_pkl_name_and_format(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    model = Rnnlm(vocab_size=30, wordvec_size=4, hidden_size=5)
    model.save_params()
    with open("Rnnlm.pkl", "rb") as f:
        saved = pickle.load(f)  # the book's own loader reads it: a list of float16 arrays
    assert [a.dtype for a in saved] == [np.float16] * 6
    assert [a.shape for a in saved] == [p.shape for p in model.params]
    other = Rnnlm(vocab_size=30, wordvec_size=4, hidden_size=5)
    other.load_params()
    for p, q in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(p.astype(np.float16), q)
        assert q.dtype == np.float32
    gen = RnnlmGen(vocab_size=30, wordvec_size=4, hidden_size=5)
    gen.load_params("Rnnlm.pkl")  # the subclass reads its parent's file
    np.testing.assert_array_equal(gen.params[0], other.params[0])
    assert len(gen.generate(start_id=3, sample_size=6)) == 6
    with pytest.raises(OSError, match="No file: RnnlmGen.pkl"):
        gen.load_params()


def test_load_params_refuses_a_pickle_that_would_run_code(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)

    class Exploit:
        def __reduce__(self):
            return (Path.touch, (tmp_path / "pwned",))

    Path("Rnnlm.pkl").write_bytes(pickle.dumps([Exploit()]))
    with pytest.raises(UnsafePickleError, match="refusing to load"):
        Rnnlm(vocab_size=30, wordvec_size=4, hidden_size=5).load_params()
    assert not (tmp_path / "pwned").exists()


def test_npz_names_still_go_to_zeronlps_format(tmp_path):
    model = Rnnlm(vocab_size=30, wordvec_size=4, hidden_size=5)
    path = model.save_params(str(tmp_path / "m.npz"))
    other = Rnnlm(vocab_size=30, wordvec_size=4, hidden_size=5)
    assert other.load_params(str(path))["model"] == "Rnnlm"
    np.testing.assert_array_equal(model.params[2], other.params[2])


def book_params(data_dir, name, tmp_path):
    path = data_dir / "book-params" / name
    if not path.is_file():
        pytest.skip(f"{name} (the book's published parameters) is not in $ZERONLP_DATA/book-params")
    (tmp_path / name).symlink_to(path)
    return path


def test_published_rnnlm_pkl_gives_the_books_perplexity(data_dir, tmp_path, monkeypatch, capsys):
    from zeronlp.book.dataset import ptb

    book_params(data_dir, "Rnnlm.pkl", tmp_path)
    monkeypatch.chdir(tmp_path)
    corpus, word_to_id, _ = ptb.load_data("test")
    assert len(word_to_id) == 10000
    model = Rnnlm()
    model.load_params()  # bare: the book's file name in the working directory
    model.reset_state()
    ppl = eval_perplexity(model, corpus[:3501])
    # the book's own code (its common/ on NumPy) gives 127.93937272375425 on these tokens
    assert ppl == pytest.approx(127.93937272375425, rel=1e-5)
    out = capsys.readouterr().out
    assert out == "evaluating perplexity ...\n\r9 / 10\n"


# ---------------------------------------------------------------- chapter 7-8


def test_sequence_load_data_is_the_books(data_dir):
    from zeronlp.book.dataset import sequence

    (x_train, t_train), (x_test, t_test) = sequence.load_data("addition.txt", seed=1984)
    char_to_id, id_to_char = sequence.get_vocab()
    assert x_train.shape == (45000, 7) and t_train.shape == (45000, 5) and x_test.shape[0] == 5000
    lines = (data_dir / "sequence" / "addition.txt").read_text().split("\n")
    order = np.random.RandomState(1984).permutation(50000)
    first = "".join(id_to_char[int(c)] for c in np.concatenate([x_train[0], t_train[0]]))
    assert first == lines[order[0]]
    assert list(char_to_id)[:5] == ["1", "6", "+", "7", "5"]  # first appearance in the file
    # the global generator is where the book's loader leaves it: seeded, then one shuffle
    after = np.random.rand()
    np.random.seed(1984)
    np.random.shuffle(np.arange(50000))
    assert after == np.random.rand()
    # one vocabulary for the whole process, growing with each file, as the book's
    (xd, _), _ = sequence.load_data("date.txt")
    assert sequence.get_vocab()[0] is char_to_id and len(char_to_id) > 13
    assert xd.max() < len(char_to_id) and x_train.max() < 13


def test_sequence_load_data_of_a_missing_file_prints_as_the_book(capsys):
    from zeronlp.book.dataset import sequence

    assert sequence.load_data(file_name="no-such-file.txt") is None
    assert capsys.readouterr().out == "No file: no-such-file.txt\n"


class FixedAnswer:
    def __init__(self, answer):
        self.answer = answer

    def generate(self, xs, start_id, sample_size):
        return self.answer[:sample_size]


def test_eval_seq2seq_prints_the_books_marks(capsys):
    id_to_char = dict(enumerate("_0123456789+ "))
    question = np.array([[1, 11, 2]])  # "0+1", reversed in the book's training
    correct = np.array([[0, 2, 12]])  # "_1 "
    assert eval_seq2seq(FixedAnswer([2, 12]), question, correct, id_to_char, verbose=True) == 1
    assert eval_seq2seq(FixedAnswer([3, 12]), question, correct, id_to_char, True, True) == 0
    assert capsys.readouterr().out == (
        "Q 0+1\nT 1 \n\033[92m☑\033[0m 1 \n---\nQ 1+0\nT 1 \n\033[91m☒\033[0m 2 \n---\n"
    )


class AttentionSeq2seq(BaseModel):
    """Chapter 8's model in the book's parameter order, written compactly for the test."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        z = np.zeros

        def lstm(stateful):
            return TimeLSTM(z((D, 4 * H), "f"), z((H, 4 * H), "f"), z(4 * H, "f"), stateful)

        self.enc_embed, self.enc_lstm = TimeEmbedding(z((V, D), "f")), lstm(False)
        self.dec_embed, self.dec_lstm = TimeEmbedding(z((V, D), "f")), lstm(True)
        self.attention, self.affine = TimeAttention(), TimeAffine(z((2 * H, V), "f"), z(V, "f"))
        self.loss_layer = TimeSoftmaxWithLoss()
        layers = [self.enc_embed, self.enc_lstm, self.dec_embed, self.dec_lstm, self.affine]
        self.params = [p for layer in layers for p in layer.params]
        self.grads = [g for layer in layers for g in layer.grads]

    def _decode(self, xs, enc_hs):
        dec_hs = self.dec_lstm.forward(self.dec_embed.forward(xs))
        c = self.attention.forward(enc_hs, dec_hs)
        return self.affine.forward(np.concatenate((c, dec_hs), axis=2))

    def _encode(self, xs):
        enc_hs = self.enc_lstm.forward(self.enc_embed.forward(xs))
        self.dec_lstm.set_state(enc_hs[:, -1])
        return enc_hs

    def forward(self, xs, ts):
        score = self._decode(ts[:, :-1], self._encode(xs))
        return self.loss_layer.forward(score, ts[:, 1:])

    def generate(self, xs, start_id, sample_size):
        enc_hs, sampled, sample_id = self._encode(xs), [], start_id
        for _ in range(sample_size):
            score = self._decode(np.array([[sample_id]]), enc_hs)
            sample_id = int(np.argmax(score.flatten()))
            sampled.append(sample_id)
        return sampled


def test_published_attention_seq2seq_pkl_answers_the_dates(data_dir, tmp_path, monkeypatch):
    from zeronlp.book.dataset import sequence

    book_params(data_dir, "AttentionSeq2seq.pkl", tmp_path)
    monkeypatch.chdir(tmp_path)
    # a fresh process's vocabulary (the book's grows with every file loaded before)
    monkeypatch.setattr(sequence, "char_to_id", {})
    monkeypatch.setattr(sequence, "id_to_char", {})
    (_, _), (x_test, t_test) = sequence.load_data("date.txt")
    char_to_id, id_to_char = sequence.get_vocab()
    x_test = x_test[:, ::-1]  # the book trains on reversed questions
    model = AttentionSeq2seq(len(char_to_id), 16, 256)
    model.load_params()
    # the book's own code gives loss 0.00018822364509105683 on these 128 and 50 of 50 right
    assert model.forward(x_test[:128], t_test[:128]) == pytest.approx(1.8822364509e-4, rel=1e-3)
    right = sum(eval_seq2seq(model, x_test[[i]], t_test[[i]], id_to_char) for i in range(50))
    assert right == 50
