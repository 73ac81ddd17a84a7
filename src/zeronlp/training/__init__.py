"""Training, evaluation and decoding.

trainer     Trainer (the book's mini-batch loop), remove_duplicate
decoding    greedy, sampling (temperature, top-k) and beam search over any step function
"""

from .decoding import beam_search, greedy_decode, sample_decode
from .trainer import Trainer, remove_duplicate

__all__ = ["Trainer", "beam_search", "greedy_decode", "remove_duplicate", "sample_decode"]
