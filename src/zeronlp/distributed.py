"""Data-parallel training over MPI (mpi4py), NCCL through CuPy on GPUs.

Every rank (process) holds a full copy of the model. At every step each rank runs
forward/backward on its own rows of the global batch; the gradients of all parameters are
then averaged across the ranks with one in-place ``Allreduce`` of a flat buffer, and every
rank applies the same update, so the copies never drift apart:

    rank r of R:  loss_r, grads_r = forward/backward(rows [r*B/R, (r+1)*B/R) of the batch)
    all ranks:    grads = (grads_0 + ... + grads_{R-1}) / R       # one Allreduce
                  clip(grads, max_grad); optimizer.update(params, grads)

Each rank's loss is a mean over its B/R rows, so the mean of the R means is the mean over
the B rows: the update is the one a single process with the global batch B makes (up to
float32 rounding in the sums), when every rank's rows carry the same number of tokens.

``world()`` gives the communicator of the job: ``MPICommunicator`` when the program runs
under ``mpiexec -n R`` with R > 1, else a ``Communicator`` whose methods do nothing, so the
trainers take one code path. mpi4py is imported only under a launcher.

    mpiexec -n 4 zeronlp train ptb --batch-size 20      # each rank takes 5 rows
    comm = world(); trainer = RnnlmTrainer(model, optimizer, comm=comm)
"""

from __future__ import annotations

import os
import sys
import time

import numpy as np

from . import backend
from .errors import InputError, MissingDependencyError

# Environment variables that MPI launchers (MPICH/hydra, Open MPI, PMIx, Slurm's PMI) set
# in the processes they start: their presence means "we run under mpiexec".
LAUNCHER_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE", "PMIX_SIZE")


class DistributedError(InputError):
    """A setting that cannot be split across the ranks (e.g. a batch R does not divide)."""


class Communicator:
    """One process alone: rank 0 of 1. Every collective operation returns its input."""

    rank = 0
    size = 1

    @property
    def is_root(self):
        """True on the rank that writes files and shows progress (rank 0)."""
        return self.rank == 0

    def shard(self, n, what="batch size"):
        """This rank's contiguous share of n items, a slice; R must divide n.

        Rank r takes [r*n/R, (r+1)*n/R): with the rows of a truncated-BPTT batch, each
        rank keeps whole streams, so a stream's hidden state stays on one rank.
        """
        if n % self.size:
            raise DistributedError(
                f"the {what} ({n}) must be a multiple of the number of MPI processes "
                f"({self.size}): each process takes an equal share"
            )
        step = n // self.size
        return slice(self.rank * step, (self.rank + 1) * step)

    def split(self, n):
        """This rank's contiguous share of n items when R need not divide n, a slice.

        The first n % R ranks take one item more (as ``np.array_split``); a rank may get
        none. Used for evaluation, where counts are summed, not averaged.
        """
        small, extra = divmod(n, self.size)
        start = self.rank * small + min(self.rank, extra)
        return slice(start, start + small + (self.rank < extra))

    def broadcast_params(self, params):
        """Copy rank 0's parameters into every rank's arrays, in place."""

    def allreduce_grads(self, grads, loss=None, average=True):
        """Average ``grads`` (and ``loss``) across the ranks, in place; returns the loss.

        average=False sums them instead (word2vec sums its ranks' parameter updates).
        """
        return loss

    def allreduce_sum(self, values):
        """Sum a few host numbers across the ranks: values (k,) -> (k,) float64."""
        return np.asarray(values, dtype=np.float64)

    def bcast(self, array):
        """Rank 0's ``array`` (a host NumPy array of the same shape on every rank)."""
        return array

    def split_random_streams(self):
        """Give every rank but 0 its own random stream (dropout masks differ per rank)."""

    def abort(self, code=1):
        """End the whole job: in one process, just this process."""
        sys.exit(code)


class MPICommunicator(Communicator):
    """The ranks of an MPI communicator (``MPI.COMM_WORLD`` by default), through mpi4py.

    Creating one makes any uncaught exception on any rank print its traceback and call
    ``MPI.Abort``, which ends every rank: the others would otherwise wait in the next
    collective operation for ever.
    """

    def __init__(self, mpi_comm=None):
        from mpi4py import MPI

        self.MPI = MPI
        self.comm = MPI.COMM_WORLD if mpi_comm is None else mpi_comm
        self.rank = self.comm.Get_rank()
        self.size = self.comm.Get_size()
        self._buffers = {}  # (size, dtype, module) -> flat buffer reused every step
        self._nccl = None
        if self.size > 1:
            self._abort_on_uncaught_exception()

    # ------------------------------------------------------------ failure

    def _abort_on_uncaught_exception(self):
        previous = sys.excepthook

        def hook(kind, value, traceback):
            previous(kind, value, traceback)
            self.abort(1)

        sys.excepthook = hook

    def abort(self, code=1):
        sys.stdout.flush()
        sys.stderr.flush()
        time.sleep(0.2)  # let the launcher forward this rank's last lines before it kills all
        self.comm.Abort(code)

    # ------------------------------------------------------------ GPUs

    def select_gpu(self):
        """Use GPU (local rank mod device count) on this node; call before use_gpu()."""
        import cupy

        local = self.comm.Split_type(self.MPI.COMM_TYPE_SHARED).Get_rank()
        cupy.cuda.Device(local % cupy.cuda.runtime.getDeviceCount()).use()

    def _nccl_comm(self):
        """A NCCL communicator over the same ranks, or None where CuPy has no NCCL."""
        if self._nccl is None:
            try:
                from cupy.cuda import nccl

                available = nccl.available
            except Exception:  # CuPy built without NCCL
                available = False
            if not available:
                self._nccl = False
            else:
                uid = self.comm.bcast(nccl.get_unique_id() if self.rank == 0 else None)
                self._nccl = nccl.NcclCommunicator(self.size, uid, self.rank)
        return self._nccl or None

    # ------------------------------------------------------------ collectives

    def _flat(self, n, dtype, module):
        key = (n, np.dtype(dtype).str, module.__name__)
        if key not in self._buffers:
            self._buffers[key] = module.empty(n, dtype=dtype)
        return self._buffers[key]

    def _collective(self, buf, op):
        """In-place Allreduce (sum) or Bcast (from rank 0) of a flat buffer."""
        module = backend.get_array_module(buf)
        if module is np:
            if op == "sum":
                self.comm.Allreduce(self.MPI.IN_PLACE, buf, op=self.MPI.SUM)
            else:
                self.comm.Bcast(buf, root=0)
            return
        nccl_comm = self._nccl_comm()
        if nccl_comm is not None:  # device to device, on CuPy's current stream
            from cupy.cuda import nccl

            kind = {"float32": nccl.NCCL_FLOAT32, "float64": nccl.NCCL_FLOAT64}
            stream = module.cuda.get_current_stream().ptr
            ptr, count, dtype = buf.data.ptr, buf.size, kind[np.dtype(buf.dtype).name]
            if op == "sum":
                nccl_comm.allReduce(ptr, ptr, count, dtype, nccl.NCCL_SUM, stream)
            else:
                nccl_comm.bcast(ptr, count, dtype, 0, stream)
            return
        host = module.asnumpy(buf)  # no NCCL: stage through host memory
        self._collective(host, op)
        buf.set(host)

    def _pack(self, arrays, extra=0):
        """Copy ``arrays`` into one flat buffer (with ``extra`` free slots at the end)."""
        dtype = np.result_type(*[a.dtype for a in arrays])
        module = backend.get_array_module(arrays[0])
        buf = self._flat(sum(a.size for a in arrays) + extra, dtype, module)
        offset = 0
        for a in arrays:
            buf[offset : offset + a.size] = a.ravel()
            offset += a.size
        return buf

    @staticmethod
    def _unpack(buf, arrays):
        offset = 0
        for a in arrays:
            a[...] = buf[offset : offset + a.size].reshape(a.shape)
            offset += a.size

    def broadcast_params(self, params):
        if self.size == 1 or not params:
            return
        buf = self._pack(params)
        self._collective(buf, "bcast")
        self._unpack(buf, params)

    def allreduce_grads(self, grads, loss=None, average=True):
        """One in-place Allreduce of all gradients (and the loss, in the last slot)."""
        if self.size == 1 or not grads:
            return loss
        buf = self._pack(grads, extra=1)
        buf[-1] = 0.0 if loss is None else loss
        self._collective(buf, "sum")
        if average:
            buf *= buf.dtype.type(1.0 / self.size)
        self._unpack(buf, grads)
        return None if loss is None else float(buf[-1])

    def allreduce_sum(self, values):
        values = np.array(values, dtype=np.float64)
        self.comm.Allreduce(self.MPI.IN_PLACE, values, op=self.MPI.SUM)
        return values

    def bcast(self, array):
        array = np.ascontiguousarray(array)
        self.comm.Bcast(array, root=0)
        return array

    def split_random_streams(self):
        # all ranks share the seed (and so the initial parameters); rank 0 keeps its
        # stream, so its draws are those of a single process, the others get new ones
        state = np.random.get_state()
        drawn = np.random.randint(2**31 - self.size)
        if self.rank == 0:
            np.random.set_state(state)
        else:
            backend.seed(drawn + self.rank)


def launched_size():
    """The number of processes the MPI launcher started (1 without a launcher)."""
    for name in LAUNCHER_SIZE_VARS:
        value = os.environ.get(name)
        if value and value.isdigit():
            return int(value)
    return 1


_world = None


def world():
    """The communicator of this job: MPI's world under ``mpiexec -n R`` (R > 1), else
    the single-process ``Communicator``. The same object on every call."""
    global _world
    if _world is None:
        size = launched_size()
        if size == 1:
            _world = Communicator()
        else:
            try:
                import mpi4py  # noqa: F401
            except ImportError as e:
                raise MissingDependencyError(
                    f"this process was started by mpiexec with {size} processes, but "
                    "mpi4py is missing: pip install 'zeronlp[mpi]'"
                ) from e
            _world = MPICommunicator()
    return _world
