"""Data-parallel training (zeronlp.distributed): the single-process communicator, and real
``mpiexec -n 2`` jobs compared with one process (tests/mpi_job.py holds the trainings)."""

import importlib.util
import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import time
from pathlib import Path

import numpy as np
import pytest

from zeronlp import distributed
from zeronlp.distributed import Communicator, DistributedError

HERE = Path(__file__).parent
SRC = HERE.parent / "src"


class _Rank(Communicator):
    """A Communicator that says it is rank ``rank`` of ``size`` (for the sharding rules)."""

    def __init__(self, rank, size):
        self.rank, self.size = rank, size


def test_single_process_communicator_does_nothing():
    comm = Communicator()
    g = [np.ones((2, 3), np.float32)]
    assert comm.allreduce_grads(g, 1.5) == 1.5 and g[0].sum() == 6
    assert comm.shard(7) == slice(0, 7) and comm.split(7) == slice(0, 7)
    assert comm.is_root


def test_world_without_a_launcher_is_the_single_process_one(monkeypatch):
    for name in distributed.LAUNCHER_SIZE_VARS:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(distributed, "_world", None)
    assert type(distributed.world()) is Communicator


def test_shard_gives_contiguous_equal_rows_and_refuses_a_remainder():
    assert [_Rank(r, 4).shard(20) for r in range(4)] == [
        slice(0, 5), slice(5, 10), slice(10, 15), slice(15, 20)
    ]  # fmt: skip
    with pytest.raises(DistributedError, match=r"batch size \(10\) must be a multiple .* \(3\)"):
        _Rank(0, 3).shard(10)


def test_split_covers_every_item_once():
    for n, size in [(10, 3), (2, 4), (0, 2), (7, 7)]:
        parts = [np.arange(n)[_Rank(r, size).split(n)] for r in range(size)]
        assert np.array_equal(np.concatenate(parts), np.arange(n))


# ---------------------------------------------------------------- under mpiexec


def _mpiexec():
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed (pip install 'zeronlp[mpi]')")
    # the mpich wheel's, in this environment's scripts folder, else the one on PATH
    here = [Path(sysconfig.get_path("scripts")), Path(sys.executable).parent]
    found = next((str(d / "mpiexec") for d in here if (d / "mpiexec").exists()), None)
    found = found or shutil.which("mpiexec")
    if found is None:
        pytest.skip("no mpiexec found (pip install 'zeronlp[mpi]' brings MPICH's)")
    return found


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SRC), env.get("PYTHONPATH")]))
    env["OMP_NUM_THREADS"] = env["OPENBLAS_NUM_THREADS"] = "1"  # two ranks on two cores
    # Open MPI refuses root (CI) and more ranks than cores unless told
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    env.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    env.setdefault("OMPI_MCA_rmaps_base_oversubscribe", "1")
    return env


def _run_mpi(args, timeout=120):
    """mpiexec -n 2 python ARGS; on a timeout the whole process group is killed (a hung
    job's ranks must not outlive the test)."""
    job = subprocess.Popen(
        [_mpiexec(), "-n", "2", sys.executable, *args],
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        start_new_session=True,
    )  # fmt: skip
    try:
        out, err = job.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(job.pid, signal.SIGKILL)
        job.communicate()
        raise
    return subprocess.CompletedProcess(job.args, job.returncode, out, err)


def _job_module():
    spec = importlib.util.spec_from_file_location("mpi_job", HERE / "mpi_job.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("job", ["rnnlm", "date", "word2vec"])
def test_two_ranks_train_the_same_parameters_as_one_process(job, tmp_path):
    if job == "date":
        pytest.importorskip("zeronlp.cli.train")
    done = _run_mpi([str(HERE / "mpi_job.py"), job, str(tmp_path)])
    assert done.returncode == 0, done.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    assert all(int(r["size"]) == 2 for r in ranks)

    params, figures = getattr(_job_module(), job)(Communicator())
    for i, p in enumerate(params):
        # every rank holds bit-identical parameters ...
        assert np.array_equal(ranks[0][f"p{i}"], ranks[1][f"p{i}"])
        # ... equal to those of one process with the same global batch, up to float32 rounding
        np.testing.assert_allclose(ranks[0][f"p{i}"], p, rtol=0, atol=2e-6)
    for name, value in figures.items():  # losses, perplexities, accuracy: global ones
        np.testing.assert_allclose(ranks[0][name], value, rtol=2e-6)
        np.testing.assert_allclose(ranks[1][name], value, rtol=2e-6)


def test_word2vec_with_the_row_cap_keeps_every_rank_identical(tmp_path):
    # each rank caps its own share of a batch, so this run is not the one-process one
    # (docs/distributed.md), but the ranks never drift apart
    done = _run_mpi([str(HERE / "mpi_job.py"), "word2vec_capped", str(tmp_path)])
    assert done.returncode == 0, done.stderr
    ranks = [np.load(tmp_path / f"rank{r}.npz") for r in range(2)]
    for name in ranks[0].files:
        assert np.array_equal(ranks[0][name], ranks[1][name])


def test_a_failing_rank_ends_the_whole_job_within_seconds(tmp_path):
    start = time.monotonic()
    done = _run_mpi([str(HERE / "mpi_job.py"), "fail", str(tmp_path)], timeout=30)
    assert time.monotonic() - start < 30
    assert done.returncode != 0
    assert "rank 1 fails on purpose" in done.stderr


DATE = ["train", "date", "--train-size", "256", "--epochs", "1", "--hidden", "16", "--wordvec", "8"]


def test_cli_under_mpiexec_trains_like_one_process_and_only_rank_0_writes(tmp_path):
    from zeronlp.cli import main
    from zeronlp.io import load_arrays

    done = _run_mpi(["-m", "zeronlp", *DATE, "--quiet", "--out", str(tmp_path / "two")])
    assert done.returncode == 0, done.stderr
    assert done.stdout.count("date test accuracy") == 1  # rank 0 alone prints
    assert sorted(p.name for p in tmp_path.iterdir()) == ["two"]  # and writes a run
    assert main([*DATE, "--quiet", "--out", str(tmp_path / "one")]) == 0
    two, _ = load_arrays(tmp_path / "two" / "params.npz")
    one, _ = load_arrays(tmp_path / "one" / "params.npz")
    for a, b in zip(two, one, strict=True):
        np.testing.assert_allclose(a, b, rtol=0, atol=2e-6)


def test_cli_refuses_a_batch_size_the_ranks_cannot_share(tmp_path):
    done = _run_mpi(["-m", "zeronlp", *DATE, "--batch-size", "33", "--out", str(tmp_path / "r")])
    assert done.returncode == 2
    assert done.stderr.strip().splitlines() == [
        "zeronlp: error: the --batch-size (33) must be a multiple of the number of MPI "
        "processes (2): each process takes an equal share"
    ]
    assert not (tmp_path / "r").exists()
