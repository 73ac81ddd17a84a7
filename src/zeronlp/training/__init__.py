"""Training and evaluation (the decoders live in ``zeronlp.decoding``).

trainer     Trainer (the book's mini-batch loop), RnnlmTrainer (truncated BPTT),
            train_step, remove_duplicate
evaluation  eval_perplexity, seq2seq_accuracy (batched), eval_seq2seq (the book's)
word2vec    train_word2vec: sparse SGD for CBOW/SkipGram at PTB scale
glove       cooccurrence, train_glove: GloVe's counts and AdaGrad on the touched rows
"""

from .evaluation import eval_perplexity, eval_seq2seq, seq2seq_accuracy
from .trainer import RnnlmTrainer, Trainer, remove_duplicate, train_step
from .word2vec import train_word2vec

__all__ = [
    "RnnlmTrainer",
    "Trainer",
    "eval_perplexity",
    "eval_seq2seq",
    "remove_duplicate",
    "seq2seq_accuracy",
    "train_step",
    "train_word2vec",
]
