"""The book's ``common/config.py``: ``GPU = True`` set here before the other imports runs
the book's code on CuPy (through ``zeronlp.use_gpu()``).

    from zeronlp.book.common import config
    config.GPU = True
    from zeronlp.book.common.np import *  # np is cupy from now on
"""

GPU = False
