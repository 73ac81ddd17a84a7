"""Fused layers: the speed work that hides the math, each equal to book-shaped layers.

output  TimeAffineSoftmaxWithLoss = TimeAffine + TimeSoftmaxWithLoss, chunked: the loss and
        the gradients block by block, never the (N*T, V) scores

Each module's docstring gives the plain formula; tests/test_fused.py proves every layer
equal to the book-shaped layers it replaces. The models use these.
"""

from .output import TimeAffineSoftmaxWithLoss

__all__ = ["TimeAffineSoftmaxWithLoss"]
