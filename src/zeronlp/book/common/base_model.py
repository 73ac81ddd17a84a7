"""The book's ``common/base_model.py``: zeronlp's ``BaseModel`` whose ``save_params()`` and
``load_params()`` use the book's file names and format by default.

``save_params(file_name=None)`` writes ``<ClassName>.pkl``: a pickled list of the parameters
as float16 NumPy arrays, exactly the book's file (the book's own code can read it).
``load_params(file_name=None)`` reads ``<ClassName>.pkl`` (or the file named) through
zeronlp's restricted unpickler (``zeronlp.io.load_book_pickle``), which builds only numeric
NumPy arrays and builtin containers, so a file cannot run code; a pickle holding anything
else is refused. A ``.pkl`` names no model class, so a subclass (the book's ``RnnlmGen``)
reads its parent's file. A file name ending in ``.npz`` goes to zeronlp's own format.
"""

import os
import pickle

from ... import io
from ...backend import to_cpu
from ...models import BaseModel as _BaseModel
from .np import GPU, np

__all__ = ["GPU", "np", "BaseModel"]


class BaseModel(_BaseModel):
    """Base of the book's chapter models: ``params``, ``grads``, save/load of parameters."""

    def __init__(self):
        self.params, self.grads = None, None

    def forward(self, *args):
        raise NotImplementedError

    def backward(self, *args):
        raise NotImplementedError

    def save_params(self, file_name=None):
        """Write the parameters as float16 to ``file_name`` (default ``<ClassName>.pkl``)."""
        if file_name is None:
            file_name = self.__class__.__name__ + ".pkl"
        if str(file_name).endswith(".npz"):
            return super().save_params(file_name)
        params = [to_cpu(p).astype("float16") for p in self.params]
        io.atomic_write_bytes(file_name, lambda f: pickle.dump(params, f))
        return file_name

    def load_params(self, file_name=None):
        """Read parameters from ``file_name`` (default ``<ClassName>.pkl``) into ``params``."""
        if file_name is None:
            file_name = self.__class__.__name__ + ".pkl"
        file_name = str(file_name)
        if file_name.endswith(".npz"):
            return super().load_params(file_name)
        if "/" in file_name:
            file_name = file_name.replace("/", os.sep)
        if not os.path.exists(file_name):
            raise OSError("No file: " + file_name)
        arrays = io.book_params_list(io.load_book_pickle(file_name), file_name)
        io.copy_into_params(self.params, arrays, source=file_name)
