"""The book's ``common/np.py``: ``np`` is NumPy, or CuPy when ``config.GPU`` was set to True
before this module was first imported (as in the book, the choice is made once).

With the GPU on, zeronlp's own backend switches too (``zeronlp.use_gpu()``), so the models
and trainers of zeronlp create their arrays on the GPU as well. Without CuPy or a CUDA
device that raises zeronlp's RuntimeError saying what to install.
"""

from ... import backend
from .config import GPU

__all__ = ["GPU", "np"]

if GPU:
    backend.use_gpu()
    np = backend.xp()  # cupy; CuPy's default allocator already is a memory pool
    print("\033[92m" + "-" * 60 + "\033[0m")
    print(" " * 23 + "\033[92mGPU Mode (cupy)\033[0m")
    print("\033[92m" + "-" * 60 + "\033[0m\n")
else:
    import numpy as np
