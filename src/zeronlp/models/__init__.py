"""Models: layers made of layers, with the book's names and methods.

Book chapter 1: ``TwoLayerNet``. Chapter 4: ``CBOW``, ``SkipGram`` (word2vec).
"""

from .two_layer_net import TwoLayerNet
from .word2vec import CBOW, SkipGram

__all__ = ["CBOW", "SkipGram", "TwoLayerNet"]
