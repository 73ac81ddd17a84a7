"""Evaluation: perplexity of language models, exact-match accuracy of seq2seq models."""

from __future__ import annotations

import inspect

import numpy as np
from tqdm.auto import tqdm

from ..backend import get_array_module, on_device_of
from ..errors import InputError
from .trainer import perplexity


def _forward_eval(model, xs, ts):
    """model.forward in evaluation mode (dropout off) when the model has a train flag."""
    if "train_flg" in inspect.signature(model.forward).parameters:
        return model.forward(xs, ts, train_flg=False)
    return model.forward(xs, ts)


def eval_perplexity(model, corpus, batch_size=10, time_size=35, verbose=False, comm=None):
    """Perplexity exp(mean cross-entropy) of a language model on a corpus (the book's).

    The corpus is read as ``batch_size`` streams, ``time_size`` tokens at a time, through
    the stateful model, as in training; call ``model.reset_state()`` first to start from
    nothing (the book does). corpus: (L,) ids, NumPy or CuPy; it is read on the model's
    device (copied there once), and the losses are summed there: the host reads one number
    at the end (over several ranks, one per batch). A loss past the float range gives ``inf``.
    comm: a zeronlp.distributed communicator; each rank then runs a contiguous share of
    the streams and the summed losses and token counts give every rank the perplexity of
    the whole corpus.
    """
    params = getattr(model, "params", None) or [corpus]  # a model without parameters too
    xp = get_array_module(params[0])
    with on_device_of(params[0]):
        corpus = xp.asarray(corpus)
        return _perplexity_on(model, corpus, xp, batch_size, time_size, verbose, comm)


def _perplexity_on(model, corpus, xp, batch_size, time_size, verbose, comm):
    """eval_perplexity's loop, with corpus (L,) already on the model's device."""
    corpus_size = len(corpus)
    max_iters = (corpus_size - 1) // (batch_size * time_size)
    if max_iters == 0:
        raise InputError(
            f"a corpus of {corpus_size} tokens is shorter than one batch "
            f"({batch_size} x {time_size})"
        )
    jump = (corpus_size - 1) // batch_size
    if comm is not None and comm.size > 1:
        return _eval_perplexity_shared(model, corpus, batch_size, time_size, max_iters, comm)
    offsets = xp.arange(batch_size)[:, None] * jump + xp.arange(time_size)
    total_loss = 0.0
    for iters in tqdm(range(max_iters), disable=not verbose, desc="perplexity", leave=False):
        idx = offsets + iters * time_size
        xs, ts = corpus[idx % corpus_size], corpus[(idx + 1) % corpus_size]
        total_loss = total_loss + _forward_eval(model, xs, ts)  # on a GPU: a device sum
    return perplexity(float(total_loss) / max_iters)


def _eval_perplexity_shared(model, corpus, batch_size, time_size, max_iters, comm):
    """eval_perplexity over the ranks: sums of losses and of tokens, then one ratio."""
    corpus_size = len(corpus)
    jump = (corpus_size - 1) // batch_size
    streams = np.arange(batch_size)[comm.split(batch_size)]  # may be empty on a rank
    offsets = get_array_module(corpus).asarray(streams[:, None] * jump + np.arange(time_size))
    total = 0.0
    for iters in range(max_iters if streams.size else 0):
        idx = offsets + iters * time_size
        xs, ts = corpus[idx % corpus_size], corpus[(idx + 1) % corpus_size]
        total += float(_forward_eval(model, xs, ts)) * idx.size  # mean loss -> summed loss
    loss_sum, tokens = comm.allreduce_sum([total, max_iters * streams.size * time_size])
    return perplexity(loss_sum / tokens)


def seq2seq_accuracy(model, x, t, batch_size=1000, method="greedy", comm=None, **options):
    """Exact-match accuracy of a seq2seq model: the share of answers decoded right.

    x: (N, Tq) question ids; t: (N, Ta) answer ids whose first column is the start symbol.
    Decodes ``batch_size`` questions at a time (``model.generate_batch``) and compares all
    Ta - 1 generated ids with t[:, 1:].
    comm: a zeronlp.distributed communicator; each rank then decodes a contiguous share of
    the questions and the summed counts give every rank the accuracy on all of them.
    """
    if len(x) != len(t):
        raise InputError(f"x has {len(x)} questions but t has {len(t)} answers")
    if len(x) == 0:
        raise InputError("seq2seq_accuracy got no examples")
    total = len(x)
    if comm is not None and comm.size > 1:
        share = comm.split(total)
        x, t = x[share], t[share]
    correct = 0
    for i in range(0, len(x), batch_size):
        xb, tb = x[i : i + batch_size], t[i : i + batch_size]
        guess = model.generate_batch(xb, tb[:, 0], tb.shape[1] - 1, method, **options)
        module = get_array_module(guess)
        correct = correct + module.all(guess == module.asarray(tb[:, 1:]), axis=1).sum()
    correct = int(correct)  # one read of a device count, after all batches
    if comm is not None and comm.size > 1:
        correct = int(comm.allreduce_sum([correct])[0])
    return correct / total


def eval_seq2seq(model, question, correct, id_to_char, verbose=False, is_reverse=False):
    """1 if the model answers one question exactly right, else 0 (the book's function).

    question: (1, Tq) ids; correct: (1, Ta) ids starting with the start symbol. With
    ``verbose``, prints the question, the right answer and the model's (✓ or ✗).
    """
    correct = np.asarray(correct).flatten()
    start_id, correct = int(correct[0]), correct[1:]
    guess = model.generate(question, start_id, len(correct))
    ok = [int(c) for c in correct] == list(guess)
    if verbose:
        q = "".join(id_to_char[int(c)] for c in np.asarray(question).flatten())
        if is_reverse:
            q = q[::-1]
        print("Q", q)
        print("T", "".join(id_to_char[int(c)] for c in correct))
        print(("✓" if ok else "✗"), "".join(id_to_char[int(c)] for c in guess))
        print("---")
    return int(ok)
