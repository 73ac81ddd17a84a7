"""BaseModel: what every model shares (the book's common/base_model.py, made safe).

A model is a layer made of layers: ``params``/``grads`` list its children's arrays (shared
weights once). BaseModel adds checkpoints: ``save_params(path)`` writes an ``.npz`` with
JSON metadata (the model class, its constructor arguments, and any extra ``meta`` such as
the vocabulary), atomically; ``load_params(path)`` reads it back, or one of the book's
published ``.pkl`` files, into the existing arrays.
"""

from __future__ import annotations

import functools
import inspect
import json
from pathlib import Path

from .. import io


def _jsonable(value):
    try:
        json.dumps(value)
        return True
    except (TypeError, ValueError):
        return False


class BaseModel:
    """Base class of the models. Subclasses set ``self.params`` and ``self.grads``.

    The arguments a subclass's ``__init__`` was called with are recorded in ``self.config``
    (those that JSON can hold: sizes, ratios, flags), so a checkpoint says how to rebuild
    the model.
    """

    params: list
    grads: list

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if "__init__" not in cls.__dict__:
            return
        init = cls.__init__
        signature = inspect.signature(init)

        @functools.wraps(init)
        def recording_init(self, *args, **kw):
            if "config" not in self.__dict__:  # the outermost __init__ (not a super() call)
                bound = signature.bind(self, *args, **kw)
                bound.apply_defaults()
                self.config = {k: v for k, v in list(bound.arguments.items())[1:] if _jsonable(v)}
            init(self, *args, **kw)

        cls.__init__ = recording_init

    def save_params(self, file_name=None, meta=None):
        """Write the parameters to ``file_name`` (default ``<ClassName>.npz``), atomically.

        meta: extra JSON-serialisable metadata, e.g. ``{"vocab": id_to_word}``.
        """
        path = Path(file_name or f"{type(self).__name__}.npz")
        info = {"model": type(self).__name__, "config": getattr(self, "config", {})}
        io.save_arrays(path, self.params, {**info, **(meta or {})})
        return path

    def load_params(self, file_name=None):
        """Load parameters saved by ``save_params``, or a book ``.pkl`` file, in place.

        Returns the file's metadata (an empty dict for book files). A file saved by this
        class or by a class it derives from (the book's ``RnnlmGen`` loads an ``Rnnlm``
        file) is accepted when its arrays match the parameters one to one. Raises
        ``io.CheckpointError`` when the file belongs to another model, has other shapes or
        is malformed; the whole file is checked before any parameter changes, so a failed
        load leaves the model as it was.
        """
        path = Path(file_name or f"{type(self).__name__}.npz")
        if path.suffix == ".pkl":
            arrays = io.book_params_list(io.load_book_pickle(path), path)
            io.copy_into_params(self.params, arrays, source=str(path))
            return {}
        arrays, meta = io.load_arrays(path)
        accepted = [c.__name__ for c in type(self).__mro__ if issubclass(c, BaseModel)]
        if meta.get("model") not in accepted:
            raise io.CheckpointError(
                f"{path} holds parameters of {meta.get('model')}, not of {type(self).__name__}"
                + (f" or its base classes {', '.join(accepted[1:])}" if len(accepted) > 1 else "")
            )
        io.copy_into_params(self.params, arrays, source=str(path))
        return meta
