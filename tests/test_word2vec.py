"""word2vec: CBOW and SkipGram models, and the sparse trainer ``train_word2vec``."""

import numpy as np
import pytest

from zeronlp.backend import default_float
from zeronlp.functions import sigmoid
from zeronlp.gradcheck import gradcheck
from zeronlp.models import CBOW, SkipGram
from zeronlp.training import word2vec as w2v
from zeronlp.training.word2vec import train_word2vec


def contexts_target(corpus, window_size):
    """The book's create_contexts_target: (N, 2w) ids at offsets -w..-1, 1..w; corpus[w:-w]."""
    w = window_size
    offsets = np.r_[-w:0, 1 : w + 1]
    positions = np.arange(w, len(corpus) - w)
    return corpus[positions[:, None] + offsets], corpus[w:-w]


def tiny(model_cls, V=7, H=3, w=2, T=30, dtype=np.float64, seed=1):
    rng = np.random.default_rng(seed)
    corpus = rng.integers(0, V, size=T)
    corpus[:V] = np.arange(V)  # every word occurs
    with default_float(dtype):
        model = model_cls(V, H, w, corpus)
    for p in model.params:  # O(1) weights: 0.01 * randn gives gradients too small to compare
        p[...] = rng.standard_normal(p.shape)
    return model, corpus


# ---------------------------------------------------------------- the models


@pytest.mark.parametrize("model_cls", [CBOW, SkipGram])
@pytest.mark.parametrize("w", [1, 2])
def test_gradients_end_to_end(model_cls, w):
    model, corpus = tiny(model_cls, w=w)
    contexts, target = contexts_target(corpus, w)
    errors = gradcheck(model, contexts[:6], target[:6])
    assert set(errors) == {"params[0]", "params[1]"}
    assert max(errors.values()) < 1e-7


def book_negative_sampling_loss(W_out, h, target, negative):
    """The book's NegativeSamplingLoss total: mean positive loss + sum of mean negative losses."""
    eps = 1e-7  # the book's cross_entropy_error adds 1e-7 inside the log
    pos = sigmoid((W_out[target] * h).sum(axis=1))
    loss = -np.log(pos + eps).mean()
    for i in range(negative.shape[1]):
        neg = sigmoid((W_out[negative[:, i]] * h).sum(axis=1))
        loss += -np.log(1 - neg + eps).mean()
    return loss


def test_cbow_forward_is_the_books():
    model, corpus = tiny(CBOW, V=9, H=4, w=2, T=40)
    contexts, target = contexts_target(corpus, 2)
    W_in, W_out = model.params
    np.random.seed(5)
    loss = model.forward(contexts, target)
    np.random.seed(5)
    h = 0
    for i in range(contexts.shape[1]):  # the book: one Embedding layer per context column
        h = h + W_in[contexts[:, i]]
    h *= 1 / contexts.shape[1]
    negative = model.ns_loss.sampler.get_negative_sample(target)
    expected = book_negative_sampling_loss(W_out, h, target, negative)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)  # the book's eps=1e-7 in the logs


def test_skip_gram_forward_is_the_books():
    model, corpus = tiny(SkipGram, V=9, H=4, w=2, T=40)
    contexts, target = contexts_target(corpus, 2)
    W_in, W_out = model.params
    np.random.seed(5)
    loss = model.forward(contexts, target)
    np.random.seed(5)
    h = W_in[target]
    expected = 0
    for i in range(contexts.shape[1]):  # the book: one NegativeSamplingLoss per context
        negative = model.ns_loss.sampler.get_negative_sample(contexts[:, i])
        expected += book_negative_sampling_loss(W_out, h, contexts[:, i], negative)
    np.testing.assert_allclose(loss, expected, rtol=1e-5)


@pytest.mark.parametrize("model_cls", [CBOW, SkipGram])
def test_params_once_float32_and_word_vecs(model_cls):
    corpus = np.array([0, 1, 2, 3, 4, 1, 2, 0])
    model = model_cls(5, 3, 1, corpus)
    W_in, W_out = model.params
    assert len(model.params) == len(model.grads) == 2
    assert W_in is not W_out and model.word_vecs is W_in
    assert W_in.shape == W_out.shape == (5, 3)
    assert all(p.dtype == np.float32 for p in model.params + model.grads)
    contexts, target = contexts_target(corpus, 1)
    loss = model.forward(contexts, target)
    model.backward()
    assert np.isfinite(loss) and all(g.dtype == np.float32 for g in model.grads)
    assert model.config == {"vocab_size": 5, "hidden_size": 3, "window_size": 1}
    assert model_cls(5, 3, 1, corpus.tolist()).config == model.config  # a list is not kept


def test_checkpoint_round_trip(tmp_path):
    corpus = np.array([0, 1, 2, 3, 4, 1, 2, 0])
    model = CBOW(5, 3, 1, corpus)
    path = model.save_params(tmp_path / "cbow.npz", meta={"vocab": ["a", "b", "c", "d", "e"]})
    other = CBOW(5, 3, 1, corpus)
    meta = other.load_params(path)
    assert meta["config"]["window_size"] == 1 and meta["vocab"][0] == "a"
    for p, q in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(p, q)


@pytest.mark.parametrize("model_cls", [CBOW, SkipGram])
def test_bad_input(model_cls):
    corpus = np.array([0, 1, 2, 3, 4, 1, 2, 0])
    model = model_cls(5, 3, 1, corpus)
    with pytest.raises(ValueError, match="context ids"):
        model.forward(np.array([[0, 5]]), np.array([1]))
    with pytest.raises(ValueError, match="window_size=1"):
        model.forward(np.array([[0, 1, 2, 3]]), np.array([1]))  # contexts of window 2
    with pytest.raises(ValueError, match="target"):
        model.forward(np.array([[0, 1], [1, 2]]), np.array([1]))
    with pytest.raises(TypeError):
        model.forward(np.array([[0.5, 1.0]]), np.array([1]))
    with pytest.raises(ValueError, match="corpus ids"):
        model_cls(5, 3, 1, np.array([0, 1, 7]))
    with pytest.raises(ValueError, match="window_size"):
        train_word2vec(model, corpus, window_size=2, verbose=False)
    with pytest.raises(ValueError, match="corpus ids"):
        train_word2vec(model, np.array([0, 1, 9, 2]), verbose=False)
    with pytest.raises(ValueError, match="at least 3"):
        train_word2vec(model, np.array([0, 1]), verbose=False)


# ---------------------------------------------------------------- the sparse trainer


def _random_rows(rng, V=50, n=400, m=60, H=4):
    key = rng.choice(V, size=n, p=np.r_[0.5, np.full(V - 1, 0.5 / (V - 1))])  # many repeats
    src = rng.standard_normal((m, H))
    row = rng.integers(0, m, size=n)
    weight = rng.standard_normal(n)
    expected = np.zeros((V, H))
    np.add.at(expected, key, weight[:, None] * src[row])
    return key, src, row, weight, expected


def test_add_rows_sums_repeated_keys(rng):
    key, src, row, weight, expected = _random_rows(rng)
    W = np.zeros_like(expected)
    w2v._add_rows(W, key, src, row, weight)
    np.testing.assert_allclose(W, expected, rtol=1e-12, atol=1e-12)
    W = np.zeros_like(expected)
    w2v._add_rows(W, key, src, row, np.ones_like(weight))
    W2 = np.zeros_like(expected)
    w2v._add_rows(W2, key, src, row, None)
    np.testing.assert_allclose(W, W2, rtol=1e-12, atol=1e-12)
    W3 = np.zeros((src.shape[1], 50)).T  # not C-contiguous
    w2v._add_rows(W3, key, src, row, weight)
    np.testing.assert_allclose(W3, expected, rtol=1e-12, atol=1e-12)


def test_add_rows_caps_frequent_rows(rng):
    key, src, row, weight, _ = _random_rows(rng)
    cap = 20
    counts = np.bincount(key, minlength=50)
    assert counts.max() > cap > np.sort(counts)[-2]  # word 0 is capped, the others not
    expected = np.zeros((50, src.shape[1]))
    scale = np.minimum(1.0, cap / np.maximum(counts, 1))
    np.add.at(expected, key, (scale[key] * weight)[:, None] * src[row])
    W = np.zeros_like(expected)
    w2v._add_rows(W, key, src, row, weight, max_count=cap)
    np.testing.assert_allclose(W, expected, rtol=1e-12, atol=1e-12)


def dense_reference_step(model, corpus, segment_size, seed, lr, context_grad):
    """One SGD step on the summed loss, written densely from the book's formulation.

    Replays train_word2vec's draws (segment order, then negatives from the unigram table)
    so both see the same examples; returns the expected W_in, W_out and mean loss.
    """
    w = model.window_size
    W_in, W_out = (p.copy() for p in model.params)
    contexts, target = contexts_target(corpus, w)
    L = segment_size
    n_segs = -(-target.size // L)
    rng = np.random.default_rng(seed)
    order = rng.permutation(n_segs)
    example = (order[:, None] * L + np.arange(L)).reshape(-1)  # rows in the batch's order
    valid = example < target.size
    example = np.where(valid, example, 0)
    table = w2v.unigram_table(model.ns_loss.sampler.word_p)
    P = 2 * w if isinstance(model, SkipGram) else 1
    negative = table[rng.integers(0, table.size, size=(example.size, P, 5))]
    ctx, tgt = contexts[example], target[example]

    dW_in, dW_out = np.zeros_like(W_in), np.zeros_like(W_out)
    loss = 0.0
    for p in range(P):
        if P == 1:  # CBOW
            h, positive = W_in[ctx].mean(axis=1), tgt
        else:
            h, positive = W_in[tgt], ctx[:, p]
        ids = np.concatenate([positive[:, None], negative[:, p]], axis=1)  # (B, 6)
        use = np.concatenate([valid[:, None], (negative[:, p] != positive[:, None])], axis=1)
        use &= valid[:, None]
        score = (W_out[ids] * h[:, None, :]).sum(axis=2)
        label = np.zeros_like(score)
        label[:, 0] = 1
        loss -= (use * np.log(np.where(label == 1, sigmoid(score), sigmoid(-score)))).sum()
        dscore = (sigmoid(score) - label) * use  # d(summed loss)/dscore
        np.add.at(dW_out, ids, dscore[:, :, None] * h[:, None, :])
        dh = (dscore[:, :, None] * W_out[ids]).sum(axis=1)
        if P == 1:
            np.add.at(
                dW_in, ctx, np.broadcast_to(dh[:, None, :] / (2 * w), ctx.shape + dh.shape[1:])
            )
        else:
            np.add.at(dW_in, tgt, dh)
    # word2vec's CBOW rule gives each context dL/dh: the exact gradient times 2w
    lr_in = lr * 2 * w if (P == 1 and context_grad == "word2vec") else lr
    return W_in - lr_in * dW_in, W_out - lr * dW_out, loss / valid.sum()


@pytest.mark.parametrize(
    "model_cls, context_grad",
    [(CBOW, "word2vec"), (CBOW, "exact"), (SkipGram, "word2vec")],
)
def test_sparse_step_equals_dense_sgd_step(model_cls, context_grad):
    # 37 targets in segments of 5: the last segment is padded, and V=6 makes negatives
    # that equal their target (dropped) frequent
    model, corpus = tiny(model_cls, V=6, H=4, w=2, T=41)
    expected_in, expected_out, expected_loss = dense_reference_step(
        model, corpus, segment_size=5, seed=3, lr=0.1, context_grad=context_grad
    )
    history = train_word2vec(
        model, corpus, window_size=2, epochs=1, batch_size=1000, lr=0.1, sample=0,
        segment_size=5, context_grad=context_grad, max_row_updates=None, seed=3, verbose=False,
    )  # fmt: skip
    assert len(history) == 1  # one batch: the learning rate is lr
    np.testing.assert_allclose(history[0], expected_loss, rtol=1e-10)
    np.testing.assert_allclose(model.params[0], expected_in, rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(model.params[1], expected_out, rtol=1e-10, atol=1e-12)


def test_unigram_table_and_subsampling():
    p = np.array([0.5, 0.25, 0.125, 0.125])
    table = w2v.unigram_table(p, size=1024)
    assert table.dtype == np.int32 and table.size == 1024
    np.testing.assert_array_equal(np.bincount(table), [512, 256, 128, 128])
    keep = w2v.keep_probability([1000, 10, 1, 0], sample=1e-3)
    t = 1e-3 * 1011  # word2vec: keep (sqrt(c / t) + 1) * t / c, at most 1
    np.testing.assert_allclose(keep[:2], (np.sqrt([1000 / t, 10 / t]) + 1) * t / [1000, 10])
    assert keep[2] == keep[3] == 1.0
    np.testing.assert_array_equal(w2v.keep_probability([1000, 10], sample=0), [1, 1])


def grouped_corpus(rng, n_groups=8, per_group=4, T=20000):
    """Words in groups that are interchangeable: the sequence of groups follows a fixed
    cycle (80%) or jumps at random, and each position takes a random word of its group."""
    groups = [0]
    for _ in range(T - 1):
        groups.append((groups[-1] + 1) % n_groups if rng.random() < 0.8 else rng.integers(n_groups))
    groups = np.array(groups)
    return groups * per_group + rng.integers(0, per_group, size=T), per_group


@pytest.mark.parametrize("model_cls, batch_size", [(CBOW, 500), (SkipGram, 100)])
def test_training_learns_interchangeable_words(model_cls, batch_size, rng):
    corpus, per_group = grouped_corpus(rng)
    V = int(corpus.max()) + 1
    np.random.seed(0)
    model = model_cls(V, 16, 2, corpus)
    history = train_word2vec(
        model, corpus, 2, epochs=5, batch_size=batch_size, sample=0, seed=0, verbose=False
    )
    assert all(p.dtype == np.float32 for p in model.params)
    assert np.mean(history[-5:]) < 0.8 * np.mean(history[:5])
    W = model.word_vecs / np.linalg.norm(model.word_vecs, axis=1, keepdims=True)
    sim = W @ W.T
    np.fill_diagonal(sim, -np.inf)
    nearest = sim.argmax(axis=1)
    same_group = nearest // per_group == np.arange(V) // per_group
    assert same_group.mean() >= 0.9


def test_on_epoch_gets_each_epochs_number_and_batch_losses(rng):
    corpus, _ = grouped_corpus(rng)
    model = CBOW(int(corpus.max()) + 1, 8, 2, corpus)
    calls = []
    history = train_word2vec(
        model, corpus, 2, epochs=3, batch_size=500, seed=0, verbose=False,
        on_epoch=lambda epoch, losses: calls.append((epoch, list(losses))),
    )  # fmt: skip
    assert [epoch for epoch, _ in calls] == [1, 2, 3]
    assert all(losses for _, losses in calls)
    assert sum((losses for _, losses in calls), []) == history


def test_default_batch_holds_4000_positive_pairs(rng):
    corpus = rng.integers(0, 7, size=2060)
    assert w2v.default_batch_size(CBOW(7, 3, 5, corpus)) == 4000
    assert w2v.default_batch_size(SkipGram(7, 3, 5, corpus)) == 400  # 2*5 positives a target
    assert w2v.default_batch_size(SkipGram(7, 3, 2, corpus)) == 1000
    # 2,050 SkipGram targets in segments of 50 are 41 segments: batches of 8, so 6 batches
    history = train_word2vec(SkipGram(7, 3, 5, corpus), corpus, sample=0, seed=0, verbose=False)
    assert len(history) == 6


def test_trainer_checks_its_arguments():
    corpus = np.array([0, 1, 2, 3, 4, 1, 2, 0])
    model = CBOW(5, 3, 1, corpus)
    with pytest.raises(TypeError):
        train_word2vec(object(), corpus, verbose=False)
    with pytest.raises(ValueError, match="context_grad"):
        train_word2vec(model, corpus, context_grad="mean", verbose=False)
    with pytest.raises(ValueError):
        train_word2vec(model, corpus, batch_size=0, verbose=False)


# ---------------------------------------------------------------- PTB (needs ZERONLP_DATA)


def read_ptb(path):
    """The book's convention: each line's words then '<eos>', ids by first appearance."""
    words = path.read_text().replace("\n", " <eos> ").split()
    word_to_id = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    return np.array([word_to_id[w] for w in words]), word_to_id


def test_cbow_on_ptb_one_epoch(data_dir):
    path = data_dir / "ptb" / "ptb.train.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found: put the book's ptb.train.txt under $ZERONLP_DATA/ptb/")
    corpus, word_to_id = read_ptb(path)
    np.random.seed(0)
    model = CBOW(len(word_to_id), 100, 5, corpus)
    train_word2vec(model, corpus, 5, epochs=1, verbose=False)
    W = model.word_vecs / np.linalg.norm(model.word_vecs, axis=1, keepdims=True)
    sim = W @ W[word_to_id["you"]]
    id_to_word = {i: w for w, i in word_to_id.items()}
    top = [id_to_word[i] for i in np.argsort(-sim)[1:6]]
    assert {"we", "i"} & set(top), top


def test_skip_gram_default_batch_is_stable_at_lr_0025_on_ptb(data_dir):
    # A SkipGram target has 2*window positives, so a batch of SkipGram targets sums 2*window
    # times the output-row updates of a CBOW batch of as many targets. At 4,000 targets and
    # lr 0.025 held for 3 epochs of PTB's first 100,000 words, the rows grew without bound
    # (loss above 1e6); the default batch must keep the loss falling and the rows small.
    path = data_dir / "ptb" / "ptb.train.txt"
    if not path.is_file():
        pytest.skip(f"{path} not found: put the book's ptb.train.txt under $ZERONLP_DATA/ptb/")
    corpus, word_to_id = read_ptb(path)
    corpus = corpus[:100_000]
    np.random.seed(0)
    model = SkipGram(len(word_to_id), 100, 5, corpus)
    history = train_word2vec(model, corpus, 5, epochs=3, min_lr=0.025, seed=0, verbose=False)
    assert np.mean(history[-10:]) < 0.8 * np.mean(history[:10])
    assert np.abs(model.word_vecs).max() < 10


@pytest.mark.parametrize("model_cls", [CBOW, SkipGram])
def test_books_trainer_trains_the_models(model_cls, rng):
    from zeronlp.optimizers import Adam
    from zeronlp.training import Trainer

    corpus, _ = grouped_corpus(rng, T=2000)
    contexts, target = contexts_target(corpus, 1)
    np.random.seed(0)
    model = model_cls(int(corpus.max()) + 1, 8, 1, corpus)
    trainer = Trainer(model, Adam(lr=0.01))
    trainer.fit(contexts, target, max_epoch=3, batch_size=100, eval_interval=5, verbose=False)
    assert np.mean(trainer.loss_list[-3:]) < 0.9 * trainer.loss_list[0]
    assert all(p.dtype == np.float32 for p in model.params)
