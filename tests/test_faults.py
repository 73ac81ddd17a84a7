"""Fault injection: hostile and broken files, crashes during saves, diverging training, races.

Every case here was first reproduced against the code before the reliability work (see the
issue's closing note); each test fails when the guard it covers is removed.
"""

import io as _io
import json
import os
import pickle
import struct
import zipfile
from pathlib import Path

import numpy as np
import pytest

from zeronlp import io
from zeronlp.backend import seed
from zeronlp.errors import CheckpointError, UnsafePickleError
from zeronlp.models import TwoLayerNet

try:
    from numpy._core.multiarray import _reconstruct
except ImportError:  # NumPy 1
    from numpy.core.multiarray import _reconstruct


# ---------------------------------------------------------------- hostile pickles


class _Call:
    """Pickles as ``func(*args)``, then BUILD with ``state`` when given: any call a file can ask."""

    def __init__(self, func, args, state=None):
        self.func, self.args, self.state = func, args, state

    def __reduce__(self):
        return (self.func, self.args) if self.state is None else (self.func, self.args, self.state)


class _Dtype:
    """Pickles as ``numpy.dtype(code, False, True)`` with a chosen BUILD state."""

    def __init__(self, code, state):
        self.code, self.state = code, state

    def __reduce__(self):
        return (np.dtype, (self.code, False, True), self.state)


def _pkl(tmp_path, obj, name="x.pkl"):
    path = tmp_path / name
    path.write_bytes(pickle.dumps(obj, protocol=3))
    return path


_EMPTY = (np.ndarray, (0,), b"b")  # the call NumPy writes; BUILD then gives the array


@pytest.mark.parametrize(
    "obj, message",
    [
        # 151 bytes that asked for 2 GiB of uninitialised memory (nothing fills it)
        ([_Call(_reconstruct, (np.ndarray, (2**28,), b"b"))], "form NumPy does not write"),
        # the same through numpy.ndarray called directly
        ([_Call(np.ndarray, ((2**28,), "f8"))], "ndarray called"),
        # an object array straight from _reconstruct's dtype argument
        ([_Call(_reconstruct, (np.ndarray, (3,), "O"))], "form NumPy does not write"),
        # a state whose shape declares far more than the bytes the file holds
        (
            [
                _Call(
                    _reconstruct,
                    (np.ndarray, (0,), b"b"),
                    (1, (10**9,), np.dtype("f4"), False, b"\0" * 4),
                )
            ],
            "needs 4000000000 bytes, the file holds 4",
        ),
        # dtype "O" in the state
        (
            [_Call(_reconstruct, _EMPTY, (1, (1,), np.dtype("O"), False, [1]))],
            "Python objects",
        ),
        # a void dtype, and one flagged as holding objects after the dtype check
        (
            [
                _Call(
                    _reconstruct,
                    (np.ndarray, (0,), b"b"),
                    (1, (1,), np.dtype("V8"), False, b"\0" * 8),
                )
            ],
            "records",
        ),
        ([_Dtype("V8", (3, "|", None, None, None, 8, 1, 0x3F))], "records"),
        # a numeric dtype with flags set afterwards
        ([_Dtype("f4", (3, "<", None, None, None, -1, -1, 0x3F))], "unexpected form"),
        # 10 GB of zeros through bytes(n), allowed only as protocol 2's bytes()
        ([_Call(bytes, (10**10,))], r"bytes\(\.\.\.\) with arguments"),
        # an array with no state at all
        ([_Call(_reconstruct, (np.ndarray, (0,), b"b"))], "without its data"),
    ],
)
def test_hostile_pickles_are_refused(tmp_path, obj, message):
    path = _pkl(tmp_path, obj)
    assert path.stat().st_size < 300
    with pytest.raises(UnsafePickleError, match=message):
        io.load_book_pickle(path)


def test_codecs_encode_only_as_protocol_2_bytes(tmp_path):
    import codecs

    path = _pkl(tmp_path, [_Call(codecs.encode, ("abc", "rot13"))])
    with pytest.raises(UnsafePickleError, match="_codecs.encode in a form other than"):
        io.load_book_pickle(path)


def test_numpys_own_pickles_still_load(tmp_path):
    arrays = [
        np.arange(6, dtype=np.float16).reshape(2, 3),
        np.asfortranarray(np.arange(6.0).reshape(2, 3)),
        np.array([True, False]),
        np.arange(4, dtype=">i4"),
        np.zeros((0, 3), np.complex64),
    ]
    for protocol in (2, 3, 4):
        path = tmp_path / f"p{protocol}.pkl"
        path.write_bytes(pickle.dumps({"a": arrays, "t": (arrays[0], 1)}, protocol=protocol))
        loaded = io.load_book_pickle(path)
        for a, b in zip(arrays, loaded["a"], strict=True):
            assert a.dtype == b.dtype
            np.testing.assert_array_equal(a, b)
        assert loaded["t"][1] == 1


# ---------------------------------------------------------------- corrupt checkpoints


def _saved(tmp_path):
    seed(0)
    model = TwoLayerNet(2, 4, 3)
    return model, model.save_params(tmp_path / "net.npz", meta={"vocab": ["a", "b"]})


def _rewrite(path, member, data, compress=zipfile.ZIP_STORED):
    """Replace one member of a zip archive (or add it), keeping the others."""
    with zipfile.ZipFile(path) as zf:
        members = {n: zf.read(n) for n in zf.namelist()}
    members[member] = data
    with zipfile.ZipFile(path, "w") as zf:
        for name, content in members.items():
            zf.writestr(
                name, content, compress_type=compress if name == member else zipfile.ZIP_STORED
            )


def _npy(a):
    buf = _io.BytesIO()
    np.lib.format.write_array(buf, a)
    return buf.getvalue()


def _meta(path):
    with zipfile.ZipFile(path) as zf:
        return json.loads(zf.read("meta.json"))


def _corrupt_flipped_byte(path):
    data = bytearray(path.read_bytes())
    data[200] ^= 0xFF  # inside param_000's data
    path.write_bytes(bytes(data))


def _corrupt_no_header(path):
    _rewrite(path, "param_001.npy", b"\0" * 16)


def _corrupt_meta_not_json(path):
    _rewrite(path, "meta.json", b"{not json")


def _corrupt_meta_not_utf8(path):
    _rewrite(path, "meta.json", b"\xff\xfe{}")


def _corrupt_meta_a_list(path):
    _rewrite(path, "meta.json", b"[1, 2]")


def _corrupt_meta_no_shapes(path):
    meta = _meta(path)
    del meta["shapes"]
    _rewrite(path, "meta.json", json.dumps(meta).encode())


def _corrupt_meta_shapes_strings(path):
    meta = _meta(path)
    meta["shapes"] = "a lot"
    _rewrite(path, "meta.json", json.dumps(meta).encode())


def _corrupt_string_array(path):
    # the second member a string array of the right shape: the old loader had already copied
    # the first member into the model when the cast failed
    _rewrite(path, "param_001.npy", _npy(np.array(["a", "b", "c", "d"])))
    meta = _meta(path)
    meta["dtypes"][1] = "<U1"
    _rewrite(path, "meta.json", json.dumps(meta).encode())


def _corrupt_nan_member(path):
    _rewrite(path, "param_001.npy", _npy(np.full(4, np.nan, np.float32)))


def _corrupt_compressed_member(path):
    with zipfile.ZipFile(path) as zf:
        data = zf.read("param_000.npy")
    _rewrite(path, "param_000.npy", data, compress=zipfile.ZIP_DEFLATED)


def _corrupt_missing_member(path):
    meta = _meta(path)
    meta["shapes"].append([1])
    meta["dtypes"].append("<f4")
    _rewrite(path, "meta.json", json.dumps(meta).encode())


def _central_entry(data, name):
    """Offset of ``name``'s entry in the zip's central directory (its sizes at +20, +24)."""
    at = data.index(b"PK\x01\x02")
    while data[at + 46 : at + 46 + len(name)] != name.encode():
        at = data.index(b"PK\x01\x02", at + 4)
    return at


def _set_sizes(path, name, compressed, uncompressed):
    data = bytearray(path.read_bytes())
    at = _central_entry(data, name)
    data[at + 20 : at + 28] = struct.pack("<II", compressed, uncompressed)
    path.write_bytes(bytes(data))


def _corrupt_sizes_differ(path):
    _set_sizes(path, "param_000.npy", 100, 101)


def _corrupt_size_past_the_end(path):
    size = path.stat().st_size
    _set_sizes(path, "param_000.npy", size + 1, size + 1)


def _corrupt_truncated(path):
    path.write_bytes(path.read_bytes()[:150])


@pytest.mark.parametrize(
    "corrupt, message",
    [
        (_corrupt_flipped_byte, "damaged"),
        (_corrupt_no_header, "no valid .npy header"),
        (_corrupt_meta_not_json, "not valid UTF-8 JSON"),
        (_corrupt_meta_not_utf8, "not valid UTF-8 JSON"),
        (_corrupt_meta_a_list, "not a zeronlp parameter file"),
        (_corrupt_meta_no_shapes, "malformed 'shapes'"),
        (_corrupt_meta_shapes_strings, "malformed 'shapes'"),
        (_corrupt_string_array, "not a numeric one"),
        (_corrupt_nan_member, "NaN or infinite"),
        (_corrupt_compressed_member, "compressed"),
        (_corrupt_missing_member, "param_004.npy is missing"),
        (_corrupt_truncated, "not a zip archive"),
        (_corrupt_sizes_differ, "declares 101 bytes but stores 100"),
        (_corrupt_size_past_the_end, "more than the file holds"),
    ],
)
def test_corrupt_checkpoints_are_checkpoint_errors_and_touch_nothing(tmp_path, corrupt, message):
    model, path = _saved(tmp_path)
    corrupt(path)
    target = TwoLayerNet(2, 4, 3)
    before = [p.copy() for p in target.params]
    with pytest.raises(CheckpointError, match=message) as info:
        target.load_params(path)
    assert str(path) in str(info.value)
    for a, b in zip(before, target.params, strict=True):
        np.testing.assert_array_equal(a, b)  # a failed load leaves the model as it was


def test_a_forged_npy_header_allocates_nothing(tmp_path):
    _, path = _saved(tmp_path)
    buf = _io.BytesIO()
    header = np.lib.format.header_data_from_array_1_0(np.zeros((2, 4), np.float32))
    header["shape"] = (10**9, 100)  # 400 GB declared, 32 bytes held
    np.lib.format.write_array_header_1_0(buf, header)
    _rewrite(path, "param_000.npy", buf.getvalue() + b"\0" * 32)
    with pytest.raises(CheckpointError, match="holds 32 data bytes but its shape"):
        io.load_arrays(path)


def test_no_checkpoint_with_a_non_finite_array_is_written(tmp_path):
    model, path = _saved(tmp_path)
    before = path.read_bytes()
    model.params[0][0, 0] = np.inf
    with pytest.raises(CheckpointError, match="NaN or infinite"):
        model.save_params(path)
    assert path.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == ["net.npz"]


# ---------------------------------------------------------------- training never keeps a bad state


def _spiral_like(n=60):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(n, 2)).astype(np.float32)
    t = np.eye(3, dtype=np.int32)[rng.integers(0, 3, n)]
    return x, t


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_an_overflowing_update_is_put_back_and_named():
    from zeronlp.errors import TrainingDiverged
    from zeronlp.optimizers import SGD
    from zeronlp.training import Trainer

    seed(0)
    model = TwoLayerNet(2, 5, 3)
    x, t = _spiral_like()
    trainer = Trainer(model, SGD(lr=1e39))  # finite for Python, inf for float32 updates
    before = [p.copy() for p in model.params]
    with pytest.raises(TrainingDiverged, match="non-finite at epoch 1, iteration 1"):
        trainer.fit(x, t, max_epoch=2, batch_size=10, verbose=False)
    for a, b in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(a, b)  # the last finite parameters, in memory


def _forced_grads(monkeypatch, model, value):
    """Every gradient of every step set to ``value`` (after the real backward)."""
    backward = model.backward

    def forced(*args):
        out = backward(*args)
        for g in model.grads:
            g[...] = value
        return out

    monkeypatch.setattr(model, "backward", forced)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
@pytest.mark.parametrize(
    "big, lr, grad",
    [
        (3.3e38, 5e37, -1.0),  # a parameter near float32's max, pushed past it by a finite step
        (0.0, 1e39, 0.0),  # lr past float32's range on zero gradients: 0 * inf = NaN
        (0.0, 5e37, 10.0),  # a finite lr whose step lr * g overflows
    ],
)
def test_sgd_updates_near_the_float_range_are_checked_and_put_back(monkeypatch, big, lr, grad):
    """Plain SGD skips the copy of the parameters only when its update provably stays
    finite; these updates do not, so they take the copy and the check."""
    from zeronlp.errors import TrainingDiverged
    from zeronlp.optimizers import SGD
    from zeronlp.training import Trainer

    seed(0)
    model = TwoLayerNet(2, 5, 3)
    model.params[0][0, 0] = big
    x, t = _spiral_like()
    _forced_grads(monkeypatch, model, grad)
    before = [p.copy() for p in model.params]
    with pytest.raises(TrainingDiverged, match="non-finite at epoch 1, iteration 1"):
        Trainer(model, SGD(lr=lr)).fit(x, t, max_epoch=1, batch_size=10, verbose=False)
    for a, b in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_finite_parameters_whose_squares_overflow_are_finite(monkeypatch):
    """|p| = 2e19: p . p is inf in float32, so the bound and the quick check both defer to
    the exact check, which finds the parameters finite: training goes on."""
    from zeronlp.optimizers import SGD
    from zeronlp.training import Trainer

    seed(0)
    model = TwoLayerNet(2, 5, 3)
    model.params[0][0, 0] = 2e19
    x, t = _spiral_like()
    _forced_grads(monkeypatch, model, 0.5)
    trainer = Trainer(model, SGD(lr=0.1))
    trainer.fit(x, t, max_epoch=1, batch_size=10, verbose=False)
    assert trainer._backup  # the copy was taken
    assert model.params[0][0, 0] == np.float32(2e19)  # - 6 steps of 0.05: below its ulp


@pytest.mark.parametrize("optimizer", ["SGD", "Momentum"])
def test_only_plain_sgd_far_from_the_float_range_skips_the_copy(optimizer):
    from zeronlp import optimizers
    from zeronlp.training import Trainer

    seed(0)
    model = TwoLayerNet(2, 5, 3)
    x, t = _spiral_like()
    trainer = Trainer(model, getattr(optimizers, optimizer)(lr=0.1))
    trainer.fit(x, t, max_epoch=1, batch_size=10, max_grad=1.0, verbose=False)
    assert (trainer._backup == []) == (optimizer == "SGD")  # the copy buffers of train_step
    assert all(np.isfinite(p).all() for p in model.params)


@pytest.mark.parametrize("max_grad", [5.0, None])  # the norm is checked with or without clipping
def test_a_non_finite_gradient_is_never_applied(monkeypatch, max_grad):
    from zeronlp.errors import TrainingDiverged
    from zeronlp.optimizers import Adam
    from zeronlp.training import Trainer

    seed(0)
    model = TwoLayerNet(2, 5, 3)
    x, t = _spiral_like()
    backward, steps = model.backward, []

    def poisoned_backward(*args):
        out = backward(*args)
        if len(steps) == 3:  # the fourth step's gradient holds a NaN
            model.grads[2][0, 0] = np.nan
        return out

    trainer = Trainer(model, Adam(lr=0.01))
    update = trainer.optimizer.update

    def recorded_update(params, grads):
        update(params, grads)
        steps.append([p.copy() for p in model.params])

    monkeypatch.setattr(model, "backward", poisoned_backward)
    monkeypatch.setattr(trainer.optimizer, "update", recorded_update)
    with pytest.raises(TrainingDiverged, match="gradient norm became nan at epoch 1, iteration 4"):
        trainer.fit(x, t, max_epoch=1, batch_size=10, max_grad=max_grad, verbose=False)
    assert len(steps) == 3
    for a, b in zip(steps[-1], model.params, strict=True):
        np.testing.assert_array_equal(a, b)


def test_perplexity_past_the_float_range_is_inf():
    from zeronlp.training import eval_perplexity
    from zeronlp.training.trainer import perplexity

    assert perplexity(800.0) == float("inf")
    assert perplexity(0.0) == 1.0

    class Huge:
        def forward(self, xs, ts):
            return 800.0  # a finite loss above log(float max)

    assert eval_perplexity(Huge(), np.arange(400) % 7) == float("inf")


@pytest.mark.parametrize("lr", [0, -1, float("nan"), float("inf"), "0.1", None])
def test_optimizers_refuse_a_bad_learning_rate(lr):
    from zeronlp import optimizers

    for cls in (optimizers.SGD, optimizers.Momentum, optimizers.Adam, optimizers.AdaGrad):
        with pytest.raises(ValueError, match="learning rate must be a finite number > 0"):
            cls(lr=lr)
    opt = optimizers.SGD(lr=0.1)
    with pytest.raises(ValueError, match="learning rate"):
        opt.lr = lr  # a schedule setting it later is checked too


@pytest.mark.parametrize(
    "make, name",
    [
        (lambda o: o.Momentum(momentum=1.5), "momentum"),
        (lambda o: o.Nesterov(momentum=-0.1), "momentum"),
        (lambda o: o.Adam(beta1=1.0), "beta1"),
        (lambda o: o.Adam(beta2=float("nan")), "beta2"),
        (lambda o: o.RMSprop(decay_rate=2), "decay_rate"),
    ],
)
def test_optimizers_refuse_rates_out_of_range(make, name):
    from zeronlp import optimizers

    with pytest.raises(ValueError, match=rf"{name} must be a number in \[0.0, 1.0\)"):
        make(optimizers)


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
@pytest.mark.parametrize("model_name", ["CBOW", "SkipGram"])
def test_word2vec_never_applies_a_non_finite_batch(model_name):
    from zeronlp import models
    from zeronlp.errors import TrainingDiverged
    from zeronlp.training import train_word2vec

    corpus = np.random.default_rng(0).integers(0, 30, 2000)
    model = getattr(models, model_name)(30, 8, 2, corpus)
    with pytest.raises(TrainingDiverged, match=r"at epoch 1, batch 1\b"):
        train_word2vec(model, corpus, epochs=1, batch_size=500, lr=1e39, verbose=False)
    assert all(np.isfinite(p).all() for p in model.params)


# ---------------------------------------------------------------- crashes and races on files

_WRITER = """
import sys, numpy as np
from zeronlp import io
path = sys.argv[1]
k = 0
while True:
    k += 1
    io.save_arrays(path, [np.full((200, 200), k, np.float32)] * 3, {"tag": k})
    print(k, flush=True)
"""


def _start_writer(path):
    import subprocess
    import sys

    src = str(Path(io.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    proc = subprocess.Popen(
        [sys.executable, "-c", _WRITER, str(path)], stdout=subprocess.PIPE, text=True, env=env
    )
    proc.stdout.readline()  # the first save is done
    return proc


def _consistent(path):
    arrays, meta = io.load_arrays(path)
    return all((a == meta["tag"]).all() for a in arrays)


def test_kill_9_at_random_moments_during_a_save_loop_never_breaks_the_file(tmp_path):
    import signal
    import time

    rng = np.random.default_rng(0)
    path = tmp_path / "ckpt.npz"
    for _ in range(6):
        proc = _start_writer(path)
        time.sleep(rng.uniform(0.0, 0.3))
        proc.send_signal(signal.SIGKILL)
        proc.wait()
        assert _consistent(path)  # the final name always holds one whole save


def test_a_reader_racing_a_writer_gets_one_saves_metadata_and_arrays(tmp_path):
    import time

    path = tmp_path / "ckpt.npz"
    proc = _start_writer(path)
    try:
        reads, end = 0, time.time() + 2.0
        while time.time() < end:
            assert _consistent(path)
            reads += 1
    finally:
        proc.kill()
        proc.wait()
    assert reads > 10


def _claim_in_process(args):
    import time

    from zeronlp.cli import runs
    from zeronlp.errors import RunDirectoryError

    out, barrier = args
    real_open = os.open

    def slow_open(*a, **k):  # every run finds the directory empty before any claims it
        time.sleep(0.3)
        return real_open(*a, **k)

    os.open = slow_open  # in this forked process only
    barrier.wait()
    try:
        runs.new_run_dir(out, "date", "attention")
        return "claimed"
    except RunDirectoryError as e:
        return str(e)


@pytest.mark.parametrize("exists", [False, True])
def test_two_runs_racing_for_one_out_directory(tmp_path, exists):
    import multiprocessing as mp

    out = tmp_path / "run"
    if exists:
        out.mkdir()  # an empty directory both runs may find empty
    ctx = mp.get_context("fork")
    with ctx.Manager() as manager:
        barrier = manager.Barrier(4)
        with ctx.Pool(4) as pool:
            results = pool.map(_claim_in_process, [(str(out), barrier)] * 4)
    assert results.count("claimed") == 1, results
    assert all("choose another --out" in r for r in results if r != "claimed")


# ---------------------------------------------------------------- the command line

SMALL = ["--epochs", "1", "--hidden", "8", "--wordvec", "8", "--quiet"]


@pytest.fixture(scope="module")
def date_file(tmp_path_factory):
    from zeronlp.datasets import sequence

    path = tmp_path_factory.mktemp("data") / "date-small.txt"
    path.write_text("".join(line + "\n" for line in sequence.generate_date(400, seed=3)))
    return path


@pytest.fixture(scope="module")
def date_run(tmp_path_factory, date_file):
    from zeronlp.cli import main

    run = tmp_path_factory.mktemp("runs") / "date"
    argv = ["train", "date", "--data", str(date_file), *SMALL, "--model", "seq2seq"]
    assert main([*argv, "--out", str(run)]) == 0
    return run


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_cli_training_with_lr_1e39_keeps_only_finite_parameters(tmp_path, date_file, capsys):
    from zeronlp.cli import main

    run = tmp_path / "nan"
    argv = ["train", "date", "--data", str(date_file), *SMALL, "--lr", "1e39", "--out", str(run)]
    assert main(argv) == 1
    err = capsys.readouterr().err
    assert "training stopped" in err and "at epoch 1, iteration 1" in err
    arrays, _ = io.load_arrays(run / "params.npz")  # the run directory holds the last finite
    assert all(np.isfinite(a).all() for a in arrays)
    assert main(["translate", str(run), "september 27, 1994"]) == 0


def test_a_run_failing_before_training_leaves_nothing_behind(tmp_path, monkeypatch, capsys):
    from zeronlp.cli import main, train
    from zeronlp.errors import InputError

    tiny = tmp_path / "tiny.txt"
    tiny.write_text("1_2\n3_4\n5_6\n")
    run = tmp_path / "run"
    argv = ["train", "date", "--data", str(tiny), *SMALL, "--out", str(run)]
    assert main(argv) == 2  # data too small for its split: refused before anything
    assert "too few for a test split" in capsys.readouterr().err
    assert not run.exists()

    def failing_build(*args, **kwargs):  # a failure after the directory was claimed
        raise InputError("no model today")

    monkeypatch.setattr(train, "build_seq2seq", failing_build)
    argv[3] = str(date_file_path(tmp_path))
    assert main(argv) == 2
    assert not run.exists()  # a rerun is not blocked
    (tmp_path / "empty").mkdir()  # a directory the user made stays, emptied of our files
    argv[-1] = str(tmp_path / "empty")
    assert main(argv) == 2
    assert list((tmp_path / "empty").iterdir()) == []


def date_file_path(tmp_path):
    from zeronlp.datasets import sequence

    path = tmp_path / "date-40.txt"
    path.write_text("".join(line + "\n" for line in sequence.generate_date(40, seed=1)))
    return path


def test_a_load_that_fails_on_a_later_array_leaves_the_model_as_it_was(tmp_path):
    _, path = _saved(tmp_path)  # TwoLayerNet(2, 4, 3)
    target = TwoLayerNet(2, 4, 5)  # parameters 0 and 1 fit, parameter 2 does not
    before = [p.copy() for p in target.params]
    with pytest.raises(CheckpointError, match="array 2 has shape"):
        target.load_params(path)
    for a, b in zip(before, target.params, strict=True):
        np.testing.assert_array_equal(a, b)


def _forge(run, dst, **changes):
    """A copy of a run whose params.npz metadata is changed (arrays unchanged)."""
    import shutil

    shutil.copytree(run, dst)
    arrays, meta = io.load_arrays(dst / "params.npz")
    for key, value in changes.items():
        if key in ("vocab_size", "hidden_size"):
            meta["config"][key] = value
        else:
            meta[key] = value
    meta = {k: v for k, v in meta.items() if k not in ("format", "version", "shapes", "dtypes")}
    io.save_arrays(dst / "params.npz", arrays, meta)
    return dst


@pytest.mark.parametrize(
    "changes, message",
    [
        ({"vocab_size": 10**6}, "vocab_size=1000000 does not fit the stored arrays"),
        ({"hidden_size": 10**6}, "hidden_size=1000000 does not fit the stored arrays"),
        ({"model": "BaseModel"}, "names the model 'BaseModel', not one of zeronlp's"),
        ({"model": "rnnlm"}, "names the model 'rnnlm', not one of zeronlp's"),
        ({"model": "AttentionSeq2seq"}, "but the model's parameter 8 has shape"),
        ({"vocab": list("0123456789_ ")}, "the vocabulary has 12 entries but the model"),
        ({"vocab": ["a", "a"]}, "lists 'a' twice"),
        ({"vocab": "abc"}, "not a list of non-empty strings"),
        ({"question_len": 10**9}, "question_len is 1000000000"),
    ],
)
def test_forged_run_metadata_is_refused_before_anything_is_built(
    tmp_path, date_run, changes, message, capsys
):
    from zeronlp.cli import main

    run = _forge(date_run, tmp_path / "forged", **changes)
    assert main(["translate", str(run), "1/2/03"]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_no_path_from_a_config_is_opened(tmp_path, date_run, capsys):
    import shutil

    from zeronlp.cli import main

    run = tmp_path / "run"
    shutil.copytree(date_run, run)
    (run / "config.json").write_text(json.dumps({"data": "/etc/passwd"}))
    main(["eval", str(run)])
    assert "passwd" not in capsys.readouterr().err


def test_eval_encodes_with_the_runs_vocabulary_and_says_when_data_differ(
    tmp_path, date_run, date_file, capsys
):
    from zeronlp.cli import main

    assert main(["eval", str(date_run), "--data", str(date_file)]) == 0
    same = capsys.readouterr()
    assert "note:" not in same.err
    lines = date_file.read_text().splitlines()
    other = tmp_path / "reordered.txt"  # the same questions: ids by first appearance differ
    other.write_text("\n".join(lines[::-1]) + "\n")
    assert main(["eval", str(date_run), "--data", str(other)]) == 0
    out = capsys.readouterr()
    assert "is not the file" in out.err and "recorded for its train data" in out.err
    alien = tmp_path / "alien.txt"
    alien.write_text("".join(line.replace("1", "#") + "\n" for line in lines))
    assert main(["eval", str(date_run), "--data", str(alien)]) == 2
    assert "'#' not in the vocabulary" in capsys.readouterr().err


def test_runs_of_the_wrong_kind_say_so(tmp_path, date_run, capsys):
    from zeronlp.cli import main
    from zeronlp.models import CBOW

    w2v = tmp_path / "w2v"
    w2v.mkdir()
    meta = {"task": "word2vec", "vocab": list("abcdefghij"), "word_vecs_index": 0}
    CBOW(10, 4, 1, np.arange(50) % 10).save_params(w2v / "params.npz", meta=meta)
    for argv, message in [
        (["eval", str(w2v)], "is a word2vec run; this command needs a ptb or date or addition"),
        (["generate", str(w2v)], "is a word2vec run; this command needs a ptb run"),
        (["translate", str(date_run), "1/2/03", "--attention", "a.png"], "no attention to draw"),
        (["similar", str(date_run), "1"], "its vocabulary is characters, not words"),
    ]:
        assert main(argv) == 2
        assert message in capsys.readouterr().err


def test_only_user_errors_are_one_line_and_debug_shows_every_traceback(
    tmp_path, monkeypatch, capsys
):
    from zeronlp.cli import main, use

    assert main(["eval", str(tmp_path)]) == 2  # a user error: one line
    assert capsys.readouterr().err.count("\n") == 1
    with pytest.raises(io.CheckpointError):  # --debug: the user error's traceback too
        main(["--debug", "similar", str(_pkl(tmp_path, [np.zeros(2)])), "x"])

    def bug(args):
        return {}["a key zeronlp forgot"]

    monkeypatch.setattr(use, "evaluate", bug)
    with pytest.raises(KeyError):  # a bug inside zeronlp keeps its traceback
        main(["eval", str(tmp_path)])


# ---------------------------------------------------------------- data files


def test_offline_cached_file_failing_its_check_says_so(tmp_path, monkeypatch):
    from zeronlp.datasets import ptb
    from zeronlp.errors import DataError

    (tmp_path / "ptb").mkdir()
    (tmp_path / "ptb" / "ptb.train.txt").write_text(" half a fi")
    monkeypatch.setenv("ZERONLP_CACHE", str(tmp_path))
    monkeypatch.setenv("ZERONLP_OFFLINE", "1")
    monkeypatch.setenv("ZERONLP_DATA", str(tmp_path / "none"))
    with pytest.raises(DataError, match=r"ptb.train.txt fails its check"):
        ptb.load_data("train")


def test_non_utf8_input_names_file_and_line(tmp_path):
    from zeronlp.datasets import sequence
    from zeronlp.errors import DataError

    path = tmp_path / "f.txt"
    path.write_bytes(b"12_3\n45_6\n7\xff_8\n")
    with pytest.raises(DataError, match=r"f.txt line 3: not UTF-8 text \(byte 0xff\)"):
        sequence.load_data(path)


def test_a_generated_cache_cut_short_is_regenerated(tmp_path, monkeypatch):
    from zeronlp.datasets import sequence

    monkeypatch.setenv("ZERONLP_CACHE", str(tmp_path))
    monkeypatch.setenv("ZERONLP_DATA", str(tmp_path / "none"))
    path = sequence.generated_path("addition", n=1000)
    whole = path.read_bytes()
    for cut in (len(whole) - 1, len(whole) // 2 + 5, 13 * 500):  # mid-line and at a line end
        path.write_bytes(whole[:cut])
        assert sequence.generated_path("addition", n=1000) == path
        assert path.read_bytes() == whole


@pytest.mark.filterwarnings("ignore:overflow:RuntimeWarning", "ignore:invalid:RuntimeWarning")
def test_word2vec_stops_on_a_non_finite_loss_before_updating():
    from zeronlp import models
    from zeronlp.errors import TrainingDiverged
    from zeronlp.training import train_word2vec

    corpus = np.random.default_rng(0).integers(0, 30, 2000)
    model = models.CBOW(30, 8, 2, corpus)
    model.params[1][...] = 3e38  # W_out: every score overflows to inf
    model.params[0][...] = 1.0
    before = [p.copy() for p in model.params]
    with pytest.raises(TrainingDiverged, match=r"loss became (inf|nan) at epoch 1, batch 1;"):
        train_word2vec(model, corpus, epochs=1, batch_size=500, verbose=False)
    for a, b in zip(before, model.params, strict=True):
        np.testing.assert_array_equal(a, b)
