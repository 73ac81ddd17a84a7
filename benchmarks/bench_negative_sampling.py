"""Negative sampling: batch 100, 5 negatives, V=10000, D=100 (the book's CBOW shape).

zeronlp's UnigramSampler draws all negatives of a batch in one vectorized call; the book's
CPU sampler draws each row with np.random.choice(..., replace=False) after zeroing the
target's probability (its code is copied below). Both samplers are also timed inside a
full NegativeSamplingLoss forward + backward: zeronlp's single batched layer against the
book's layer of sample_size + 1 EmbeddingDot and SigmoidWithLoss layers.

    python benchmarks/bench_negative_sampling.py [--threads 2]
"""

import numpy as np
from harness import main

V, D, N, S = 10000, 100, 100, 5


def _corpus():
    rng = np.random.default_rng(0)
    p = 1.0 / np.arange(1, V + 1)  # Zipf, like the words of PTB
    return rng.choice(V, size=200_000, p=p / p.sum()), rng


class BookUnigramSampler:
    """The book's common/layers.py UnigramSampler, CPU branch."""

    def __init__(self, corpus, power, sample_size):
        counts = np.bincount(corpus, minlength=V)
        self.vocab_size = V
        self.sample_size = sample_size
        self.word_p = counts.astype(float) ** power
        self.word_p /= np.sum(self.word_p)

    def get_negative_sample(self, target):
        batch_size = target.shape[0]
        negative_sample = np.zeros((batch_size, self.sample_size), dtype=np.int32)
        for i in range(batch_size):
            p = self.word_p.copy()
            target_idx = target[i]
            p[target_idx] = 0
            p /= p.sum()
            negative_sample[i, :] = np.random.choice(
                self.vocab_size, size=self.sample_size, replace=False, p=p
            )
        return negative_sample


class BookNegativeSamplingLoss:
    """The book's layer: sample_size + 1 EmbeddingDot and SigmoidWithLoss layers."""

    def __init__(self, W, corpus, power=0.75, sample_size=5):
        from zeronlp.layers import EmbeddingDot, SigmoidWithLoss

        self.sample_size = sample_size
        self.sampler = BookUnigramSampler(corpus, power, sample_size)
        self.loss_layers = [SigmoidWithLoss() for _ in range(sample_size + 1)]
        self.embed_dot_layers = [EmbeddingDot(W) for _ in range(sample_size + 1)]

    def forward(self, h, target):
        batch_size = target.shape[0]
        negative_sample = self.sampler.get_negative_sample(target)
        score = self.embed_dot_layers[0].forward(h, target)
        loss = self.loss_layers[0].forward(score, np.ones(batch_size, dtype=np.int32))
        negative_label = np.zeros(batch_size, dtype=np.int32)
        for i in range(self.sample_size):
            score = self.embed_dot_layers[1 + i].forward(h, negative_sample[:, i])
            loss += self.loss_layers[1 + i].forward(score, negative_label)
        return loss

    def backward(self, dout=1):
        dh = 0
        for l0, l1 in zip(self.loss_layers, self.embed_dot_layers, strict=True):
            dh += l1.backward(l0.backward(dout))
        return dh


def _batch():
    corpus, rng = _corpus()
    W = (0.01 * rng.standard_normal((V, D))).astype(np.float32)
    h = rng.standard_normal((N, D)).astype(np.float32)
    target = corpus[:N]
    return corpus, W, h, target


def zeronlp_sampler():
    from zeronlp.layers import UnigramSampler

    corpus, _, _, target = _batch()
    sampler = UnigramSampler(corpus, 0.75, S)
    return lambda: sampler.get_negative_sample(target)


def book_sampler():
    corpus, _, _, target = _batch()
    sampler = BookUnigramSampler(corpus, 0.75, S)
    return lambda: sampler.get_negative_sample(target)


def _loss_step(layer_cls):
    corpus, W, h, target = _batch()
    layer = layer_cls(W, corpus, 0.75, S)

    def step():
        layer.forward(h, target)
        layer.backward()

    return step


def zeronlp_loss():
    from zeronlp.layers import NegativeSamplingLoss

    return _loss_step(NegativeSamplingLoss)


def book_loss():
    return _loss_step(BookNegativeSamplingLoss)


CASES = {
    "zeronlp sampler": zeronlp_sampler,
    "book sampler (per-row choice)": book_sampler,
    "zeronlp loss fwd+bwd": zeronlp_loss,
    "book loss fwd+bwd": book_loss,
}

if __name__ == "__main__":
    main(
        CASES,
        description=__doc__.splitlines()[0],
        pairs=[
            ("zeronlp sampler", "book sampler (per-row choice)"),
            ("zeronlp loss fwd+bwd", "book loss fwd+bwd"),
        ],
    )
