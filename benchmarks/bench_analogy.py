"""Word vectors on PTB by four methods, scored on one analogy set: CBOW, SkipGram, PPMI+SVD, GloVe.

All four learn 100-dimensional vectors from the PTB training split with the PTB loader's
vocabulary (10,000 words, '<eos>' at line ends) and are scored by
``zeronlp.datasets.analogy.analogy_accuracy`` (3CosAdd on unit vectors, the query words
excluded) on the PTB analogy set (``zeronlp.datasets.analogy.RELATIONS``):

- PPMI+SVD: the book's ch02 count_method_big (co-occurrence window 2, PPMI, randomized SVD).
- CBOW, SkipGram: the book's models trained by ``train_word2vec`` (window 5, 5 negatives,
  linear lr 0.025 -> 0.0001, subsampling 1e-3), ``--w2v-epochs`` epochs.
- GloVe: ``cooccurrence`` (window 10, 1/d weights), ``train_glove`` (AdaGrad lr 0.05,
  ``--x-max``, alpha 0.75), ``--glove-epochs`` epochs; vectors W + W~.

Prints a Markdown table (accuracy per relation, overall, training time).

    ZERONLP_DATA=/path/to/data python benchmarks/bench_analogy.py
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from zeronlp import text
from zeronlp.datasets import ptb
from zeronlp.datasets.analogy import RELATIONS, analogy_accuracy, questions

DIM = 100


def ppmi_svd(corpus, V, args):
    C = text.create_co_matrix(corpus, V, window_size=2)
    return text.svd_word_vectors(text.ppmi(C), DIM, seed=args.seed)


def word2vec(model_name):
    def train(corpus, V, args):
        from zeronlp.models import CBOW, SkipGram
        from zeronlp.training.word2vec import train_word2vec

        np.random.seed(args.seed)
        model = {"cbow": CBOW, "skipgram": SkipGram}[model_name](V, DIM, 5, corpus)
        train_word2vec(model, corpus, epochs=args.w2v_epochs, seed=args.seed, verbose=False)
        return model.word_vecs

    return train


def glove(corpus, V, args):
    from zeronlp.models.glove import GloVe
    from zeronlp.training.glove import cooccurrence, train_glove

    np.random.seed(args.seed)
    model = GloVe(V, DIM, x_max=args.x_max)
    X = cooccurrence(corpus, V, window_size=10)
    train_glove(model, X, epochs=args.glove_epochs, seed=args.seed, verbose=False)
    return model.word_vecs


METHODS = {
    "CBOW": word2vec("cbow"),
    "SkipGram": word2vec("skipgram"),
    "PPMI+SVD": ppmi_svd,
    "GloVe": glove,
}


def main():
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--methods", default=",".join(METHODS), help="comma-separated")
    p.add_argument("--w2v-epochs", type=int, default=5)
    p.add_argument("--glove-epochs", type=int, default=15)
    p.add_argument("--x-max", type=float, default=10.0)
    p.add_argument("--seed", type=int, default=0)
    args = p.parse_args()
    for var in ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE"):
        if var in os.environ:  # must be unset before NumPy loads OpenBLAS: tell the user
            raise SystemExit(f"unset {var} before running this benchmark")
    try:
        from threadpoolctl import threadpool_info

        print(
            "BLAS:",
            "; ".join(f"{i['internal_api']} {i.get('architecture')}" for i in threadpool_info()),
        )
    except ImportError:
        pass

    corpus, word_to_id, _ = ptb.load_data("train")
    V = len(word_to_id)
    qs = questions()
    print(f"PTB train: {corpus.size:,} tokens, V={V:,}; {len(qs):,} analogy questions")
    rows = {}
    for name in args.methods.split(","):
        start = time.perf_counter()
        vecs = METHODS[name](corpus, V, args)
        seconds = time.perf_counter() - start
        rows[name] = (analogy_accuracy(np.asarray(vecs), word_to_id, qs), seconds)
        print(f"{name}: {100 * rows[name][0]['all']:.1f}% in {seconds:.0f} s", flush=True)

    cols = [*RELATIONS, "all"]
    print("\n| method | " + " | ".join(cols) + " | train s |")
    print("|---" * (len(cols) + 2) + "|")
    for name, (acc, seconds) in rows.items():
        cells = " | ".join(f"{100 * acc[c]:.1f}" for c in cols)
        print(f"| {name} | {cells} | {seconds:.0f} |")


if __name__ == "__main__":
    main()
