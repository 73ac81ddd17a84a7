"""The Time layers of the book (chapters 5-7): layers over whole sequences (N, T, ...).

recurrent  RNN, LSTM, GRU (one step) and TimeRNN, TimeLSTM, TimeGRU, TimeBiLSTM
basic      TimeEmbedding, TimeAffine, TimeDropout, TimeSoftmaxWithLoss, TimeSigmoidWithLoss

Every name is importable from here, as the book's ``common.time_layers``:
``from zeronlp.time_layers import TimeLSTM``. The models use these layers as they are, except
TimeAffine + TimeSoftmaxWithLoss, which they replace by the fused output layer of
``zeronlp.fused``; converters to PyTorch's weight layout are in ``zeronlp.convert``.
"""

from .basic import (
    TimeAffine,
    TimeDropout,
    TimeEmbedding,
    TimeSigmoidWithLoss,
    TimeSoftmaxWithLoss,
)
from .recurrent import GRU, LSTM, RNN, TimeBiLSTM, TimeGRU, TimeLSTM, TimeRNN

__all__ = [
    "GRU",
    "LSTM",
    "RNN",
    "TimeAffine",
    "TimeBiLSTM",
    "TimeDropout",
    "TimeEmbedding",
    "TimeGRU",
    "TimeLSTM",
    "TimeRNN",
    "TimeSigmoidWithLoss",
    "TimeSoftmaxWithLoss",
]
