"""Datasets: find, download, verify, cache or generate them.

Modules follow the book's ``dataset`` package: ``spiral``.
"""

from . import spiral

__all__ = ["spiral"]
