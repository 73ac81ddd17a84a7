"""Fused layers: the speed work that hides the math, each equal to book-shaped layers.

output        TimeAffineSoftmaxWithLoss = TimeAffine + TimeSoftmaxWithLoss, chunked: the loss
              and the gradients block by block, never the (N*T, V) scores
cupy_kernels  CUDA kernels for the LSTM step, the GRU gates and softmax-loss chunks, each
              with its NumPy reference formula (no layer calls them yet)

Each module's docstring gives the plain formula; tests/test_fused.py proves the output
layer equal to the book-shaped layers it replaces, and the models use it.
"""

from .output import TimeAffineSoftmaxWithLoss

__all__ = ["TimeAffineSoftmaxWithLoss"]
