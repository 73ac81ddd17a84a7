"""RNN language models of the book: SimpleRnnlm (ch. 5), Rnnlm and BetterRnnlm (ch. 6).

All take word ids xs (N, T) and next-word targets ts (N, T) and return the mean
cross-entropy; ``predict(xs)`` gives the scores (N, T, V). The recurrent layers are
stateful, so consecutive batches of a corpus continue each other (truncated BPTT);
``reset_state()`` starts afresh. ``generate`` writes text (ids) from a start word.

Initialisation and the order of ``params`` are the book's, so its published parameter
files (``Rnnlm.pkl``) load one to one.
"""

from __future__ import annotations

import math

from ..backend import float_dtype, get_array_module, on_device_of, to_cpu, xp
from ..time_layers import (
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeLSTM,
    TimeRNN,
    TimeSoftmaxWithLoss,
)
from ..training.decoding import beam_search, greedy_decode, sample_decode
from .base import BaseModel


def randn(*shape, scale=1.0):
    """Standard-normal parameters times ``scale``, in the model dtype, on the current device."""
    return (xp().random.randn(*shape) * scale).astype(float_dtype())


def zeros(*shape):
    return xp().zeros(shape, dtype=float_dtype())


def lstm(D, H, stateful):
    """A TimeLSTM with the book's initialisation for input size D and hidden size H."""
    return TimeLSTM(
        randn(D, 4 * H, scale=1 / math.sqrt(D)),
        randn(H, 4 * H, scale=1 / math.sqrt(H)),
        zeros(4 * H),
        stateful=stateful,
    )


class LanguageModel(BaseModel):
    """What the language models share: predict/forward/backward over ``self.layers`` and
    text generation with sampling, greedy decoding or beam search."""

    layers: list
    loss_layer: TimeSoftmaxWithLoss
    recurrent_layers: list

    def _collect_params(self):
        self.params, self.grads = [], []
        for layer in self.layers:
            self.params += layer.params
            self.grads += layer.grads

    def predict(self, xs):
        """xs: (N, T) ids -> scores (N, T, V)."""
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def forward(self, xs, ts):
        """xs, ts: (N, T) ids -> mean cross-entropy of predicting ts (float)."""
        return self.loss_layer.forward(self.predict(xs), ts)

    def backward(self, dout=1):
        layers = self.layers
        if isinstance(layers[-1], TimeAffine) and isinstance(self.loss_layer, TimeSoftmaxWithLoss):
            # the loss's and the TimeAffine's backward, with the (N, T, V) score gradient
            # passed as factors instead of built (TimeAffine.backward_factors)
            dout = layers[-1].backward_factors(*self.loss_layer.backward_factors(dout))
            layers = layers[:-1]
        else:  # a subclass with other layers
            dout = self.loss_layer.backward(dout)
        for layer in reversed(layers):
            dout = layer.backward(dout)
        return dout

    def reset_state(self):
        for layer in self.recurrent_layers:
            layer.reset_state()

    # ------------------------------------------------------------ generation

    def get_state(self):
        """The recurrent state: a tuple with (h, c) or h of each recurrent layer (None if unset)."""
        return tuple(_layer_state(layer) for layer in self.recurrent_layers)

    def set_state(self, state):
        for layer, s in zip(self.recurrent_layers, state, strict=True):
            _set_layer_state(layer, s)

    def _step(self, ids, state):
        """One generation step for the decoders: ids (B,) -> scores (B, V), new state."""
        self.set_state(state)
        scores = self.predict(ids[:, None])[:, 0, :]
        return scores, self.get_state()

    def generate(
        self,
        start_id,
        skip_ids=None,
        sample_size=100,
        method="sample",
        temperature=1.0,
        top_k=None,
        beam_width=5,
    ):
        """Word ids of generated text, starting with ``start_id`` (the book's API).

        Continues from the current recurrent state (feed a prompt through ``predict``
        first to condition on it; ``reset_state()`` to start from nothing). method:
        "sample" (the book's: softmax sampling, with ``temperature``/``top_k``), "greedy" or
        "beam" (``beam_width``). ``skip_ids`` are never generated. Returns a list of
        ``sample_size`` ids, the first being ``start_id``.
        """
        vocab_size = self.params[0].shape[0]
        if not 0 <= int(start_id) < vocab_size:
            raise ValueError(f"start_id must lie in [0, {vocab_size}), got {start_id}")
        if sample_size < 1:
            raise ValueError(f"sample_size must be >= 1, got {sample_size}")
        if sample_size == 1:
            return [int(start_id)]
        W = self.params[0]  # on the model's device, which need not be the current one
        with on_device_of(W):
            start = get_array_module(W).asarray([int(start_id)])
        state, n = self.get_state(), sample_size - 1
        if method == "sample":
            ids = sample_decode(self._step, state, start, n, temperature, top_k, skip_ids)
        elif method == "greedy":
            ids = greedy_decode(self._step, state, start, n, skip_ids=skip_ids)
        elif method == "beam":
            ids, _ = beam_search(self._step, state, start, n, beam_width, skip_ids=skip_ids)
        else:
            raise ValueError(f"method must be 'sample', 'greedy' or 'beam', got {method!r}")
        return [int(start_id)] + to_cpu(ids[0]).tolist()  # one copy to the host


def _layer_state(layer):
    if isinstance(layer, TimeLSTM):
        return None if layer.h is None else (layer.h, layer.c)
    return layer.h


def _set_layer_state(layer, state):
    if state is None:
        layer.reset_state()
    elif isinstance(layer, TimeLSTM):
        layer.set_state(*state)
    else:
        layer.set_state(state)


class SimpleRnnlm(LanguageModel):
    """TimeEmbedding -> TimeRNN (tanh) -> TimeAffine -> TimeSoftmaxWithLoss (book ch. 5)."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.layers = [
            TimeEmbedding(randn(V, D, scale=0.01)),
            TimeRNN(
                randn(D, H, scale=1 / math.sqrt(D)),
                randn(H, H, scale=1 / math.sqrt(H)),
                zeros(H),
                stateful=True,
            ),
            TimeAffine(randn(H, V, scale=1 / math.sqrt(H)), zeros(V)),
        ]
        self.loss_layer = TimeSoftmaxWithLoss(in_place=True)
        self.rnn_layer = self.layers[1]
        self.recurrent_layers = [self.rnn_layer]
        self._collect_params()


class Rnnlm(LanguageModel):
    """TimeEmbedding -> TimeLSTM -> TimeAffine -> TimeSoftmaxWithLoss (book ch. 6).

    params: embedding W (V, D), LSTM Wx (D, 4H), Wh (H, 4H), b (4H,), affine W (H, V),
    b (V,): the order of the book's ``Rnnlm.pkl``.
    """

    def __init__(self, vocab_size=10000, wordvec_size=100, hidden_size=100):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.layers = [
            TimeEmbedding(randn(V, D, scale=0.01)),
            lstm(D, H, stateful=True),
            TimeAffine(randn(H, V, scale=1 / math.sqrt(H)), zeros(V)),
        ]
        self.loss_layer = TimeSoftmaxWithLoss(in_place=True)
        self.lstm_layer = self.layers[1]
        self.recurrent_layers = [self.lstm_layer]
        self._collect_params()


class BetterRnnlm(LanguageModel):
    """Two LSTM layers, dropout, and weight tying (book ch. 6).

    TimeEmbedding -> Dropout -> TimeLSTM -> Dropout -> TimeLSTM -> Dropout -> TimeAffine
    whose weight is the embedding's transpose. The tied weight appears once in ``params``
    and its gradient is the sum of both uses (the book lists it twice and merges the two
    in the trainer; a book parameter file's duplicate entry is dropped on load).
    forward(xs, ts, train_flg=True); predict(xs, train_flg=False).
    """

    def __init__(self, vocab_size=10000, wordvec_size=650, hidden_size=650, dropout_ratio=0.5):
        V, D, H = vocab_size, wordvec_size, hidden_size
        if D != H:
            # the tied output layer maps the last LSTM's H outputs through embed_W.T (D, V)
            raise ValueError(f"weight tying needs wordvec_size == hidden_size, got {D} and {H}")
        embed_W = randn(V, D, scale=0.01)
        self.layers = [
            TimeEmbedding(embed_W),
            TimeDropout(dropout_ratio),
            lstm(D, H, stateful=True),
            TimeDropout(dropout_ratio),
            lstm(H, H, stateful=True),
            TimeDropout(dropout_ratio),
            TimeAffine(embed_W.T, zeros(V)),
        ]
        self.loss_layer = TimeSoftmaxWithLoss(in_place=True)
        self.lstm_layers = [self.layers[2], self.layers[4]]
        self.drop_layers = [self.layers[1], self.layers[3], self.layers[5]]
        self.recurrent_layers = self.lstm_layers
        self.embed, self.affine = self.layers[0], self.layers[-1]
        self.params, self.grads = [], []
        for layer in self.layers[:-1]:
            self.params += layer.params
            self.grads += layer.grads
        self.params.append(self.affine.params[1])  # the affine bias; W is tied
        self.grads.append(self.affine.grads[1])

    def predict(self, xs, train_flg=False):
        for layer in self.drop_layers:
            layer.train_flg = train_flg
        return super().predict(xs)

    def forward(self, xs, ts, train_flg=True):
        return self.loss_layer.forward(self.predict(xs, train_flg), ts)

    def backward(self, dout=1):
        dout = super().backward(dout)
        # the tied weight's gradient: embedding part plus the output layer's, transposed
        self.embed.grads[0] += self.affine.grads[0].T
        return dout

    def load_params(self, file_name=None):
        """Also accepts the book's BetterRnnlm.pkl, whose params list embed_W.T again."""
        from pathlib import Path

        from .. import io

        path = Path(file_name or f"{type(self).__name__}.npz")
        if path.suffix == ".pkl":
            arrays = io.book_params_list(io.load_book_pickle(path), path)
            if len(arrays) == len(self.params) + 1:
                del arrays[-2]  # the book's tied affine W (= embed_W.T)
            io.copy_into_params(self.params, arrays, source=str(path))
            return {}
        return super().load_params(file_name)
