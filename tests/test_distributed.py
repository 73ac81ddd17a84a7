"""Data-parallel training (zeronlp.distributed): the single-process communicator, and real
``mpiexec -n 2`` jobs compared with one process (tests/mpi_job.py holds the trainings)."""

import numpy as np
import pytest

from zeronlp import distributed
from zeronlp.distributed import Communicator, DistributedError


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
