"""zeronlp's user-error classes: what a user's input, file or option can cause.

Every error a user can cause by what they give zeronlp (a bad option, a malformed or hostile
file, data of the wrong kind) is raised as one of these classes, with a message that says what
was expected and what came. They subclass the builtin error a Python user would expect
(``ValueError``, ``TypeError``, ...), so ``except ValueError`` keeps working. The ``zeronlp``
command turns these, and only these, into one line and exit status 2; any other exception is a
bug inside zeronlp and keeps its traceback.

This module imports nothing of zeronlp: every other module may use it.
"""

from __future__ import annotations

import pickle


class UserError(Exception):
    """Base of the errors a user's input can cause (never a bug inside zeronlp)."""


class InputError(UserError, ValueError):
    """A value, option or file content that is not what zeronlp expects."""


class InputTypeError(UserError, TypeError):
    """A value of the wrong type."""


class CheckpointError(InputError):
    """A parameter file that is malformed or does not fit the model it is loaded into."""


class UnsafePickleError(UserError, pickle.UnpicklingError):
    """A pickle file that asks for something other than plain numeric arrays and containers."""


class CorruptPickleError(CheckpointError, pickle.UnpicklingError):
    """A pickle file that is truncated or otherwise not a valid pickle."""


class DataError(InputError):
    """A data file that cannot be used: wrong encoding, wrong format, too small."""


class MissingFileError(UserError, FileNotFoundError):
    """A file or directory the user named (or a dataset file) is not there."""


class RunDirectoryError(UserError, FileExistsError):
    """A run directory that cannot be claimed (it exists already)."""


class TrainingDiverged(FloatingPointError):
    """Training met a non-finite loss, gradient or parameter; the last finite state is kept.

    Not a user error (the command reports it in its own words, exit status 1).
    """


class MissingDependencyError(UserError, ImportError):
    """An optional package a feature needs is not installed (the message says how to get it)."""


class GPUUnavailableError(UserError, RuntimeError):
    """The GPU was asked for on a machine without CuPy or a CUDA device (the message says
    which extra to install)."""
