"""Count-based word vectors on the full PTB training split: zeronlp against the book's loops.

The pipeline of the book's ch02/count_method_big.py: co-occurrence matrix (window 2), PPMI,
100-dimensional randomized SVD, then most_similar for 'you', 'year', 'car', 'toyota'.
The book's create_co_matrix and ppmi (common/util.py) are copied below. The co-matrix loop is
timed on the whole corpus; the PPMI double loop (10,000 x 10,000 cells, several minutes) is
timed on a sample of rows and extrapolated to all rows, which the output says. Runs are
interleaved (ours, book, ours, book) so both see the same machine load.

    ZERONLP_DATA=/path/to/data python benchmarks/bench_count_based.py
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from zeronlp import text
from zeronlp.datasets import ptb

# ---------------------------------------------------------------- the book's code (common/util.py)


def book_create_co_matrix(corpus, vocab_size, window_size=1):
    corpus_size = len(corpus)
    co_matrix = np.zeros((vocab_size, vocab_size), dtype=np.int32)

    for idx, word_id in enumerate(corpus):
        for i in range(1, window_size + 1):
            left_idx = idx - i
            right_idx = idx + i

            if left_idx >= 0:
                left_word_id = corpus[left_idx]
                co_matrix[word_id, left_word_id] += 1

            if right_idx < corpus_size:
                right_word_id = corpus[right_idx]
                co_matrix[word_id, right_word_id] += 1

    return co_matrix


def book_ppmi_rows(C, rows, eps=1e-8):
    """The book's ppmi double loop, run over ``rows`` only (all columns of each)."""
    M = np.zeros_like(C, dtype=np.float32)
    N = np.sum(C)
    S = np.sum(C, axis=0)
    for i in rows:
        for j in range(C.shape[1]):
            pmi = np.log2(C[i, j] * N / (S[j] * S[i]) + eps)
            M[i, j] = max(0, pmi)
    return M


# ---------------------------------------------------------------- timing


def timed(fn, *args, **kwargs):
    start = time.perf_counter()
    out = fn(*args, **kwargs)
    return time.perf_counter() - start, out


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--window", type=int, default=2)
    parser.add_argument("--dim", type=int, default=100)
    parser.add_argument("--repeat", type=int, default=2, help="interleaved rounds")
    parser.add_argument("--ppmi-rows", type=int, default=20, help="rows the book's PPMI runs")
    args = parser.parse_args()

    corpus, word_to_id, id_to_word = ptb.load_data("train")
    V = len(word_to_id)
    print(f"PTB train: {len(corpus):,} tokens, vocabulary {V:,}, window {args.window}")

    ours = {"co-matrix": [], "ppmi": [], "svd": []}
    book = {"co-matrix": [], "ppmi (per row)": []}
    rows = np.linspace(0, V - 1, args.ppmi_rows).astype(int)
    for _ in range(args.repeat):
        t, C = timed(text.create_co_matrix, corpus, V, args.window)
        ours["co-matrix"].append(t)
        t, C_book = timed(book_create_co_matrix, corpus, V, args.window)
        book["co-matrix"].append(t)
        assert np.array_equal(C, C_book), "co-matrices differ"
        del C_book
        t, M = timed(text.ppmi, C)
        ours["ppmi"].append(t)
        t, M_book = timed(book_ppmi_rows, C, rows)
        book["ppmi (per row)"].append(t / len(rows))
        np.testing.assert_allclose(M[rows], M_book[rows], rtol=1e-5, atol=1e-5)
        del M_book
        t, word_vecs = timed(text.svd_word_vectors, M, args.dim, seed=0)
        ours["svd"].append(t)

    best = {k: min(v) for k, v in ours.items()}
    book_co = min(book["co-matrix"])
    book_ppmi = min(book["ppmi (per row)"]) * V
    total = sum(best.values())
    print(f"\nbest of {args.repeat} interleaved rounds, seconds")
    print(f"{'stage':<12}{'zeronlp':>10}{'book':>12}{'book/zeronlp':>14}")
    print(f"{'co-matrix':<12}{best['co-matrix']:>10.2f}{book_co:>12.2f}"
          f"{book_co / best['co-matrix']:>13.1f}x")  # fmt: skip
    print(f"{'ppmi':<12}{best['ppmi']:>10.2f}{book_ppmi:>11.0f}*"
          f"{book_ppmi / best['ppmi']:>13.0f}x")  # fmt: skip
    print(f"{'svd':<12}{best['svd']:>10.2f}{'-':>12}")
    print(f"{'total':<12}{total:>10.2f}")
    print(
        f"* the book's ppmi timed on {len(rows)} of {V:,} rows "
        f"({len(rows) * V:,} cells) and extrapolated linearly to all {V:,} rows"
    )
    print(f"pipeline under 60 s: {'yes' if total < 60 else 'NO'} ({total:.1f} s)")

    for query in ["you", "year", "car", "toyota"]:
        text.most_similar(query, word_to_id, id_to_word, word_vecs, top=5, verbose=True)


if __name__ == "__main__":
    main()
