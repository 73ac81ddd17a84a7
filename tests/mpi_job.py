"""Tiny trainings that tests/test_distributed.py runs under ``mpiexec -n 2`` and in-process.

    python tests/mpi_job.py JOB OUT_DIR      JOB: a name in JOBS

Every rank writes its parameters (and the evaluation figures) to OUT_DIR/rank{r}.npz; the
test compares them with a single-process run of the same function.
"""

from __future__ import annotations

import sys
from pathlib import Path

import numpy as np

from zeronlp import backend, models, optimizers
from zeronlp.distributed import world
from zeronlp.training import RnnlmTrainer, Trainer, eval_perplexity, seq2seq_accuracy

SEED = 7


def rnnlm(comm):
    """Rnnlm, global batch 4 x 5 steps, clipping active: (params, figures)."""
    backend.seed(SEED)
    rng = np.random.default_rng(0)
    corpus = rng.integers(0, 30, size=1201)
    model = models.Rnnlm(vocab_size=30, wordvec_size=8, hidden_size=8)
    trainer = RnnlmTrainer(model, optimizers.SGD(lr=2.0), comm=comm)
    ppl = trainer.fit(
        corpus[:-1], corpus[1:], max_epoch=2, batch_size=4, time_size=5, max_grad=0.5,
        eval_interval=1, verbose=False,
    )  # fmt: skip
    model.reset_state()
    val = eval_perplexity(model, corpus[:400], batch_size=3, time_size=5, comm=comm)
    return model.params, {"ppl": np.array(ppl), "val": np.array([val])}


def date(comm):
    """AttentionSeq2seq on 256 date examples, global batch 32, Adam: (params, figures)."""
    from zeronlp.cli.train import load_sequence_task

    backend.seed(SEED)
    (x, t), (x_test, t_test), (char_to_id, _) = load_sequence_task("date", train_size=256)
    model = models.AttentionSeq2seq(len(char_to_id), 8, 16)
    trainer = Trainer(model, optimizers.Adam(lr=0.01), comm=comm)
    loss = trainer.fit(x, t, max_epoch=2, batch_size=32, max_grad=1.0, eval_interval=1,
                       verbose=False)  # fmt: skip
    # the model's own answers to the first 40 of 101 questions: accuracy 40/101 exactly,
    # with the 101 questions split 51/50 over two ranks
    x_test, t_test = x_test[:101], t_test[:101].copy()
    t_test[:40, 1:] = model.generate_batch(x_test[:40], t_test[:40, 0], t_test.shape[1] - 1)
    acc = seq2seq_accuracy(model, x_test, t_test, comm=comm)
    return model.params, {"loss": np.array(loss), "acc": np.array([acc])}


def word2vec(comm, max_row_updates=None):
    """CBOW and SkipGram on a random corpus, 7 segments per batch (4 + 3 on two ranks)."""
    from zeronlp.training import train_word2vec

    backend.seed(SEED)
    corpus = np.random.default_rng(0).integers(0, 40, size=3000)
    params, losses = [], []
    for cls in (models.CBOW, models.SkipGram):
        model = cls(40, 8, 2, corpus)
        losses += train_word2vec(
            model, corpus, epochs=2, batch_size=350, segment_size=50, lr=0.05, seed=3,
            max_row_updates=max_row_updates, verbose=False, comm=comm,
        )  # fmt: skip
        params += model.params
    return params, {"loss": np.array(losses)}


def word2vec_capped(comm):
    return word2vec(comm, max_row_updates=8)


class _FailOnRank1(models.Rnnlm):
    """An Rnnlm whose forward raises on rank 1 at its third call."""

    calls = 0

    def forward(self, xs, ts):
        self.calls += 1
        if world().rank == 1 and self.calls == 3:
            raise RuntimeError("rank 1 fails on purpose")
        return super().forward(xs, ts)


def fail(comm):
    backend.seed(SEED)
    corpus = np.random.default_rng(0).integers(0, 30, size=10_001)
    model = _FailOnRank1(vocab_size=30, wordvec_size=8, hidden_size=8)
    trainer = RnnlmTrainer(model, optimizers.SGD(lr=1.0), comm=comm)
    trainer.fit(corpus[:-1], corpus[1:], 100, 4, 5, verbose=False)
    return model.params, {}


JOBS = {
    "rnnlm": rnnlm, "date": date, "word2vec": word2vec, "word2vec_capped": word2vec_capped,
    "fail": fail,
}  # fmt: skip


def main(job, out):
    comm = world()
    params, figures = JOBS[job](comm)
    arrays = {f"p{i}": backend.to_cpu(p) for i, p in enumerate(params)}
    np.savez(Path(out) / f"rank{comm.rank}.npz", size=comm.size, **arrays, **figures)


if __name__ == "__main__":
    main(*sys.argv[1:])
