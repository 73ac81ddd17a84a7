"""Models: layers made of layers, with the book's names, arguments and methods.

two_layer_net  TwoLayerNet (ch. 1)
word2vec       CBOW, SkipGram (ch. 3-4)
rnnlm          SimpleRnnlm (ch. 5), Rnnlm, BetterRnnlm (ch. 6)
seq2seq        Seq2seq, PeekySeq2seq (ch. 7), AttentionSeq2seq (ch. 8)
transformer    TransformerSeq2seq, TransformerLM, TransformerConfig (beyond the book)
glove          GloVe (beyond the book; zeronlp.models.glove.GloVe)
init           every initialiser (randn, xavier, zeros, the LSTM and the fused output layer)
base           BaseModel (checkpoints), collect_params
"""

from .base import BaseModel
from .rnnlm import BetterRnnlm, Rnnlm, SimpleRnnlm
from .seq2seq import AttentionSeq2seq, PeekySeq2seq, Seq2seq
from .transformer import TransformerConfig, TransformerLM, TransformerSeq2seq
from .two_layer_net import TwoLayerNet
from .word2vec import CBOW, SkipGram

__all__ = [
    "AttentionSeq2seq",
    "BaseModel",
    "BetterRnnlm",
    "CBOW",
    "PeekySeq2seq",
    "Rnnlm",
    "Seq2seq",
    "SimpleRnnlm",
    "SkipGram",
    "TransformerConfig",
    "TransformerLM",
    "TransformerSeq2seq",
    "TwoLayerNet",
]
