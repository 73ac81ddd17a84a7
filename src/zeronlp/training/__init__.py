"""Training, evaluation and decoding.

trainer     Trainer (the book's mini-batch loop), RnnlmTrainer (truncated BPTT),
            train_step, remove_duplicate
evaluation  eval_perplexity, seq2seq_accuracy (batched), eval_seq2seq (the book's)
decoding    greedy, sampling (temperature, top-k) and beam search over any step function
word2vec    train_word2vec: sparse SGD for CBOW/SkipGram at PTB scale
"""

from .decoding import beam_search, greedy_decode, sample_decode
from .evaluation import eval_perplexity, eval_seq2seq, seq2seq_accuracy
from .trainer import RnnlmTrainer, Trainer, remove_duplicate, train_step
from .word2vec import train_word2vec

__all__ = [
    "RnnlmTrainer",
    "Trainer",
    "beam_search",
    "eval_perplexity",
    "eval_seq2seq",
    "greedy_decode",
    "remove_duplicate",
    "sample_decode",
    "seq2seq_accuracy",
    "train_step",
    "train_word2vec",
]
