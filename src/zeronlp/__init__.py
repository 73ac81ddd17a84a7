"""zeronlp: deep learning for NLP from scratch in NumPy.

Every layer has a hand-written forward and backward (no autograd); every gradient is
checked numerically and against PyTorch. Modules, from the bottom up:

backend, functions, layers, time_layers, attention, optimizers, models, training, text,
datasets, io, gradcheck, cli.
"""

from .backend import get_array_module, seed, to_cpu, to_gpu, use_cpu, use_gpu

__version__ = "0.1.0"

__all__ = ["get_array_module", "seed", "to_cpu", "to_gpu", "use_cpu", "use_gpu", "__version__"]
