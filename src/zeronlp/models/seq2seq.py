"""Sequence-to-sequence models of the book: Seq2seq, PeekySeq2seq (ch. 7), AttentionSeq2seq
(ch. 8).

An encoder reads the question ids xs (N, Tq); a decoder is trained with teacher forcing on
the answer ts (N, Ta): it reads ts[:, :-1] and predicts ts[:, 1:] (the first answer
character, '_' in the book's data, is the start symbol). ``generate`` decodes answers
greedily (the book's), or by sampling or beam search.

The order of ``params`` is the book's (encoder embedding and LSTM, then decoder embedding,
LSTM and affine), so ``AttentionSeq2seq.pkl`` loads one to one. Initialisation is the
book's except for the embeddings (see ``embedding``).
"""

from __future__ import annotations

import inspect
import math

from ..attention import TimeAttention
from ..backend import get_array_module, on_device_of, to_cpu
from ..decoding import beam_search, greedy_decode, sample_decode
from ..errors import InputError
from ..time_layers import TimeEmbedding
from .base import BaseModel, collect_params
from .init import lstm, output_layer, randn


def embedding(V, D):
    """A TimeEmbedding (V, D) with std 1/sqrt(D), where the book draws std 0.01.

    1/sqrt(D) is the book's own rule for its other weights (randn / sqrt(fan-in)). It
    matters with Adam, which moves each weight by about lr (0.001) per step: embeddings that
    start at 0.01 need hundreds of steps to grow to a useful size, while the encoder's states
    barely depend on the input. On the date task the first epoch then learns most of the
    task instead of almost none of it (the figures are in the README, Results).
    """
    return TimeEmbedding(randn(V, D, scale=1 / math.sqrt(D)))


# ---------------------------------------------------------------- plain seq2seq


class Encoder:
    """TimeEmbedding -> TimeLSTM. forward(xs (N, T)) -> h (N, H): the last hidden state."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = embedding(V, D)
        self.lstm = lstm(D, H, stateful=False)
        self.params, self.grads = collect_params([self.embed, self.lstm])
        self.hs = None

    def forward(self, xs):
        self.hs = self.lstm.forward(self.embed.forward(xs))
        return self.hs[:, -1, :]

    def backward(self, dh):
        dhs = get_array_module(dh).zeros_like(self.hs)
        dhs[:, -1, :] = dh
        self.embed.backward(self.lstm.backward(dhs))


class Decoder:
    """TimeEmbedding -> TimeLSTM (starting from the encoder's h) -> TimeAffine, the affine
    fused with the model's loss (``affine``: a TimeAffineSoftmaxWithLoss, params W, b).

    hidden(xs (N, T), h (N, H)) -> the affine's input (N, T, H); backward_hidden(dhs) ->
    dh (N, H). forward(xs, h) -> scores (N, T, V).
    """

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = embedding(V, D)
        self.lstm = lstm(D, H, stateful=True)
        self.affine = output_layer(H, V)
        self.params, self.grads = collect_params([self.embed, self.lstm, self.affine])

    def hidden(self, xs, h):
        self.lstm.set_state(h)
        return self.lstm.forward(self.embed.forward(xs))

    def backward_hidden(self, dhs):
        self.embed.backward(self.lstm.backward(dhs))
        return self.lstm.dh

    def forward(self, xs, h):
        return self.affine.predict(self.hidden(xs, h))

    # decoding: the state is (h, c)
    def start_state(self, h):
        return (h, get_array_module(h).zeros_like(h))

    def step(self, ids, state):
        self.lstm.set_state(*state)
        scores = self.affine.predict(self.lstm.forward(self.embed.forward(ids[:, None])))
        return scores[:, 0, :], (self.lstm.h, self.lstm.c)


class Seq2seq(BaseModel):
    """Encoder + Decoder + TimeSoftmaxWithLoss (fused with the decoder's affine: the
    decoder's ``affine`` is also the model's ``loss_layer``).

    forward(xs (N, Tq), ts (N, Ta), train_flg=True) -> loss; backward(dout=1).
    """

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        args = (vocab_size, wordvec_size, hidden_size)
        self.encoder = Encoder(*args)
        self.decoder = Decoder(*args)
        self._finish_init()

    def _finish_init(self):
        self.loss_layer = self.decoder.affine
        self.params = self.encoder.params + self.decoder.params
        self.grads = self.encoder.grads + self.decoder.grads

    def forward(self, xs, ts, train_flg=True):
        """train_flg=False (evaluation): the loss only, without the gradients."""
        ts = get_array_module(self.params[0]).asarray(ts)  # a list too, as xs may be
        if ts.ndim != 2 or ts.shape[1] < 2:
            raise InputError(f"ts must be answer ids of shape (N, Ta >= 2), got {tuple(ts.shape)}")
        decoder_xs, decoder_ts = ts[:, :-1], ts[:, 1:]
        h = self.encoder.forward(xs)
        hs = self.decoder.hidden(decoder_xs, h)
        self.loss_layer.train_flg = train_flg
        return self.loss_layer.forward(hs, decoder_ts)

    def backward(self, dout=1):
        dh = self.decoder.backward_hidden(self.loss_layer.backward(dout))
        return self.encoder.backward(dh)

    def generate(self, xs, start_id, sample_size, method="greedy", **options):
        """Answer ids for questions xs (N, Tq) (the book's API, which returns a list for N=1).

        method: "greedy" (the book's), "sample" (options ``temperature``, ``top_k``, ``top_p``) or
        "beam" (options ``beam_width``, ``length_penalty``). Returns a list of
        ``sample_size`` ids for one question, a list of such lists for several.
        """
        ids = self.generate_batch(xs, start_id, sample_size, method, **options)
        rows = to_cpu(ids).tolist()  # one copy to the host
        return rows[0] if len(rows) == 1 else rows

    def generate_batch(self, xs, start_id, sample_size, method="greedy", **options):
        """Like ``generate`` but returns an array (N, sample_size): fast batched evaluation.

        start_id: an int, or (N,) ids, one per question. With ``method="beam"`` and
        ``return_all=True``: every beam, (N, beam_width, sample_size), best first.
        """
        state = self.decoder.start_state(self.encoder.forward(xs))
        module = get_array_module(self.params[0])
        # one start id for all questions, or one per question
        with on_device_of(self.params[0]):  # the model's device, not the current one
            start = module.asarray(start_id, dtype=module.int64)
        start = module.broadcast_to(start, (xs.shape[0],))
        decoders = {"greedy": greedy_decode, "sample": sample_decode, "beam": beam_search}
        if method not in decoders:
            raise InputError(f"method must be 'greedy', 'sample' or 'beam', got {method!r}")
        decode = decoders[method]
        known = list(inspect.signature(decode).parameters)[4:]  # after step, state, ids, len
        unknown = sorted(set(options) - set(known))
        if unknown:
            raise InputError(
                f"method {method!r} takes the options {', '.join(known)}; got {', '.join(unknown)}"
            )
        ids = decode(self.decoder.step, state, start, sample_size, **options)
        return ids[0] if method == "beam" else ids


# ---------------------------------------------------------------- peeky


class PeekyDecoder(Decoder):
    """A decoder that sees the encoder's h at every step: h is concatenated to the LSTM's
    input and to the affine layer's input (book ch. 7.5)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = embedding(V, D)
        self.lstm = lstm(H + D, H, stateful=True)
        self.affine = output_layer(H + H, V)
        self.params, self.grads = collect_params([self.embed, self.lstm, self.affine])
        self.cache = None

    def _peek(self, h, out):
        """Concatenate h (N, H) in front of every step of out (N, T, ...)."""
        module = get_array_module(out)
        N, T = out.shape[:2]
        hs = module.broadcast_to(h[:, None, :], (N, T, h.shape[1]))
        return module.concatenate((hs, out), axis=2)

    def hidden(self, xs, h):
        self.lstm.set_state(h)
        out = self._peek(h, self.embed.forward(xs))  # (N, T, H + D)
        self.cache = h.shape[1]
        return self._peek(h, self.lstm.forward(out))  # (N, T, H + H)

    def backward_hidden(self, dout):
        H = self.cache
        dout, dhs0 = dout[:, :, H:], dout[:, :, :H]
        dout = self.lstm.backward(dout)
        dembed, dhs1 = dout[:, :, H:], dout[:, :, :H]
        self.embed.backward(dembed)
        return self.lstm.dh + (dhs0 + dhs1).sum(axis=1)

    # decoding: the state is (h, c, h_enc)
    def start_state(self, h):
        return (h, get_array_module(h).zeros_like(h), h)

    def step(self, ids, state):
        h, c, h_enc = state
        self.lstm.set_state(h, c)
        out = self._peek(h_enc, self.embed.forward(ids[:, None]))
        out = self._peek(h_enc, self.lstm.forward(out))
        return self.affine.predict(out)[:, 0, :], (self.lstm.h, self.lstm.c, h_enc)


class PeekySeq2seq(Seq2seq):
    """Encoder + PeekyDecoder (book ch. 7.5)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        args = (vocab_size, wordvec_size, hidden_size)
        self.encoder = Encoder(*args)
        self.decoder = PeekyDecoder(*args)
        self._finish_init()


# ---------------------------------------------------------------- attention


class AttentionEncoder(Encoder):
    """An encoder that returns all hidden states hs (N, T, H), for attention."""

    def forward(self, xs):
        self.hs = self.lstm.forward(self.embed.forward(xs))
        return self.hs

    def backward(self, dhs):
        self.embed.backward(self.lstm.backward(dhs))


class AttentionDecoder:
    """TimeEmbedding -> TimeLSTM -> TimeAttention over the encoder states -> TimeAffine of
    [context, hidden] (book ch. 8), the affine fused with the model's loss.
    hidden(xs (N, T), enc_hs (N, Te, H)) -> [context, hidden] (N, T, 2H);
    backward_hidden(dout (N, T, 2H)) -> denc_hs (N, Te, H); forward -> scores (N, T, V)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.embed = embedding(V, D)
        self.lstm = lstm(D, H, stateful=True)
        self.attention = TimeAttention()
        self.affine = output_layer(2 * H, V)
        self.layers = [self.embed, self.lstm, self.attention, self.affine]
        self.params, self.grads = collect_params(self.layers)

    def _context(self, xs, enc_hs):
        dec_hs = self.lstm.forward(self.embed.forward(xs))  # (N, T, H)
        c = self.attention.forward(enc_hs, dec_hs)  # (N, T, H)
        return get_array_module(c).concatenate((c, dec_hs), axis=2)  # (N, T, 2H)

    def hidden(self, xs, enc_hs):
        self.lstm.set_state(enc_hs[:, -1])
        return self._context(xs, enc_hs)

    def forward(self, xs, enc_hs):
        return self.affine.predict(self.hidden(xs, enc_hs))

    def backward_hidden(self, dout):
        H = dout.shape[2] // 2
        dc, ddec_hs0 = dout[:, :, :H], dout[:, :, H:]
        denc_hs, ddec_hs1 = self.attention.backward(dc)
        dout = self.lstm.backward(ddec_hs0 + ddec_hs1)
        denc_hs[:, -1] += self.lstm.dh
        self.embed.backward(dout)
        return denc_hs

    # decoding: the state is (h, c, enc_hs)
    def start_state(self, enc_hs):
        h = enc_hs[:, -1]
        return (h, get_array_module(h).zeros_like(h), enc_hs)

    def step(self, ids, state):
        h, c, enc_hs = state
        self.lstm.set_state(h, c)
        scores = self.affine.predict(self._context(ids[:, None], enc_hs))
        return scores[:, 0, :], (self.lstm.h, self.lstm.c, enc_hs)


class AttentionSeq2seq(Seq2seq):
    """AttentionEncoder + AttentionDecoder (book ch. 8). After ``generate``, the decoder's
    ``attention.weights`` holds the last step's weights; ``attention_map(xs, ts)`` gives
    the weights (N, Ta-1, Tq) of a teacher-forced pass, for heatmaps."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        args = (vocab_size, wordvec_size, hidden_size)
        self.encoder = AttentionEncoder(*args)
        self.decoder = AttentionDecoder(*args)
        self._finish_init()

    def attention_map(self, xs, ts):
        """Attention weights (N, Ta-1, Tq) of each answer step over the question."""
        self.decoder.forward(ts[:, :-1], self.encoder.forward(xs))
        return self.decoder.attention.weights
