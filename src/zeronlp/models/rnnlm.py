"""RNN language models of the book: SimpleRnnlm (ch. 5), Rnnlm and BetterRnnlm (ch. 6).

All take word ids xs (N, T) and next-word targets ts (N, T) and return the mean
cross-entropy; ``predict(xs)`` gives the scores (N, T, V). The recurrent layers are
stateful, so consecutive batches of a corpus continue each other (truncated BPTT);
``reset_state()`` starts afresh. ``generate`` writes text (ids) from a start word.

Initialisation and the order of ``params`` are the book's, so its published parameter
files (``Rnnlm.pkl``) load one to one.
"""

from __future__ import annotations

from ..backend import get_array_module, on_device_of, to_cpu
from ..decoding import beam_search, greedy_decode, sample_decode
from ..errors import InputError
from ..fused import TimeAffineSoftmaxWithLoss
from ..time_layers import TimeDropout, TimeEmbedding, TimeLSTM, TimeRNN
from .base import BaseModel, collect_params
from .init import lstm, output_layer, randn, xavier, zeros


class LanguageModel(BaseModel):
    """What the language models share: ``self.layers`` turn ids (N, T) into hidden states
    (N, T, H); ``self.loss_layer`` (a fused TimeAffine + TimeSoftmaxWithLoss, params W, b)
    turns those into scores or the loss. Text generation: sampling, greedy or beam search.
    """

    layers: list
    loss_layer: object
    recurrent_layers: list

    def _collect_params(self):
        self.params, self.grads = collect_params([*self.layers, self.loss_layer])

    def hidden(self, xs, train_flg=False):
        """xs: (N, T) ids -> hidden states (N, T, H), the loss layer's input."""
        for layer in self.layers:
            xs = layer.forward(xs)
        return xs

    def predict(self, xs, train_flg=False):
        """xs: (N, T) ids -> scores (N, T, V)."""
        return self.loss_layer.predict(self.hidden(xs, train_flg))

    def forward(self, xs, ts, train_flg=True):
        """xs, ts: (N, T) ids -> mean cross-entropy of predicting ts (float).

        train_flg=False (evaluation): dropout off, and the loss layer skips the gradients.
        """
        hs = self.hidden(xs, train_flg)
        self.loss_layer.train_flg = train_flg
        return self.loss_layer.forward(hs, ts)

    def backward(self, dout=1):
        dout = self.loss_layer.backward(dout)  # (N, T, H)
        for layer in reversed(self.layers):
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

    def state_for(self, N):
        """The recurrent state if it belongs to N sequences, else a fresh one (None): a
        state left by a batch of another size (an evaluation) is not this text's."""
        state = self.get_state()
        fits = all(s is None or _batch_size(s) == N for s in state)
        return state if fits else tuple(None for _ in state)

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
        eos_id=None,
        length_penalty=1.0,
        top_p=None,
    ):
        """Word ids of generated text, starting with ``start_id`` (the book's API).

        Continues from the current recurrent state (feed a prompt through ``predict``
        first to condition on it; ``reset_state()`` to start from nothing). method:
        "sample" (the book's: softmax sampling, with ``temperature``, ``top_k`` and the
        nucleus ``top_p``), "greedy" or
        "beam" (``beam_width``, ``length_penalty``). ``skip_ids`` are never generated; after
        ``eos_id`` (if given) only eos follows. Returns a list of ``sample_size`` ids, the first
        being ``start_id``.
        """
        vocab_size = self.params[0].shape[0]
        if not 0 <= int(start_id) < vocab_size:
            raise InputError(f"start_id must lie in [0, {vocab_size}), got {start_id}")
        if sample_size < 1:
            raise InputError(f"sample_size must be >= 1, got {sample_size}")
        if sample_size == 1:
            return [int(start_id)]
        W = self.params[0]  # on the model's device, which need not be the current one
        with on_device_of(W):
            start = get_array_module(W).asarray([int(start_id)])
        state, n = self.state_for(1), sample_size - 1
        if method == "sample":
            ids = sample_decode(
                self._step, state, start, n, temperature, top_k, skip_ids, eos_id, top_p
            )
        elif method == "greedy":
            ids = greedy_decode(self._step, state, start, n, eos_id=eos_id, skip_ids=skip_ids)
        elif method == "beam":
            ids, _ = beam_search(
                self._step, state, start, n, beam_width, eos_id, length_penalty, skip_ids
            )
        else:
            raise InputError(f"method must be 'sample', 'greedy' or 'beam', got {method!r}")
        return [int(start_id)] + to_cpu(ids[0]).tolist()  # one copy to the host


def _batch_size(state):
    return (state[0] if isinstance(state, tuple) else state).shape[0]


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
    """TimeEmbedding -> TimeRNN (tanh) -> TimeAffine -> TimeSoftmaxWithLoss (book ch. 5),
    the last two fused into one layer."""

    def __init__(self, vocab_size, wordvec_size, hidden_size):
        V, D, H = vocab_size, wordvec_size, hidden_size
        rnn = TimeRNN(xavier(D, D, H), xavier(H, H, H), zeros(H), stateful=True)
        self.layers = [TimeEmbedding(randn(V, D, scale=0.01)), rnn]
        self.loss_layer = output_layer(H, V)
        self.rnn_layer = rnn
        self.recurrent_layers = [rnn]
        self._collect_params()


class Rnnlm(LanguageModel):
    """TimeEmbedding -> TimeLSTM -> TimeAffine -> TimeSoftmaxWithLoss (book ch. 6), the
    last two fused into one layer (``loss_layer``).

    params: embedding W (V, D), LSTM Wx (D, 4H), Wh (H, 4H), b (4H,), affine W (H, V),
    b (V,): the order of the book's ``Rnnlm.pkl``.
    """

    def __init__(self, vocab_size=10000, wordvec_size=100, hidden_size=100):
        V, D, H = vocab_size, wordvec_size, hidden_size
        self.layers = [TimeEmbedding(randn(V, D, scale=0.01)), lstm(D, H, stateful=True)]
        self.loss_layer = output_layer(H, V)
        self.lstm_layer = self.layers[1]
        self.recurrent_layers = [self.lstm_layer]
        self._collect_params()


class BetterRnnlm(LanguageModel):
    """Two LSTM layers, dropout, and weight tying (book ch. 6).

    TimeEmbedding -> Dropout -> TimeLSTM -> Dropout -> TimeLSTM -> Dropout -> TimeAffine
    (fused with the loss) whose weight is the embedding's transpose. The tied weight
    appears once in ``params`` and its gradient is the sum of both uses (the book lists it
    twice and merges the two in the trainer; a book parameter file's duplicate entry is
    dropped on load). forward(xs, ts, train_flg=True); predict(xs, train_flg=False).
    """

    def __init__(self, vocab_size=10000, wordvec_size=650, hidden_size=650, dropout_ratio=0.5):
        V, D, H = vocab_size, wordvec_size, hidden_size
        if D != H:
            # the tied output layer maps the last LSTM's H outputs through embed_W.T (D, V)
            raise InputError(f"weight tying needs wordvec_size == hidden_size, got {D} and {H}")
        embed_W = randn(V, D, scale=0.01)
        self.layers = [
            TimeEmbedding(embed_W),
            TimeDropout(dropout_ratio),
            lstm(D, H, stateful=True),
            TimeDropout(dropout_ratio),
            lstm(H, H, stateful=True),
            TimeDropout(dropout_ratio),
        ]
        self.loss_layer = TimeAffineSoftmaxWithLoss(embed_W.T, zeros(V))
        self.lstm_layers = [self.layers[2], self.layers[4]]
        self.drop_layers = [self.layers[1], self.layers[3], self.layers[5]]
        self.recurrent_layers = self.lstm_layers
        self.embed, self.affine = self.layers[0], self.loss_layer
        self.params, self.grads = collect_params(self.layers)
        self.params.append(self.affine.params[1])  # the affine bias; W is tied
        self.grads.append(self.affine.grads[1])

    def hidden(self, xs, train_flg=False):
        for layer in self.drop_layers:
            layer.train_flg = train_flg
        return super().hidden(xs)

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
