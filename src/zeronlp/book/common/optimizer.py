"""The book's ``common/optimizer.py``: zeronlp's optimizers (same names, arguments, updates)."""

from ...optimizers import SGD, AdaGrad, Adam, Momentum, Nesterov, RMSprop
from .np import GPU, np

__all__ = ["GPU", "np", "SGD", "Momentum", "Nesterov", "AdaGrad", "RMSprop", "Adam"]
