"""zeronlp: deep learning for NLP from scratch in NumPy.

Every layer has a hand-written forward and backward (no autograd); every gradient is
checked numerically, and against PyTorch where PyTorch has the same operation. Modules,
from the bottom up (imports point only down this list):

errors, backend, functions, io, gradcheck, text, datasets, plot, layers, time_layers
(and convert), attention, fused, optimizers (and schedules), tokenizers, metrics, decoding,
models, distributed, training, book, cli.
"""

from .backend import get_array_module, seed, to_cpu, to_gpu, use_cpu, use_gpu

__version__ = "0.1.0"

__all__ = ["get_array_module", "seed", "to_cpu", "to_gpu", "use_cpu", "use_gpu", "__version__"]
