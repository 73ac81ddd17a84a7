"""Moved: the decoders live in ``zeronlp.decoding`` (below the models, which use them)."""

from ..decoding import beam_search, greedy_decode, map_state, sample_decode

__all__ = ["beam_search", "greedy_decode", "map_state", "sample_decode"]
