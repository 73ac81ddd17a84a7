"""The book's models: end-to-end gradient checks, book parameter files, generation."""

import pickle

import numpy as np
import pytest

from zeronlp.backend import default_float, seed
from zeronlp.gradcheck import gradcheck
from zeronlp.models import (
    AttentionSeq2seq,
    BetterRnnlm,
    PeekySeq2seq,
    Rnnlm,
    Seq2seq,
    SimpleRnnlm,
)

TOL = 1e-6


def scaled(model, rng, scale=0.5):
    """O(1) random weights: the book's small init gives gradients too tiny to compare."""
    for p in model.params:
        p[...] = rng.standard_normal(p.shape) * scale
    return model


def check(model, *inputs, **kw):
    errors = gradcheck(model, *inputs, **kw)
    assert len(errors) >= len(model.params)
    worst = max(errors, key=errors.get)
    assert errors[worst] < TOL, f"{worst}: {errors[worst]:.2e}"


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm])
def test_gradcheck_language_models(cls, rng):
    with default_float(np.float64):
        model = scaled(cls(7, 3, 4), rng)
    xs, ts = rng.integers(0, 7, (2, 4)), rng.integers(0, 7, (2, 4))
    ts[0, 1] = -1  # an ignored target
    check(model, xs, ts, reset_state=True)


class Doubling:
    """A parameter-free last layer that is not a TimeAffine."""

    params, grads = [], []

    def forward(self, xs):
        return xs * 2.0

    def backward(self, dout):
        return dout * 2.0


def test_language_model_with_another_last_layer_takes_the_plain_backward(rng):
    """LanguageModel.backward passes the softmax gradient as factors only to a TimeAffine;
    a subclass ending in another layer still gets correct gradients."""
    with default_float(np.float64):
        model = scaled(Rnnlm(7, 3, 4), rng)
    model.layers.append(Doubling())
    xs, ts = rng.integers(0, 7, (2, 4)), rng.integers(0, 7, (2, 4))
    check(model, xs, ts, reset_state=True)


def test_gradcheck_better_rnnlm_with_dropout_and_tied_weights(rng):
    with default_float(np.float64):
        model = scaled(BetterRnnlm(6, 4, 4, dropout_ratio=0.3), rng)
    assert len(model.params) == 8  # the tied embedding appears once
    xs, ts = rng.integers(0, 6, (2, 3)), rng.integers(0, 6, (2, 3))
    check(model, xs, ts, reset_state=True)


@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_gradcheck_seq2seq_models(cls, rng):
    with default_float(np.float64):
        model = scaled(cls(8, 3, 4), rng)
    xs, ts = rng.integers(0, 8, (2, 5)), rng.integers(0, 8, (2, 4))
    check(model, xs, ts)


def test_models_are_float32_and_stay_float32(rng):
    seed(0)
    model = Rnnlm(20, 5, 6)
    xs, ts = rng.integers(0, 20, (3, 4)), rng.integers(0, 20, (3, 4))
    model.forward(xs, ts)
    model.backward()
    assert all(p.dtype == np.float32 for p in model.params)
    assert all(g.dtype == np.float32 for g in model.grads)
    assert model.predict(xs).dtype == np.float32


def test_params_order_is_the_books():
    seed(0)
    shapes = [p.shape for p in Rnnlm(50, 8, 6).params]
    assert shapes == [(50, 8), (8, 24), (6, 24), (24,), (6, 50), (50,)]
    shapes = [p.shape for p in AttentionSeq2seq(59, 16, 256).params]
    assert shapes == [
        (59, 16), (16, 1024), (256, 1024), (1024,),
        (59, 16), (16, 1024), (256, 1024), (1024,), (512, 59), (59,),
    ]  # fmt: skip


def test_book_format_files_map_one_to_one(tmp_path):
    seed(0)
    src = PeekySeq2seq(10, 4, 5)
    path = tmp_path / "PeekySeq2seq.pkl"
    path.write_bytes(pickle.dumps([p.astype(np.float16) for p in src.params]))
    dst = PeekySeq2seq(10, 4, 5)
    dst.load_params(path)
    for a, b in zip(src.params, dst.params, strict=True):
        np.testing.assert_array_equal(a.astype(np.float16).astype(np.float32), b)


def test_better_rnnlm_loads_the_books_duplicated_tied_weight(tmp_path):
    seed(0)
    src = BetterRnnlm(10, 4, 4)
    book = [p for p in src.params[:-1]] + [src.params[0].T, src.params[-1]]  # the book's 9
    path = tmp_path / "BetterRnnlm.pkl"
    path.write_bytes(pickle.dumps([p.astype(np.float16) for p in book]))
    dst = BetterRnnlm(10, 4, 4)
    dst.load_params(path)
    np.testing.assert_array_equal(dst.params[0], src.params[0].astype(np.float16))
    np.testing.assert_array_equal(dst.affine.params[0], dst.params[0].T)  # still tied


def test_rnnlm_generate_all_methods(rng):
    seed(0)
    model = Rnnlm(12, 4, 5)
    for method in ("sample", "greedy", "beam"):
        model.reset_state()
        ids = model.generate(3, skip_ids=[0, 1], sample_size=6, method=method)
        assert len(ids) == 6 and ids[0] == 3
        assert not set(ids[1:]) & {0, 1}
        assert all(0 <= i < 12 for i in ids)
    with pytest.raises(ValueError, match=r"\[0, 12\)"):
        model.generate(12)


def test_rnnlm_greedy_generate_equals_step_by_step_predict(rng):
    seed(1)
    model = Rnnlm(9, 4, 5)
    model.reset_state()
    ids = model.generate(2, sample_size=5, method="greedy")
    model.reset_state()
    x, expected = 2, [2]
    for _ in range(4):
        x = int(model.predict(np.array([[x]]))[0, 0].argmax())
        expected.append(x)
    assert ids == expected


@pytest.mark.parametrize("cls", [Seq2seq, PeekySeq2seq, AttentionSeq2seq])
def test_seq2seq_generate_greedy_equals_teacher_forced_argmax(cls, rng):
    """Greedy decoding fed its own outputs equals a forward pass over those outputs."""
    seed(2)
    model = cls(10, 4, 6)
    xs = rng.integers(0, 10, (3, 5))
    out = model.generate_batch(xs, start_id=1, sample_size=4)
    assert out.shape == (3, 4)
    ts = np.concatenate([np.ones((3, 1), dtype=int), out], axis=1)
    h = model.encoder.forward(xs)
    scores = model.decoder.forward(ts[:, :-1], h)
    np.testing.assert_array_equal(scores.argmax(-1), out)
    single = model.generate(xs[:1], 1, 4)
    assert single == out[0].tolist()
    beam = model.generate_batch(xs, 1, 4, method="beam", beam_width=3)
    assert beam.shape == (3, 4)


def test_seq2seq_rejects_too_short_answers(rng):
    with pytest.raises(ValueError, match="Ta >= 2"):
        Seq2seq(5, 2, 3).forward(np.zeros((2, 3), int), np.zeros((2, 1), int))


def test_rnnlm_loads_the_books_published_parameters(data_dir):
    model = Rnnlm()
    model.load_params(data_dir / "book-params" / "Rnnlm.pkl")
    assert model.params[0].dtype == np.float32
    assert np.abs(model.params[0]).max() > 0


@pytest.mark.parametrize("cls", [SimpleRnnlm, Rnnlm, BetterRnnlm])
def test_language_models_follow_a_change_of_batch_size(cls):
    """generate after eval_perplexity and eval_perplexity after generate need no
    reset_state(): a state of another batch size belongs to other sequences."""
    from zeronlp.training import eval_perplexity

    seed(0)
    model = cls(12, 4, 4) if cls is not SimpleRnnlm else cls(12, 4, 5)
    corpus = np.random.default_rng(0).integers(0, 12, 200)
    ppl = eval_perplexity(model, corpus, batch_size=10, time_size=5)
    ids = model.generate(3, sample_size=6, method="greedy")  # after a state of batch 10
    model.reset_state()
    assert ids == model.generate(3, sample_size=6, method="greedy")  # the same: a fresh start
    model.reset_state()
    assert eval_perplexity(model, corpus, batch_size=10, time_size=5) == pytest.approx(ppl)
    model.generate(3, sample_size=6)
    # the generation's state (batch 1) is dropped for the evaluation's batches of 10
    assert eval_perplexity(model, corpus, batch_size=10, time_size=5) == pytest.approx(ppl)


def test_generate_options_reach_the_decoder_or_are_refused(rng):
    seed(0)
    model = Seq2seq(8, 3, 4)
    xs = rng.integers(0, 8, (2, 5))
    with pytest.raises(ValueError, match="bogus"):
        model.generate(xs, 0, 3, method="greedy", eos_id=1, bogus=5)
    ids = model.generate_batch(
        xs, 0, 4, method="greedy", eos_id=int(model.generate_batch(xs, 0, 1)[0, 0])
    )
    assert (ids[0] == ids[0, 0]).all()  # the first id was made the eos: only eos follows
    lm = Rnnlm(12, 4, 5)
    out = lm.generate(3, sample_size=6, method="beam", eos_id=0, length_penalty=0.5)
    assert len(out) == 6 and out[0] == 3
