"""word2vec CBOW on PTB: one training epoch of zeronlp's train_word2vec against gensim's Word2Vec.

Both: CBOW, 100 dimensions, window 5, 5 negatives, unigram^0.75 negatives, linear learning
rate 0.025 -> 0.0001, the same subsampling threshold (gensim's default 1e-3; --sample 0
disables it in both), on the PTB train split as one stream of ids with '<eos>' at line ends
(the book's corpus; gensim gets it in 10,000-word "sentences", its longest, so its windows
cross line ends like the book's). gensim: workers=2, min_count=1. Each case times one epoch
of a freshly initialised model whose vocabulary is already built (gensim's build_vocab and
zeronlp's model construction are untimed; zeronlp's unigram table is timed). Each case runs
in its own process, alternating, with --threads BLAS threads (default 2).

After the timing, both libraries train --quality-epochs epochs (default 5, gensim's default)
in this process and print the neighbours of you/year/car/toyota and the analogy
take:took = go:?.

    ZERONLP_DATA=/path/to/data python benchmarks/bench_word2vec.py [--rounds 3]
        [--sample 1e-3] [--quality-epochs 5] [--batch-size 4000]
"""

import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from harness import main

HIDDEN, WINDOW, NEGATIVE = 100, 5, 5
QUERIES = ["you", "year", "car", "toyota"]
ANALOGY = ("take", "took", "go")


def read_ptb():
    """PTB train as the book's ptb.load_data('train') builds it: ids by first appearance."""
    root = os.environ.get("ZERONLP_DATA")
    if not root:
        sys.exit("set ZERONLP_DATA to the folder that holds ptb/ptb.train.txt")
    words = (Path(root) / "ptb" / "ptb.train.txt").read_text().replace("\n", "<eos>").split()
    word_to_id = {}
    for word in words:
        word_to_id.setdefault(word, len(word_to_id))
    corpus = np.array([word_to_id[w] for w in words], dtype=np.int64)
    return corpus, word_to_id, words


def settings():
    return float(os.environ["BENCH_W2V_SAMPLE"]), int(os.environ["BENCH_W2V_BATCH"])


def zeronlp_model(corpus, vocab_size, seed=0):
    from zeronlp.models import CBOW

    np.random.seed(seed)
    return CBOW(vocab_size, HIDDEN, WINDOW, corpus)


def zeronlp_train(model, corpus, epochs, seed=0):
    from zeronlp.training.word2vec import train_word2vec

    sample, batch_size = settings()
    return train_word2vec(
        model, corpus, WINDOW, epochs=epochs, batch_size=batch_size, lr=0.025, min_lr=0.0001,
        sample=sample, seed=seed, verbose=False,
    )  # fmt: skip


def gensim_model(words, seed=1):
    from gensim.models import Word2Vec

    sample, _ = settings()
    sentences = [words[i : i + 10000] for i in range(0, len(words), 10000)]
    model = Word2Vec(
        vector_size=HIDDEN, window=WINDOW, negative=NEGATIVE, sg=0, workers=2, min_count=1,
        sample=sample, alpha=0.025, min_alpha=0.0001, seed=seed,
    )  # fmt: skip
    model.build_vocab(sentences)
    return model, sentences


def gensim_train(model, sentences, epochs):
    model.train(sentences, total_examples=len(sentences), epochs=epochs)


def zeronlp_epoch():
    corpus, word_to_id, _ = read_ptb()
    models = [zeronlp_model(corpus, len(word_to_id), seed) for seed in (0, 1)]  # warm-up, timed
    return lambda: zeronlp_train(models.pop(), corpus, epochs=1)


def gensim_epoch():
    _, _, words = read_ptb()
    models = [gensim_model(words, seed) for seed in (1, 2)]

    def run():
        model, sentences = models.pop()
        gensim_train(model, sentences, epochs=1)

    return run


CASES = {"zeronlp CBOW epoch": zeronlp_epoch, "gensim CBOW epoch (2 workers)": gensim_epoch}


def neighbours(vectors, word_to_id, id_to_word, word, top=5):
    W = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    sim = W @ W[word_to_id[word]]
    return [(id_to_word[i], round(float(sim[i]), 3)) for i in np.argsort(-sim)[1 : top + 1]]


def analogy(vectors, word_to_id, id_to_word, a, b, c, top=4):
    """a:b = c:? by 3CosAdd on unit vectors (the book's analogy, gensim's most_similar)."""
    W = vectors / np.linalg.norm(vectors, axis=1, keepdims=True)
    query = W[word_to_id[b]] - W[word_to_id[a]] + W[word_to_id[c]]
    sim = W @ (query / np.linalg.norm(query))
    ranked = [id_to_word[i] for i in np.argsort(-sim) if id_to_word[i] not in (a, b, c)]
    return ranked[:top]


def quality(epochs):
    corpus, word_to_id, words = read_ptb()
    id_to_word = {i: w for w, i in word_to_id.items()}
    ours = zeronlp_model(corpus, len(word_to_id))
    start = time.perf_counter()
    history = zeronlp_train(ours, corpus, epochs)
    ours_time = time.perf_counter() - start
    theirs, sentences = gensim_model(words)
    start = time.perf_counter()
    gensim_train(theirs, sentences, epochs)
    theirs_time = time.perf_counter() - start
    # gensim's vectors in zeronlp's id order, so both are queried the same way
    gensim_vecs = np.stack([theirs.wv[id_to_word[i]] for i in range(len(id_to_word))])
    print(f"\nquality after {epochs} epoch(s) (in one process; times are indicative only)")
    print(f"  zeronlp: {ours_time:.2f} s, final mean batch loss {np.mean(history[-20:]):.3f}")
    print(f"  gensim:  {theirs_time:.2f} s")
    for name, vecs in (("zeronlp", ours.word_vecs), ("gensim", gensim_vecs)):
        print(f"[{name}]")
        for q in QUERIES:
            pairs = neighbours(vecs, word_to_id, id_to_word, q)
            print(f"  {q:<8} " + ", ".join(f"{w} {s:.3f}" for w, s in pairs))
        a, b, c = ANALOGY
        print(f"  {a}:{b} = {c}:? -> {', '.join(analogy(vecs, word_to_id, id_to_word, a, b, c))}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(add_help=False)
    parser.add_argument("--sample", type=float, default=1e-3)
    parser.add_argument("--batch-size", type=int, default=4000)
    parser.add_argument("--quality-epochs", type=int, default=5)
    ours_args, rest = parser.parse_known_args()
    sys.argv = sys.argv[:1] + rest
    # the harness's worker processes inherit the environment, not our arguments
    os.environ.setdefault("BENCH_W2V_SAMPLE", str(ours_args.sample))
    os.environ.setdefault("BENCH_W2V_BATCH", str(ours_args.batch_size))
    is_worker = "--case" in rest
    medians = main(
        CASES,
        description=__doc__.splitlines()[0]
        + f" (sample={os.environ['BENCH_W2V_SAMPLE']}, batch={os.environ['BENCH_W2V_BATCH']})",
        rounds=3,
        repeat=1,
        min_time=0.0,
        pairs=[("zeronlp CBOW epoch", "gensim CBOW epoch (2 workers)")],
    )
    if not is_worker and ours_args.quality_epochs > 0:
        quality(ours_args.quality_epochs)
