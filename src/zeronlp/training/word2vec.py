"""Fast word2vec training: sparse SGD updates of the rows a batch touches.

``Trainer`` follows the book's protocol: every step writes dense (V, H) gradients of W_in
and W_out and the optimizer updates all V rows, which is slow at PTB scale (V = 10,000;
docs/word2vec.md has the timings). ``train_word2vec`` computes the same loss but, per batch,
updates only the rows of the words it saw, with all per-example work vectorized:

- Targets come in contiguous *segments* of the (subsampled) corpus; the segments are
  shuffled every epoch. A segment of L targets spans L + 2*window tokens: CBOW gathers
  their input vectors once, (L + 2w) rows per segment instead of 2w rows per target, its
  context sum is 2w shifted adds of that block, and its backward the 2w shifted adds back.
  SkipGram gathers the L targets' input vectors and predicts each target's 2w neighbours.
- Negatives come from one vectorized draw from a table of the unigram^0.75 distribution
  (word2vec's table); a negative equal to its positive word (the target for CBOW, the
  context word for SkipGram) is dropped, as word2vec and gensim do.
- Gradients are summed per example (not averaged), as in word2vec, and applied with plain
  SGD and a learning rate that decays linearly from ``lr`` to ``min_lr`` over the whole run.
- Rows touched several times in a batch (frequent words) are summed by word id
  (``_add_rows``, through ``backend.scatter_add``: one sparse CSR matrix product on NumPy),
  so no array of per-example updates (B * positives * 6 rows of H) is materialised and
  untouched rows are never read.
- A batch applies all its updates of a frequent word at once, without the feedback that
  sequential SGD gets after each one, and their sum overshoots: without subsampling, CBOW
  on PTB diverges (the rows of "N" and "the" grow without bound; docs/word2vec.md). So a
  row named more than ``max_row_updates`` (64) times in one batch's update gets the mean of
  its updates times 64 instead of their sum; all other rows get exact sums. With it CBOW
  trains stably on PTB with and without subsampling.
- The default batch holds ``BATCH_PAIRS`` positive pairs, not targets: a SkipGram target
  has 2*window positives, so SkipGram's batch has 2*window times fewer targets than CBOW's
  (``default_batch_size``). With as many targets as CBOW's, SkipGram's rows grow without
  bound on PTB at the default learning rate.
- A batch whose loss is not finite, or whose update would make a row non-finite, is not
  applied (the rows it touched are put back) and stops training with TrainingDiverged (a
  FloatingPointError) naming the epoch and batch. Rows that grow huge but stay finite are
  not caught.

CBOW context vectors get the gradient with respect to h (the mean of the contexts), not that
gradient divided by 2*window, like word2vec.c and gensim (``cbow_mean=1``): below the cap
this is SGD on the summed loss with learning rate ``lr * 2 * window`` for W_in and ``lr``
for W_out (tested against a dense step).
Pass ``context_grad="exact"`` for the exact gradient (plain SGD with ``lr`` on both).
"""

from __future__ import annotations

import math

import numpy as np
from tqdm.auto import tqdm

from ..backend import get_array_module, scatter_add, to_cpu
from ..errors import InputError, InputTypeError, TrainingDiverged
from ..layers import as_ids

MAX_ROW_UPDATES = 64  # see train_word2vec's max_row_updates
BATCH_PAIRS = 4000  # positive pairs per batch by default; see train_word2vec's batch_size
TABLE_SIZE = 1 << 22  # unigram table entries: word probabilities are within 2.4e-7


def keep_probability(counts, sample):
    """Probability of keeping each word when subsampling frequent words (word2vec, gensim).

    counts: (V,) word counts -> (V,) float64 in [0, 1]. A word of count c among T tokens is
    kept with probability (sqrt(c / (sample * T)) + 1) * sample * T / c, capped at 1;
    ``sample=0`` keeps everything.
    """
    counts = np.asarray(counts, dtype=np.float64)
    if sample <= 0:
        return np.ones_like(counts)
    threshold = sample * counts.sum()
    with np.errstate(divide="ignore"):
        p = (np.sqrt(counts / threshold) + 1.0) * threshold / counts
    return np.minimum(p, 1.0)


def unigram_table(word_p, size=TABLE_SIZE):
    """Word ids laid out in proportion to ``word_p`` (V,): ``table[randint(size)]`` samples it.

    Word v fills round(size * cdf[v]) - round(size * cdf[v - 1]) entries (word2vec's table).
    """
    cdf = np.cumsum(np.asarray(word_p, dtype=np.float64))
    edges = np.rint(cdf * (size / cdf[-1])).astype(np.int64)
    counts = np.diff(edges, prepend=0)
    return np.repeat(np.arange(cdf.size, dtype=np.int32), counts)


def window_sum(E, window_size):
    """Sum of each position's 2*window neighbours. E (S, L + 2w, H) -> (S, L, H).

    Output [s, i] = sum of E[s, i + j] over j = 0..2w, j != w (the target itself at j = w).
    """
    w = window_size
    L = E.shape[1] - 2 * w
    out = E[:, 0:L].copy()
    for j in range(1, 2 * w + 1):
        if j != w:
            out += E[:, j : j + L]
    return out


def window_sum_backward(dout, window_size):
    """Transpose of ``window_sum``: dout (S, L, H) -> dE (S, L + 2w, H)."""
    w = window_size
    S, L, H = dout.shape
    module = get_array_module(dout)
    dE = module.zeros((S, L + 2 * w, H), dtype=dout.dtype)
    for j in range(2 * w + 1):
        if j != w:
            dE[:, j : j + L] += dout
    return dE


def default_batch_size(model):
    """Targets per batch that hold ``BATCH_PAIRS`` positive pairs: model (CBOW, with one
    positive per target, or SkipGram, with 2*window) -> int."""
    from ..models.word2vec import SkipGram

    positives = 2 * model.window_size if isinstance(model, SkipGram) else 1
    return max(1, BATCH_PAIRS // positives)


def _add_rows(W, key, src, row=None, weight=None, max_count=None):
    """W[key[i]] += weight[i] * src[row[i]] for every i, summing repeated keys.

    W: (V, H); key: (n,) ids; src: (m, H); row: (n,) indices into src (default arange(n));
    weight: (n,) or None (ones). Only the rows named in ``key`` are read and written.
    max_count: a word named more than max_count times gets its sum scaled by
    max_count / count (its mean times max_count); None sums everything.

    Frequent words repeat hundreds of times in a batch, so this is a sum by key, done by
    ``backend.scatter_add`` without materialising the (n, H) products.
    """
    module = get_array_module(W)
    n = key.shape[0]
    if n == 0:
        return
    if row is None:
        row = module.arange(n)
    if max_count is not None:
        counts = module.bincount(key, minlength=W.shape[0])
        if int(counts.max()) > max_count:
            scale = module.minimum(1.0, max_count / module.maximum(counts, 1)).astype(W.dtype)
            weight = scale[key] if weight is None else weight * scale[key]
    scatter_add(W, key, src, rows=row, weights=weight)


def _log_sigmoid(x):
    """log(sigmoid(x)) without overflow, same dtype as x."""
    module = get_array_module(x)
    return -(module.logaddexp(0, -x)).astype(x.dtype, copy=False)


def train_word2vec(
    model,
    corpus,
    window_size=None,
    epochs=1,
    batch_size=None,
    lr=0.025,
    min_lr=0.0001,
    sample=1e-3,
    segment_size=50,
    context_grad="word2vec",
    max_row_updates=MAX_ROW_UPDATES,
    seed=None,
    verbose=True,
    comm=None,
    on_epoch=None,
):
    """Train a CBOW or SkipGram model on ``corpus`` with sparse SGD; see the module docstring.

    model: ``CBOW`` or ``SkipGram`` (its W_in and W_out are updated in place).
    corpus: (T,) word ids, the whole text as one sequence (the book's ``corpus``).
    window_size: must equal ``model.window_size`` (checked; None takes the model's).
    epochs: passes over the corpus.
    batch_size: targets per update (rounded down to whole segments, at least one). None:
    ``default_batch_size(model)``, ``BATCH_PAIRS`` (4000) positive pairs per batch, that is
    4000 targets for CBOW and 4000 // (2*window) for SkipGram (see above).
    lr, min_lr: the learning rate decays linearly from lr to min_lr over all batches of
    all epochs (word2vec's schedule with gensim's defaults; word2vec.c's CBOW starts at 0.05).
    sample: subsampling threshold of frequent words (gensim's default 1e-3; 0 disables it),
    drawn afresh every epoch; contexts then span the kept words, as in word2vec.
    segment_size: targets per contiguous segment (the unit of shuffling).
    context_grad: "word2vec" (CBOW contexts get dL/dh, see above) or "exact".
    max_row_updates: cap on the updates a row sums per batch, counted as the times the word
    is named in the batch's sparse update (dropped negatives and padded targets included):
    for W_out once per positive or negative, for W_in once per token position (CBOW; each
    carries the updates of the <= 2*window targets around it) or per target (SkipGram). A
    row over the cap gets its mean update times the cap. None sums everything (word2vec's
    rule; then keep batches small or subsample).
    seed: seed of the random draws; None draws one from NumPy's global generator, so
    ``np.random.seed`` makes runs repeatable.
    verbose: show a progress bar.
    comm: a zeronlp.distributed communicator (data-parallel, see below).
    on_epoch: called after every epoch as ``on_epoch(epoch, losses)`` with the epoch's
    number (1, 2, ...) and the mean losses of its batches (the ``zeronlp`` command prints
    its epoch line and saves a checkpoint there).

    Returns the mean loss per target of every batch (a list of floats): for CBOW the book's
    loss, for SkipGram the sum over the 2*window contexts.

    With ``comm`` of R ranks (the same ``seed`` on every rank), all ranks draw the same
    subsampling, segment order and negatives as one process; rank r takes a contiguous share
    of every batch's segments, applies its sparse updates, and the ranks then sum their
    updates of W_in and W_out (one Allreduce of both matrices per batch). The result is the
    one-process run's up to float32 rounding, except for rows over ``max_row_updates``,
    which each rank caps on its own share of the batch (pass ``max_row_updates=None`` for
    the exact sums).
    """
    from ..models.word2vec import CBOW, SkipGram

    if not isinstance(model, CBOW | SkipGram):
        raise InputTypeError(f"train_word2vec trains CBOW or SkipGram, got {type(model).__name__}")
    w = model.window_size
    if window_size is not None and window_size != w:
        raise InputError(f"window_size={window_size} does not match the model's window_size={w}")
    batch_size = default_batch_size(model) if batch_size is None else batch_size
    if context_grad not in ("word2vec", "exact"):
        raise InputError(f"context_grad must be 'word2vec' or 'exact', got {context_grad!r}")
    if epochs < 1 or batch_size < 1 or segment_size < 1:
        raise InputError("epochs, batch_size and segment_size must be >= 1")
    if not (lr > 0 and min_lr >= 0 and sample >= 0):
        raise InputError(
            f"need lr > 0, min_lr >= 0 and sample >= 0, got lr={lr}, min_lr={min_lr}, "
            f"sample={sample}"
        )
    W_in, W_out = model.params
    V = W_in.shape[0]
    corpus = as_ids(to_cpu(corpus), V, np, name="corpus ids").reshape(-1)
    if corpus.size < 2 * w + 1:
        raise InputError(
            f"the corpus has {corpus.size} words; window_size={w} needs at least {2 * w + 1}"
        )
    module = get_array_module(W_in)
    if comm is not None and comm.size > 1 and seed is None:
        raise InputError("train_word2vec over several ranks needs a seed (the same on all)")
    rng = np.random.default_rng(np.random.randint(2**31) if seed is None else seed)
    table = module.asarray(unigram_table(model.ns_loss.sampler.word_p))
    keep_p = keep_probability(np.bincount(corpus, minlength=V), sample)
    skip_gram = isinstance(model, SkipGram)
    in_scale = 1.0 if (skip_gram or context_grad == "word2vec") else 1.0 / (2 * w)
    L = segment_size
    segs_per_batch = max(1, batch_size // L)

    # Batches per epoch vary with the subsampling draw; the lr schedule counts batches from
    # the expected number of kept targets, so it ends near min_lr (held there if a draw
    # gives more batches than expected).
    expected_targets = max(float(keep_p[corpus].sum()) - 2 * w, 1.0)
    batches_per_epoch = math.ceil(math.ceil(expected_targets / L) / segs_per_batch)
    total_batches = epochs * batches_per_epoch
    history = []
    done = 0
    shared = comm is not None and comm.size > 1
    show = verbose and (comm is None or comm.is_root)
    bar = tqdm(total=total_batches, disable=not show, unit="batch")
    try:
        for epoch in range(epochs):
            first_batch = len(history)
            kept = corpus[rng.random(corpus.size) < keep_p[corpus]] if sample > 0 else corpus
            n_targets = kept.size - 2 * w
            if n_targets < 1:  # subsampling kept too few words for one target
                if on_epoch is not None:
                    on_epoch(epoch + 1, [])
                continue
            n_segs = -(-n_targets // L)
            pad = n_segs * L - n_targets
            # pad with word 0 so every segment has L targets; padded targets get weight 0
            tokens = module.asarray(np.concatenate([kept, np.zeros(pad, dtype=kept.dtype)]))
            starts = rng.permutation(n_segs) * L  # first token of each segment's window
            for first in range(0, n_segs, segs_per_batch):
                seg = starts[first : first + segs_per_batch]
                valid = None
                if pad and seg.max() == (n_segs - 1) * L:
                    valid = np.ones((seg.size, L), dtype=bool)
                    valid[seg == (n_segs - 1) * L, L - pad :] = False
                    valid = module.asarray(valid.reshape(-1))
                progress = min(done / total_batches, 1.0)
                rate = lr - (lr - min_lr) * progress
                where = f"at epoch {epoch + 1}, batch {first // segs_per_batch + 1}"
                share = comm.split(seg.size) if shared else slice(None)
                if shared:
                    before = W_in.copy(), W_out.copy()
                loss = _step(
                    W_in, W_out, tokens, module.asarray(seg), w, L, table, rng, rate,
                    in_scale, skip_gram, valid, max_row_updates, where, share,
                )  # fmt: skip
                if shared:
                    loss = _sum_updates(comm, W_in, W_out, before, loss, valid, seg, share, L)
                history.append(loss)
                done += 1
                bar.update(1)
                bar.set_postfix(loss=f"{loss:.3f}", lr=f"{rate:.5f}", refresh=False)
            if on_epoch is not None:
                on_epoch(epoch + 1, history[first_batch:])
    finally:
        bar.close()
    return history


def _sum_updates(comm, W_in, W_out, before, loss, valid, seg, share, L):
    """Sum the ranks' updates of W_in and W_out (W = before + sum of the ranks' W - before),
    and return the mean loss over the whole batch."""
    mine = _targets(valid, share, L, seg.size)
    W_in -= before[0]  # this rank's update
    W_out -= before[1]
    loss_sum = comm.allreduce_grads([W_in, W_out], loss * mine, average=False)
    W_in += before[0]
    W_out += before[1]
    return loss_sum / _targets(valid, slice(None), L, seg.size)


def _targets(valid, share, L, n_segs):
    """Real (not padded) targets in the segments ``share`` of a batch."""
    if valid is None:
        return float(len(range(n_segs)[share]) * L)
    return float(valid.reshape(n_segs, L)[share].sum())


def _step(
    W_in, W_out, tokens, seg, w, L, table, rng, rate, in_scale, skip_gram, valid, max_count,
    where, share=slice(None),
):  # fmt: skip
    """One sparse SGD step on the segments ``seg[share]``; returns their mean loss.

    The negatives are drawn for all of ``seg`` (so every rank draws what one process
    draws) and the share's rows kept.

    Never leaves a non-finite row: raises TrainingDiverged before the update on a
    non-finite loss, and after it (with the touched rows put back) on a non-finite row.
    """
    module = get_array_module(W_in)
    P = 2 * w if skip_gram else 1  # positives per target
    first, stop, _ = share.indices(seg.size)
    draw = rng.integers(0, table.size, size=(seg.size * L, P, 5), dtype=np.int32)
    draw = draw[first * L : stop * L]  # this rank's targets' negatives
    seg = seg[share]
    if valid is not None:
        valid = valid.reshape(-1, L)[share].reshape(-1)
    if seg.size == 0:  # a rank without segments in this batch
        return 0.0
    S, H = seg.size, W_in.shape[1]
    ids = tokens[seg[:, None] + module.arange(L + 2 * w)]  # (S, L + 2w) token windows
    target = ids[:, w : w + L].reshape(-1)  # (B,)
    B = target.size
    if skip_gram:
        h = W_in.take(target, axis=0)  # (B, H)
        # positives: the 2w context words of each target, (B, 2w)
        cols = [ids[:, j : j + L].reshape(-1) for j in range(2 * w + 1) if j != w]
        positive = module.stack(cols, axis=1)
    else:
        E = W_in.take(ids, axis=0)  # (S, L + 2w, H); take is faster than W_in[ids]
        h = window_sum(E, w).reshape(B, H)
        h *= 1.0 / (2 * w)
        positive = target[:, None]  # (B, 1)
    negative = table[module.asarray(draw)]
    out = module.concatenate([positive[:, :, None].astype(negative.dtype), negative], axis=2)
    Wo = W_out.take(out, axis=0)  # (B, P, 6, H)
    score = module.einsum("bpkh,bh->bpk", Wo, h)  # (B, P, 6)

    # weight 0 for a negative equal to its positive (word2vec skips it) and padded targets
    weight = module.ones(out.shape, dtype=h.dtype)
    weight[:, :, 1:] = negative != positive[:, :, None]
    if valid is not None:
        weight *= valid[:, None, None]
    sign = module.ones((1, 1, 6), dtype=h.dtype)
    sign[0, 0, 1:] = -1  # +score for the positive (label 1), -score for the negatives
    signed = score * sign
    count = float(valid.sum()) if valid is not None else float(B)
    loss = float(-(_log_sigmoid(signed) * weight).sum()) / count
    if not math.isfinite(loss):
        raise TrainingDiverged(
            f"loss became {loss} {where}; the batch was not applied. The summed updates of "
            "frequent words overshoot: use a smaller batch_size or lr"
        )

    # g = -rate * dloss/dscore = rate * (label - sigmoid(score)) = rate * sign * sigmoid(-signed)
    with np.errstate(over="ignore"):  # exp overflows to inf for confident scores: g = 0
        g = 1.0 / (1.0 + module.exp(signed))
    g *= sign
    g *= weight
    g *= rate
    dh = module.einsum("bpk,bpkh->bh", g, Wo)  # -rate * dloss/dh, (B, H)

    # W_out rows: += g[b, p, k] * h[b] at out[b, p, k]
    flat_out = out.reshape(-1)
    src_row = module.repeat(module.arange(B), P * 6)
    _add_rows(W_out, flat_out, h, src_row, g.reshape(-1), max_count)
    if skip_gram:
        in_rows, in_before = target, h  # h is the rows of W_in before the update
        _add_rows(W_in, target, dh, max_count=max_count)
    else:
        in_rows, in_before = ids.reshape(-1), E.reshape(-1, H)
        if in_scale != 1.0:
            dh *= in_scale
        dE = window_sum_backward(dh.reshape(S, L, H), w)
        _add_rows(W_in, in_rows, dE.reshape(-1, H), max_count=max_count)
    # Wo and E (or h) hold the touched rows as they were: put them back if any went bad
    if not _rows_finite(W_out, flat_out) or not _rows_finite(W_in, in_rows):
        W_out[flat_out] = Wo.reshape(-1, H)
        W_in[in_rows] = in_before
        raise TrainingDiverged(
            f"the update {where} made word vectors non-finite (learning rate too large?); "
            "the rows it touched were put back"
        )
    return loss


def _rows_finite(W, rows):
    """True when the rows ``rows`` of W hold no NaN or infinity (a sum first: cheap)."""
    picked = W.take(rows, axis=0)
    total = float(abs(picked.sum()))
    return math.isfinite(total) or bool(get_array_module(W).isfinite(picked).all())
