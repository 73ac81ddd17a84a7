"""Checkpoints: atomic .npz + JSON, mismatch errors, and the book's pickles read safely."""

import os
import pickle
import zipfile

import numpy as np
import pytest

from zeronlp import io
from zeronlp.backend import seed
from zeronlp.models import TwoLayerNet


def test_save_and_load_round_trip(tmp_path):
    seed(0)
    model = TwoLayerNet(2, 5, 3)
    path = model.save_params(tmp_path / "net.npz", meta={"vocab": ["a", "b", "ü"]})
    other = TwoLayerNet(2, 5, 3)
    held = list(other.params)
    meta = other.load_params(path)
    for a, b in zip(model.params, other.params, strict=True):
        np.testing.assert_array_equal(a, b)
        assert b.dtype == np.float32
    assert all(a is b for a, b in zip(held, other.params, strict=True))  # in place
    assert meta["model"] == "TwoLayerNet"
    assert meta["config"] == {"input_size": 2, "hidden_size": 5, "output_size": 3}
    assert meta["vocab"] == ["a", "b", "ü"]
    assert io.read_meta(path)["shapes"][0] == [2, 5]


def test_file_is_a_plain_npz_readable_without_pickle(tmp_path):
    model = TwoLayerNet(2, 4, 3)
    path = model.save_params(tmp_path / "net.npz")
    with np.load(path, allow_pickle=False) as npz:
        np.testing.assert_array_equal(npz["param_000"], model.params[0])
    with zipfile.ZipFile(path) as zf:
        assert "meta.json" in zf.namelist()


def test_mismatched_shapes_or_model_are_clear_errors(tmp_path):
    path = TwoLayerNet(2, 4, 3).save_params(tmp_path / "net.npz")
    with pytest.raises(io.CheckpointError, match=r"shape \(2, 4\).*shape \(2, 6\)"):
        TwoLayerNet(2, 6, 3).load_params(path)

    class OtherNet:  # same parameter shapes, but not a TwoLayerNet
        load_params = TwoLayerNet.load_params

        def __init__(self):
            self.params = [np.zeros_like(p) for p in TwoLayerNet(2, 4, 3).params]

    with pytest.raises(io.CheckpointError, match="parameters of TwoLayerNet, not of OtherNet"):
        OtherNet().load_params(path)
    with pytest.raises(FileNotFoundError):
        TwoLayerNet(2, 4, 3).load_params(tmp_path / "missing.npz")
    (tmp_path / "junk.npz").write_bytes(b"not a zip")
    with pytest.raises(io.CheckpointError, match="not a zeronlp parameter file"):
        TwoLayerNet(2, 4, 3).load_params(tmp_path / "junk.npz")


def test_a_subclass_loads_its_parents_file_one_to_one(tmp_path):
    class NetGen(TwoLayerNet):  # like the book's RnnlmGen(Rnnlm): same parameters, more methods
        pass

    seed(3)
    parent = TwoLayerNet(2, 4, 3)
    path = parent.save_params(tmp_path / "net.npz")
    child = NetGen(2, 4, 3)
    assert child.load_params(path)["model"] == "TwoLayerNet"
    for a, b in zip(parent.params, child.params, strict=True):
        np.testing.assert_array_equal(a, b)
    child_path = child.save_params(tmp_path / "gen.npz")
    with pytest.raises(io.CheckpointError, match="parameters of NetGen, not of TwoLayerNet"):
        TwoLayerNet(2, 4, 3).load_params(child_path)  # a parent does not take a child's file
    with pytest.raises(io.CheckpointError, match=r"shape \(2, 4\).*shape \(2, 6\)"):
        NetGen(2, 6, 3).load_params(path)


def test_a_failed_write_keeps_the_old_file_and_leaves_no_temporary(tmp_path, monkeypatch):
    model = TwoLayerNet(2, 4, 3)
    path = model.save_params(tmp_path / "net.npz")
    before = path.read_bytes()

    def crash(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(np.lib.format, "write_array", crash)
    with pytest.raises(OSError, match="disk full"):
        model.save_params(path)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["net.npz"]


def _book_file(tmp_path, obj, name="book.pkl"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj))
    return path


def test_book_pickle_list_of_float16_is_upcast(tmp_path):
    seed(1)
    model = TwoLayerNet(2, 4, 3)
    arrays = [np.asarray(p, dtype=np.float16) for p in model.params]
    path = _book_file(tmp_path, arrays)
    other = TwoLayerNet(2, 4, 3)
    assert other.load_params(path) == {}
    for a, b in zip(arrays, other.params, strict=True):
        assert b.dtype == np.float32
        np.testing.assert_array_equal(a.astype(np.float32), b)


def test_book_word2vec_dict_loads(tmp_path):
    obj = {
        "word_vecs": np.ones((3, 2), np.float16),
        "word_to_id": {"a": 0, "b": 1, "c": 2},
        "id_to_word": {0: "a", 1: "b", 2: "c"},
    }
    loaded = io.load_book_pickle(_book_file(tmp_path, obj))
    assert loaded["word_to_id"] == obj["word_to_id"]
    np.testing.assert_array_equal(loaded["word_vecs"], obj["word_vecs"])
    with pytest.raises(io.CheckpointError, match="word2vec"):
        TwoLayerNet(2, 4, 3).load_params(_book_file(tmp_path, obj, "w.pkl"))


class _Exploit:
    """A pickle that would run a shell command when loaded with pickle.load."""

    def __reduce__(self):
        return (os.system, ("touch pwned",))


def test_malicious_pickle_is_refused_and_runs_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = _book_file(tmp_path, [np.zeros(2), _Exploit()])
    with pytest.raises(pickle.UnpicklingError, match="refusing to load (posix|os|nt).system"):
        io.load_book_pickle(path)
    assert not (tmp_path / "pwned").exists()
    with pytest.raises(pickle.UnpicklingError):
        TwoLayerNet(2, 4, 3).load_params(path)


def test_object_arrays_are_refused(tmp_path):
    path = _book_file(tmp_path, [np.array([{"x": 1}], dtype=object)])
    with pytest.raises(pickle.UnpicklingError, match="Python objects"):
        io.load_book_pickle(path)


def test_truncated_pickle_is_a_clear_error(tmp_path):
    data = pickle.dumps([np.zeros(100)])
    path = tmp_path / "cut.pkl"
    path.write_bytes(data[: len(data) // 2])
    with pytest.raises(pickle.UnpicklingError, match="not a valid pickle"):
        io.load_book_pickle(path)


def test_the_books_published_files_load_safely(data_dir):
    rnnlm = io.load_book_pickle(data_dir / "book-params" / "Rnnlm.pkl")
    assert [a.shape for a in rnnlm] == [
        (10000, 100),
        (100, 400),
        (100, 400),
        (400,),
        (100, 10000),
        (10000,),
    ]
    assert all(a.dtype == np.float16 for a in rnnlm)
    cbow = io.load_book_pickle(data_dir / "book-params" / "cbow_params.pkl")
    assert cbow["word_vecs"].shape == (10000, 100) and len(cbow["word_to_id"]) == 10000
    seq = io.load_book_pickle(data_dir / "book-params" / "AttentionSeq2seq.pkl")
    assert len(seq) == 10 and seq[0].shape == (59, 16)
