"""The book's module tree over zeronlp: the book's own code runs with its imports changed.

    from common.time_layers import *     ->  from zeronlp.book.common.time_layers import *
    from dataset import ptb              ->  from zeronlp.book.dataset import ptb

``zeronlp.book.common.{config, np, functions, layers, time_layers, optimizer, trainer, util,
base_model}`` and ``zeronlp.book.dataset.{ptb, sequence, spiral}`` have every public name of
the book's ``common/`` and ``dataset/``, with its arguments, returns and printing. They are
zeronlp's own layers, models and trainers underneath (README: "Running the book's code").

To run a notebook unchanged instead, call ``install()`` first: then ``import common...`` and
``import dataset...`` resolve to these modules (nothing is installed into site-packages)::

    import zeronlp.book
    zeronlp.book.install()
    from common.layers import Embedding      # zeronlp.book.common.layers.Embedding
"""

import importlib
import importlib.abc
import importlib.util
import sys

__all__ = ["install", "uninstall"]

_PACKAGES = ("common", "dataset")


class _BookFinder(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Resolves ``common[.X]`` and ``dataset[.Y]`` to ``zeronlp.book.common[.X]`` etc.

    The alias and the real name are one module object, so ``config.GPU = True`` set through
    ``common.config`` is what ``zeronlp.book.common.np`` reads.
    """

    def find_spec(self, fullname, path=None, target=None):
        if fullname.split(".")[0] not in _PACKAGES:
            return None
        real = __name__ + "." + fullname
        if importlib.util.find_spec(real) is None:
            return None
        spec = importlib.util.spec_from_loader(fullname, self, is_package=_is_package(real))
        return spec

    def __init__(self):
        self._own_specs = {}

    def create_module(self, spec):
        module = importlib.import_module(__name__ + "." + spec.name)
        self._own_specs[spec.name] = module.__spec__
        return module

    def exec_module(self, module):
        # Already executed under its real name; the import system has just given it the
        # alias's spec, so give its own back (reload() and tools read __spec__.name).
        module.__spec__ = self._own_specs.pop(module.__spec__.name, module.__spec__)


def _is_package(name):
    spec = importlib.util.find_spec(name)
    return spec is not None and spec.submodule_search_locations is not None


_finder = _BookFinder()


def install():
    """Let ``import common.X`` / ``import dataset.Y`` load ``zeronlp.book.common.X`` / ...

    Goes first in ``sys.meta_path``, so a ``common`` package elsewhere on ``sys.path`` (the
    book's own checkout) is not picked up instead. Idempotent; ``uninstall()`` undoes it.
    """
    if _finder not in sys.meta_path:
        sys.meta_path.insert(0, _finder)


def uninstall():
    """Undo ``install()``: remove the finder and the ``common``/``dataset`` aliases."""
    if _finder in sys.meta_path:
        sys.meta_path.remove(_finder)
    for name in list(sys.modules):
        if name.split(".")[0] in _PACKAGES and sys.modules[name].__name__.startswith(__name__):
            del sys.modules[name]
