"""Transformer generation with a key/value cache equals generation without it, and
top-p (nucleus) sampling keeps exactly the nucleus."""

import numpy as np
import pytest

import zeronlp
from zeronlp.attention import MultiHeadAttention
from zeronlp.decoding import sample_decode, top_p_filter
from zeronlp.models import Rnnlm, TransformerLM, TransformerSeq2seq

# ---------------------------------------------------------------- the attention layer


def _mha(rng, D=12, heads=3):
    weights = []
    for _ in range(4):
        weights += [rng.standard_normal((D, D)).astype(np.float32), rng.standard_normal(D)]
    return MultiHeadAttention(*[w.astype(np.float32) for w in weights], heads)


@pytest.mark.parametrize("first", [1, 3])
def test_cached_self_attention_equals_causal_attention_over_the_whole_sequence(first):
    rng = np.random.default_rng(0)
    mha = _mha(rng)
    x = rng.standard_normal((2, 7, 12)).astype(np.float32)  # (N, T, D)
    full = mha.forward(x, causal=True)
    # a prompt of ``first`` positions at once, then one position per call
    outs = [mha.forward(x[:, :first], causal=True, past=())]
    K, V = mha.present
    assert K.shape == V.shape == (2, 3, first, 4)  # (N, heads, Tc, d)
    for t in range(first, 7):
        outs.append(mha.forward(x[:, t : t + 1], causal=True, past=(K, V)))
        K, V = mha.present
        assert K.shape == (2, 3, t + 1, 4)
        assert mha.weights.shape == (2, 3, 1, t + 1)  # one query over all cached keys
    np.testing.assert_allclose(np.concatenate(outs, axis=1), full, rtol=1e-5, atol=1e-5)


def test_a_cache_is_for_self_attention_only():
    rng = np.random.default_rng(1)
    mha = _mha(rng)
    x = rng.standard_normal((2, 3, 12)).astype(np.float32)
    with pytest.raises(ValueError, match="self-attention"):
        mha.forward(x, x, past=())


# ---------------------------------------------------------------- language model


def _lm(**config):
    zeronlp.seed(3)
    settings = dict(vocab_size=40, d_model=16, num_heads=4, d_ff=32, num_layers=2)
    settings.update(dropout_ratio=0.0, max_len=12)
    settings.update(config)
    return TransformerLM(**settings)


def _generate(model, use_cache, method, prompt=(5, 6, 7), n=30, **options):
    zeronlp.seed(11)
    model.reset_state()
    if prompt:
        model.predict(np.array([prompt]))
    return model.generate(2, sample_size=n, method=method, use_cache=use_cache, **options)


LM_CONFIGS = [
    {},
    {"positions": "learned", "norm_first": False, "activation": "relu"},
    {"max_len": 64},  # the window never slides
]


@pytest.mark.parametrize("config", LM_CONFIGS)
@pytest.mark.parametrize("method", ["greedy", "sample", "beam"])
def test_lm_cached_generation_gives_the_uncached_tokens(config, method):
    model = _lm(**config)
    options = {"top_k": 20, "top_p": 0.9} if method == "sample" else {}
    n = 11 if config.get("positions") == "learned" else 30  # learned: at most max_len rows
    cached = _generate(model, True, method, n=n, **options)
    uncached = _generate(model, False, method, n=n, **options)
    assert cached == uncached
    assert len(set(cached)) > 2  # not a degenerate constant answer


def test_lm_cached_step_logits_equal_uncached_step_by_step():
    model = _lm(max_len=64)
    model.reset_state()
    ids = np.random.default_rng(4).integers(0, 40, size=(3, 20))
    cached, uncached = (None,), (None,)
    for t in range(ids.shape[1]):
        model._use_cache = False
        s0, uncached = model._step(ids[:, t], uncached)
        model._use_cache = True
        s1, cached = model._step(ids[:, t], cached)
        assert s1.dtype == np.float32
        np.testing.assert_allclose(s1, s0, rtol=1e-4, atol=1e-5)
    # the cached steps ran one position each: attention of 1 query over all 20 keys
    assert model.blocks[0].self_attn.weights.shape == (3, 4, 1, 20)
    K, V = cached[1][0]
    assert K.shape == V.shape == (3, 4, 20, 4)  # (B, heads, T, d)


def test_lm_generate_without_cache_leaves_the_default_on():
    model = _lm()
    _generate(model, False, "greedy", n=3)
    assert model._use_cache is True


# ---------------------------------------------------------------- seq2seq


@pytest.mark.parametrize("method", ["greedy", "sample", "beam"])
@pytest.mark.parametrize("norm_first", [True, False])
def test_seq2seq_cached_generation_gives_the_uncached_tokens(method, norm_first):
    zeronlp.seed(5)
    model = TransformerSeq2seq(13, 16, 2, 32, 2, dropout_ratio=0.0, norm_first=norm_first)
    xs = np.random.default_rng(6).integers(0, 13, size=(4, 7))
    options = {"beam_width": 3} if method == "beam" else {}
    if method == "sample":
        options = {"temperature": 1.5, "top_p": 0.95}
    outs = []
    for use_cache in (True, False):
        zeronlp.seed(9)
        outs.append(model.generate_batch(xs, 1, 10, method, use_cache=use_cache, **options))
    np.testing.assert_array_equal(outs[0], outs[1])
    assert len(np.unique(outs[0])) > 2


def test_seq2seq_cached_step_logits_equal_uncached_step_by_step():
    zeronlp.seed(7)
    model = TransformerSeq2seq(13, 16, 2, 32, 2, dropout_ratio=0.0)
    xs = np.random.default_rng(8).integers(0, 13, size=(2, 5))
    memory = model.encoder.forward(xs)
    model.decoder.use_cache = True
    cached = model.decoder.start_state(memory)
    model.decoder.use_cache = False
    uncached = model.decoder.start_state(memory)
    assert len(cached) == 3 and len(uncached) == 2
    for t in np.random.default_rng(9).integers(0, 13, size=(8, 2)):
        s0, uncached = model.decoder.step(t, uncached)
        s1, cached = model.decoder.step(t, cached)
        np.testing.assert_allclose(s1, s0, rtol=1e-4, atol=1e-5)
    assert model.decoder.layers[0].self_attn.weights.shape == (2, 2, 1, 8)


# ---------------------------------------------------------------- top-p


P = np.array([0.05, 0.5, 0.15, 0.3])  # sorted: 1 (0.5), 3 (0.3), 2 (0.15), 0 (0.05)


@pytest.mark.parametrize(
    "top_p, nucleus",
    [
        (0.3, {1}),
        (0.5, {1}),
        (0.6, {1, 3}),
        (0.75, {1, 3}),
        (0.9, {1, 3, 2}),
        (0.99, {0, 1, 2, 3}),
        (1.0, {0, 1, 2, 3}),
    ],
)
def test_top_p_keeps_exactly_the_nucleus(top_p, nucleus):
    logits = np.log(np.stack([P, P[::-1]])).astype(np.float32)  # two rows, one reversed
    out = top_p_filter(logits, top_p)
    assert set(np.flatnonzero(np.isfinite(out[0]))) == nucleus
    assert set(np.flatnonzero(np.isfinite(out[1]))) == {3 - i for i in nucleus}
    kept = np.isfinite(out)
    np.testing.assert_array_equal(out[kept], logits[kept])  # kept logits unchanged


def test_sampling_with_top_p_draws_only_and_all_of_the_nucleus():
    logits = np.log(P)

    def step(ids, state):
        return np.tile(logits, (ids.shape[0], 1)), state

    zeronlp.seed(0)
    ids = sample_decode(step, None, np.zeros(50, dtype=np.int64), 40, top_p=0.75)
    assert set(np.unique(ids)) == {1, 3}
    ids = sample_decode(step, None, np.zeros(50, dtype=np.int64), 40, top_p=0.75, top_k=1)
    assert set(np.unique(ids)) == {1}


@pytest.mark.parametrize("top_p", [0.0, -0.1, 1.5])
def test_top_p_outside_0_1_is_a_user_error(top_p):
    with pytest.raises(zeronlp.errors.InputError, match="top_p"):
        sample_decode(lambda i, s: (np.zeros((1, 3)), s), None, np.zeros(1, int), 2, top_p=top_p)


def test_every_generating_model_takes_top_p():
    zeronlp.seed(0)
    rnnlm = Rnnlm(vocab_size=30, wordvec_size=8, hidden_size=8)
    ids = rnnlm.generate(0, sample_size=20, top_p=1e-6)  # the likeliest word every time
    rnnlm.reset_state()
    assert ids == rnnlm.generate(0, sample_size=20, method="greedy")
    lm = _lm()
    lm.reset_state()
    sampled = lm.generate(2, sample_size=15, top_p=1e-6)
    lm.reset_state()
    assert sampled == lm.generate(2, sample_size=15, method="greedy")
    model = TransformerSeq2seq(13, 16, 2, 32, 1, dropout_ratio=0.0)
    xs = np.arange(10).reshape(2, 5)
    np.testing.assert_array_equal(
        model.generate_batch(xs, 1, 6, "sample", top_p=1e-6),
        model.generate_batch(xs, 1, 6, "greedy"),
    )
