"""Every ```python block of README.md runs as written.

The blocks run in order of appearance, each in a fresh namespace, in a temporary folder
that holds links to the book's parameter files (the blocks load "Rnnlm.pkl" and
"cbow_params.pkl" from the current folder, as a user who downloaded them would).

Size override, so that the suite stays fast: the datasets' ``load_data`` functions return
only the first few thousand tokens or questions (the blocks themselves are unchanged; with
the full data the PTB block trains for ~4 minutes, see the README's Results).
"""

import os
import re
from pathlib import Path

import pytest

README = Path(__file__).parents[1] / "README.md"
BLOCKS = re.findall(r"^```python\n(.*?)^```", README.read_text(encoding="utf-8"), re.S | re.M)


def test_the_readme_has_python_blocks():
    assert len(BLOCKS) >= 5


@pytest.fixture
def small_data(monkeypatch):
    """ptb.load_data and sequence.load_data cut to a few thousand tokens / questions."""
    from zeronlp.datasets import ptb, sequence

    ptb_load, sequence_load = ptb.load_data, sequence.load_data

    def small_ptb(*args, **kwargs):
        corpus, word_to_id, id_to_word = ptb_load(*args, **kwargs)
        return corpus[:1500], word_to_id, id_to_word

    def small_sequence(*args, **kwargs):
        (x, t), (x_test, t_test), *vocab = sequence_load(*args, **kwargs)
        return ((x[:640], t[:640]), (x_test[:64], t_test[:64]), *vocab)

    monkeypatch.setattr(ptb, "load_data", small_ptb)
    monkeypatch.setattr(sequence, "load_data", small_sequence)


@pytest.mark.parametrize("index", range(len(BLOCKS)))
def test_readme_block_runs(index, small_data, tmp_path, monkeypatch):
    code = BLOCKS[index]
    root = os.environ.get("ZERONLP_DATA")
    if "ptb." in code and not root:
        pytest.skip("needs Penn Treebank: set ZERONLP_DATA (see the README's Datasets)")
    if ".pkl" in code:
        params = Path(root or "") / "book-params"
        if not root or not (params / "Rnnlm.pkl").is_file():
            pytest.skip("needs the book's parameter files under $ZERONLP_DATA/book-params/")
        for name in ("Rnnlm.pkl", "cbow_params.pkl", "AttentionSeq2seq.pkl"):
            (tmp_path / name).symlink_to(params / name)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, f"README.md python block {index + 1}", "exec"), {"__name__": "__main__"})
