"""Imports point down the DESIGN.md layer list only, also inside functions.

Every module of src/zeronlp gets the rank of its layer (the longest matching name in
``ORDER``); a module may import only modules of its own rank or lower. A new module needs
a line here: put it where DESIGN.md lists its layer.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parent.parent / "src" / "zeronlp"

# DESIGN.md's list, from the base up; names on one line share a rank
ORDER = [
    ["zeronlp.errors"],  # user-error classes: imports nothing of zeronlp
    ["zeronlp.backend"],
    ["zeronlp.functions"],
    ["zeronlp.io"],
    ["zeronlp.gradcheck"],
    ["zeronlp.text"],
    ["zeronlp.datasets"],
    ["zeronlp.plot"],
    ["zeronlp.layers"],
    ["zeronlp.time_layers", "zeronlp.convert"],
    ["zeronlp.attention.chapter8"],
    ["zeronlp.attention", "zeronlp.attention.transformer"],
    ["zeronlp.fused"],
    ["zeronlp.optimizers", "zeronlp.schedules"],
    ["zeronlp.tokenizers", "zeronlp.metrics"],
    ["zeronlp.decoding"],
    ["zeronlp.models"],
    ["zeronlp.distributed"],
    ["zeronlp.training"],
    ["zeronlp.book"],
    ["zeronlp.cli", "zeronlp", "zeronlp.__main__"],
]
RANK = {name: rank for rank, names in enumerate(ORDER) for name in names}


def module_name(path):
    parts = list(path.relative_to(SRC.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def rank_of(name):
    """The rank of the longest prefix of ``name`` in ORDER, or None."""
    if name == "zeronlp":
        return RANK[name]
    parts = name.split(".")
    for k in range(len(parts), 1, -1):
        rank = RANK.get(".".join(parts[:k]))
        if rank is not None:
            return rank
    return None


def imported_modules(path, source=None):
    """(line, module) of every zeronlp import in the file (or in ``source``, read as that
    file), relative ones resolved."""
    name = module_name(path)
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(source or path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join(base + ([node.module] if node.module else []))
            else:
                target = node.module
            if node.module:
                found.append((node.lineno, target))
            else:  # `from .. import io`: the names are modules of the package
                found += [(node.lineno, f"{target}.{alias.name}") for alias in node.names]
    return [(line, m) for line, m in found if m == "zeronlp" or m.startswith("zeronlp.")]


FILES = sorted(SRC.rglob("*.py"))


@pytest.mark.parametrize("path", FILES, ids=lambda p: str(p.relative_to(SRC)))
def test_imports_point_down(path):
    name = module_name(path)
    own = rank_of(name)
    assert own is not None, f"{name} has no place in ORDER: add it where DESIGN.md lists it"
    for line, target in imported_modules(path):
        rank = rank_of(target)
        if rank is None:
            continue  # a name imported from a package (`from . import seed`), not a module
        assert rank <= own, (
            f"{path.relative_to(SRC)}:{line} imports {target} (layer {ORDER[rank][0]}), "
            f"which DESIGN.md lists above {name} (layer {ORDER[own][0]})"
        )


def test_the_check_sees_an_upward_import():
    """The test can fail: a layer module that imports the models in a function is caught."""
    fake = SRC / "layers.py"
    source = "def f():\n    from .models import Rnnlm\n    return Rnnlm\n"
    line, target = imported_modules(fake, source)[0]
    assert (line, target) == (2, "zeronlp.models")
    assert rank_of(target) > rank_of(module_name(fake))
