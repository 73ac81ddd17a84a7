"""The book's ``common`` package (``from common.layers import ...``) over zeronlp.

Modules: config, np, functions, layers, time_layers, optimizer, trainer, util, base_model.
"""
