"""Transformer models: TransformerSeq2seq (date, addition) and TransformerLM (PTB).

Both are built from the hand-written layers of ``zeronlp.attention``: token embeddings
scaled by sqrt(d_model), sinusoidal or learned positions, a stack of encoder/decoder layers
(pre-norm by default, with a final LayerNorm; post-norm with ``norm_first=False``), and a
TimeAffine to the vocabulary, fused with the loss (``fused.TimeAffineSoftmaxWithLoss``). The
sizes and choices are one ``TransformerConfig``.

TransformerSeq2seq is a Seq2seq: teacher forcing reads ts[:, :-1] and predicts ts[:, 1:]
exactly as the book's models do, and ``generate``/``generate_batch`` run the same greedy,
sampling and beam decoders (zeronlp/decoding.py). Its decoding state is the encoder memory,
the tokens generated so far and, with ``use_cache=True`` (the default), each decoder
layer's self-attention keys and values: a new token then costs one position's layer work
plus attention over the cached keys, O(T), instead of re-running the decoder over the whole
prefix, O(T^2) per token (``use_cache=False``; causal attention makes the two equal).

TransformerLM is a decoder-only, causal language model with the book's LanguageModel
interface (forward(xs, ts) -> loss, predict, generate, reset_state), so RnnlmTrainer and
eval_perplexity work unchanged: each (N, T) window is attended within itself. Its
``generate`` keeps a key/value cache too (``use_cache``).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from ..attention import (
    FeedForward,
    LayerNorm,
    LearnedPositionalEmbedding,
    MultiHeadAttention,
    PositionalEncoding,
    TransformerDecoderLayer,
    TransformerEncoderLayer,
    dropout_forward,
)
from ..backend import get_array_module
from ..errors import InputError
from ..layers import Dropout
from ..time_layers import TimeEmbedding
from .base import collect_params
from .init import output_layer, randn, zeros
from .rnnlm import LanguageModel
from .seq2seq import Seq2seq


@dataclass(frozen=True)
class TransformerConfig:
    """The sizes and choices of a Transformer model, checked when made.

    vocab_size; d_model (D, divisible by num_heads); num_heads; d_ff (the feed-forward's
    inner size); num_layers (per stack); dropout_ratio in [0, 1); norm_first (pre-norm);
    activation "relu" or "gelu"; positions "sinusoidal" or "learned"; max_len (learned
    positions' rows, and the language model's generation context).
    """

    vocab_size: int
    d_model: int = 64
    num_heads: int = 4
    d_ff: int = 256
    num_layers: int = 2
    dropout_ratio: float = 0.1
    norm_first: bool = True
    activation: str = "relu"
    positions: str = "sinusoidal"
    max_len: int = 64

    def __post_init__(self):
        if self.d_model % self.num_heads:
            raise InputError(
                f"d_model = {self.d_model} must be divisible by num_heads = {self.num_heads}"
            )
        if self.num_layers < 1:
            raise InputError(f"num_layers must be >= 1, got {self.num_layers}")
        if not 0.0 <= self.dropout_ratio < 1.0:
            raise InputError(f"dropout_ratio must lie in [0, 1), got {self.dropout_ratio}")
        if self.positions not in ("sinusoidal", "learned"):
            raise InputError(f"positions must be 'sinusoidal' or 'learned', got {self.positions!r}")
        if self.activation not in ("relu", "gelu"):
            raise InputError(f"activation must be 'relu' or 'gelu', got {self.activation!r}")


def _mha(D, heads):
    """Multi-head attention with Glorot-like N(0, 1/D) weights and zero biases."""
    weights = []
    for _ in range(4):
        weights += [randn(D, D, scale=1 / math.sqrt(D)), zeros(D)]
    return MultiHeadAttention(*weights, heads)


def _ff(D, F, activation, dropout_ratio):
    return FeedForward(
        randn(D, F, scale=1 / math.sqrt(D)),
        zeros(F),
        randn(F, D, scale=1 / math.sqrt(F)),
        zeros(D),
        activation,
        dropout_ratio,
    )


def _ln(D):
    return LayerNorm(zeros(D) + 1, zeros(D))


def _encoder_layers(c):
    """``c.num_layers`` self-attention blocks (an encoder, or a decoder-only LM's stack)."""
    return [
        TransformerEncoderLayer(
            _mha(c.d_model, c.num_heads),
            _ff(c.d_model, c.d_ff, c.activation, c.dropout_ratio),
            _ln(c.d_model),
            _ln(c.d_model),
            c.dropout_ratio,
            c.norm_first,
        )
        for _ in range(c.num_layers)
    ]


class _Embedding:
    """Token embedding * sqrt(D) + positions, then dropout: ids (N, T) -> (N, T, D)."""

    def __init__(self, c):
        D = c.d_model
        # N(0, 1/D) rows times sqrt(D): unit-scale vectors, comparable to the positions
        self.embed = TimeEmbedding(randn(c.vocab_size, D, scale=1 / math.sqrt(D)))
        if c.positions == "learned":
            self.pos = LearnedPositionalEmbedding(randn(c.max_len, D, scale=0.1))
        else:
            self.pos = PositionalEncoding()
        self.dropout = Dropout(c.dropout_ratio)
        self.scale = math.sqrt(D)
        self.params, self.grads = collect_params([self.embed, self.pos])

    def forward(self, xs, train_flg=False, offset=0):
        """``offset``: xs sit at positions offset.. (generation with a key/value cache)."""
        x = self.embed.forward(xs) * self.scale
        return dropout_forward(self.dropout, self.pos.forward(x, offset), train_flg)

    def backward(self, dout):
        dx = self.pos.backward(self.dropout.backward(dout))
        self.embed.backward(dx * self.scale)


class TransformerEncoder:
    """Embedding + positions -> encoder layers (-> final LayerNorm when pre-norm).

    forward(xs (N, T) ids, key_padding_mask=None, train_flg=False) -> memory (N, T, D);
    backward(dmemory) -> None.
    """

    def __init__(self, config):
        c = config
        self.embedding = _Embedding(c)
        self.layers = _encoder_layers(c)
        self.final_norm = _ln(c.d_model) if c.norm_first else None
        parts = [self.embedding, *self.layers] + ([self.final_norm] if c.norm_first else [])
        self.params, self.grads = collect_params(parts)

    def forward(self, xs, key_padding_mask=None, train_flg=False):
        x = self.embedding.forward(xs, train_flg)
        for layer in self.layers:
            x = layer.forward(x, key_padding_mask=key_padding_mask, train_flg=train_flg)
        return x if self.final_norm is None else self.final_norm.forward(x)

    def backward(self, dout):
        if self.final_norm is not None:
            dout = self.final_norm.backward(dout)
        for layer in reversed(self.layers):
            dout = layer.backward(dout)
        self.embedding.backward(dout)


class TransformerDecoder:
    """Embedding + positions -> decoder layers over the memory (-> final LayerNorm) ->
    TimeAffine to the vocabulary, fused with the model's loss (``affine``).

    forward(xs (N, T) ids, memory (N, Tm, D), memory_key_padding_mask=None, train_flg=False)
    -> scores (N, T, V);
    hidden(...) -> the affine's input (N, T, D); backward_hidden(dhs) -> dmemory (N, Tm, D).
    Decoding: ``start_state(memory)`` is (memory, ids (N, 0)), plus an empty key/value
    cache per layer when ``use_cache``; ``step(ids (B,), state)`` appends the ids and
    returns the scores (B, V) of the next token and the new state.
    """

    def __init__(self, config):
        c, D = config, config.d_model
        self.embedding = _Embedding(c)
        self.layers = [
            TransformerDecoderLayer(
                _mha(D, c.num_heads),
                _mha(D, c.num_heads),
                _ff(D, c.d_ff, c.activation, c.dropout_ratio),
                _ln(D),
                _ln(D),
                _ln(D),
                c.dropout_ratio,
                c.norm_first,
            )
            for _ in range(c.num_layers)
        ]
        self.final_norm = _ln(D) if c.norm_first else None
        self.affine = output_layer(D, c.vocab_size)  # fused with the model's loss
        parts = [self.embedding, *self.layers] + ([self.final_norm] if c.norm_first else [])
        self.params, self.grads = collect_params([*parts, self.affine])
        self.use_cache = True

    def forward(self, xs, memory, memory_key_padding_mask=None, train_flg=False):
        return self.affine.predict(self.hidden(xs, memory, memory_key_padding_mask, train_flg))

    def hidden(self, xs, memory, memory_key_padding_mask=None, train_flg=False):
        """The affine's input (N, T, D)."""
        x = self.embedding.forward(xs, train_flg)
        for layer in self.layers:
            x = layer.forward(
                x,
                memory,
                causal=True,
                memory_key_padding_mask=memory_key_padding_mask,
                train_flg=train_flg,
            )
        if self.final_norm is not None:
            x = self.final_norm.forward(x)
        return x

    def backward_hidden(self, dout):
        if self.final_norm is not None:
            dout = self.final_norm.backward(dout)
        dmemory = 0
        for layer in reversed(self.layers):
            dout, dm = layer.backward(dout)
            dmemory = dmemory + dm
        self.embedding.backward(dout)
        return dmemory

    # decoding: the state is (memory, the ids fed so far[, each layer's (K, V) cache])
    def start_state(self, memory):
        xp = get_array_module(memory)
        state = (memory, xp.zeros((memory.shape[0], 0), dtype=xp.int64))
        if self.use_cache:
            state += (tuple(() for _ in self.layers),)  # empty caches
        return state

    def step(self, ids, state):
        memory, prefix, *cache = state
        xp = get_array_module(memory)
        prefix = xp.concatenate([prefix, ids.astype(xp.int64)[:, None]], axis=1)
        if not cache:  # re-run the whole prefix (B, T)
            scores = self.forward(prefix, memory, train_flg=False)
            return scores[:, -1, :], (memory, prefix)
        # only the new position (B, 1) runs; the earlier ones' keys and values are cached
        x = self.embedding.forward(ids[:, None], offset=prefix.shape[1] - 1)
        present = []
        for layer, past in zip(self.layers, cache[0], strict=True):
            x = layer.forward(x, memory, causal=True, past=past)
            present.append(layer.self_attn.present)  # (K, V), each (B, heads, T, d)
        if self.final_norm is not None:
            x = self.final_norm.forward(x)
        scores = self.affine.predict(x)[:, 0, :]  # (B, V)
        return scores, (memory, prefix, tuple(present))


class TransformerSeq2seq(Seq2seq):
    """Encoder-decoder Transformer for the book's seq2seq tasks (date, addition).

    forward(xs (N, Tq), ts (N, Ta), train_flg=True) -> loss: teacher forcing on
    ts[:, :-1] -> ts[:, 1:] like Seq2seq; backward(dout=1). ``generate`` and
    ``generate_batch(xs, start_id, sample_size, method='greedy'|'beam'|'sample')`` decode
    in evaluation mode (no dropout). ``attention_map(xs, ts)`` gives the last decoder
    layer's cross-attention weights (N, heads, Ta-1, Tq) for heatmaps.

    params: encoder (embedding, positions, layers, final norm), then decoder (the same,
    with cross-attention, then the output affine). ``norm_first=True`` (pre-norm) trains
    stably without a learning-rate warm-up at these sizes.
    """

    def __init__(
        self,
        vocab_size,
        d_model=64,
        num_heads=4,
        d_ff=256,
        num_layers=2,
        dropout_ratio=0.1,
        norm_first=True,
        activation="relu",
        positions="sinusoidal",
        max_len=64,
    ):
        self.settings = TransformerConfig(
            vocab_size, d_model, num_heads, d_ff, num_layers, dropout_ratio, norm_first,
            activation, positions, max_len,
        )  # fmt: skip
        self.encoder = TransformerEncoder(self.settings)
        self.decoder = TransformerDecoder(self.settings)
        self._finish_init()

    def generate_batch(self, xs, start_id, sample_size, method="greedy", use_cache=True, **options):
        """Seq2seq.generate_batch, with the decoder's key/value cache on (``use_cache``,
        the default) or off: the same tokens, O(T) or O(T^2) decoder work per token."""
        self.decoder.use_cache = bool(use_cache)
        try:
            return super().generate_batch(xs, start_id, sample_size, method, **options)
        finally:
            self.decoder.use_cache = True

    def forward(self, xs, ts, train_flg=True):
        ts = get_array_module(self.params[0]).asarray(ts)  # a list too, as xs may be
        if ts.ndim != 2 or ts.shape[1] < 2:
            raise InputError(f"ts must be answer ids of shape (N, Ta >= 2), got {tuple(ts.shape)}")
        memory = self.encoder.forward(xs, train_flg=train_flg)
        hs = self.decoder.hidden(ts[:, :-1], memory, train_flg=train_flg)
        self.loss_layer.train_flg = train_flg
        return self.loss_layer.forward(hs, ts[:, 1:])

    def attention_map(self, xs, ts):
        """Cross-attention weights (N, heads, Ta-1, Tq) of the last decoder layer, from a
        teacher-forced pass in evaluation mode: answer step over question position."""
        self.decoder.forward(ts[:, :-1], self.encoder.forward(xs))
        return self.decoder.layers[-1].cross_attn.weights


class TransformerLM(LanguageModel):
    """Decoder-only causal Transformer language model (GPT-style) for PTB.

    forward(xs (N, T), ts (N, T), train_flg=True) -> mean cross-entropy;
    predict(xs, train_flg=False) -> scores (N, T, V); backward(dout=1).
    Each window attends within itself; ``max_len`` bounds the window (learned positions
    have that many rows; generation keeps the last ``max_len`` ids as context).

    The "state" of this model is the context for generation: ``predict`` appends its ids
    to it (like an RNN's state carrying over), ``reset_state()`` clears it, and
    ``generate`` continues from it. Training is unaffected by it, so RnnlmTrainer works.

    ``generate(..., use_cache=True)`` (the default) keeps every block's self-attention
    keys and values, each (B, heads, T, d), in the decoding state: the first step runs the
    context once, each later one only the new token (O(T) per token instead of O(T^2)).
    Once the context outgrows ``max_len`` the window slides, every position's encoding
    changes, and each step re-runs the window (as ``use_cache=False`` always does): the
    tokens are the same either way.
    """

    def __init__(
        self,
        vocab_size=10000,
        d_model=128,
        num_heads=4,
        d_ff=512,
        num_layers=2,
        dropout_ratio=0.1,
        norm_first=True,
        activation="gelu",
        positions="sinusoidal",
        max_len=256,
    ):
        c = self.settings = TransformerConfig(
            vocab_size, d_model, num_heads, d_ff, num_layers, dropout_ratio, norm_first,
            activation, positions, max_len,
        )  # fmt: skip
        self.max_len = max_len
        self.embedding = _Embedding(c)
        self.blocks = _encoder_layers(c)
        self.final_norm = _ln(d_model) if norm_first else None
        self.loss_layer = output_layer(d_model, vocab_size)  # affine + softmax + loss, fused
        norm = [self.final_norm] if norm_first else []
        self.layers = [self.embedding, *self.blocks, *norm]
        self.recurrent_layers = []
        self.context = None
        self._use_cache = True
        self._collect_params()

    def hidden(self, xs, train_flg=False):
        xs = get_array_module(self.loss_layer.params[0]).asarray(xs)
        if xs.ndim != 2:
            raise InputError(f"TransformerLM expects ids of shape (N, T), got {tuple(xs.shape)}")
        self._remember(xs)
        x = self.embedding.forward(xs, train_flg)
        for block in self.blocks:
            x = block.forward(x, causal=True, train_flg=train_flg)
        if self.final_norm is not None:
            x = self.final_norm.forward(x)
        return x

    # ------------------------------------------------------------ generation state

    def _remember(self, xs):
        ctx = self.context
        if ctx is None or ctx.shape[0] != xs.shape[0]:
            ctx = xs
        else:
            ctx = get_array_module(xs).concatenate([ctx, xs], axis=1)
        self.context = ctx[:, -self.max_len :]

    def reset_state(self):
        self.context = None

    def get_state(self):
        return (self.context,)

    def set_state(self, state):
        (self.context,) = state

    def generate(self, *args, use_cache=True, **kwargs):
        """LanguageModel.generate (the book's API), with a key/value cache (``use_cache``)."""
        self._use_cache = bool(use_cache)
        try:
            return super().generate(*args, **kwargs)
        finally:
            self._use_cache = True

    def _step(self, ids, state):
        if self._use_cache:
            return self._cached_step(ids, state)
        (ctx,) = state
        ids = ids[:, None]
        ctx = ids if ctx is None else get_array_module(ids).concatenate([ctx, ids], axis=1)
        ctx = ctx[:, -self.max_len :]
        self.context = None  # predict would append ctx to itself
        scores = self.predict(ctx)[:, -1, :]
        self.context = ctx
        return scores, (ctx,)

    def _cached_step(self, ids, state):
        """state: (ctx (B, Tc) or None,) at the start, then (ctx, each block's (K, V))."""
        ctx, *cache = state
        xp = get_array_module(ids)
        ids = ids[:, None]  # (B, 1)
        ctx = ids if ctx is None else xp.concatenate([ctx, ids], axis=1)
        if not cache or ctx.shape[1] > self.max_len:
            # the first step (the context may be a whole prompt) or a slid window: run it all
            ctx = ctx[:, -self.max_len :]
            new, offset, cache = ctx, 0, tuple(() for _ in self.blocks)
        else:
            new, offset, cache = ids, ctx.shape[1] - 1, cache[0]
        x = self.embedding.forward(new, offset=offset)  # (B, T_new, D)
        present = []
        for block, past in zip(self.blocks, cache, strict=True):
            x = block.forward(x, causal=True, past=past)
            present.append(block.self_attn.present)  # (K, V), each (B, heads, Tc, d)
        x = x[:, -1:]  # (B, 1, D): only the last position predicts
        if self.final_norm is not None:
            x = self.final_norm.forward(x)
        scores = self.loss_layer.predict(x)[:, 0, :]  # (B, V)
        self.context = ctx
        return scores, (ctx, tuple(present))
