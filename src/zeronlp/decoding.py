"""Decoding: greedy, sampling and beam search over any model that can take one step.

Every decoder here drives a *step function*

    step(ids (B,), state) -> (scores (B, V), new_state)

that feeds one token per sequence and returns unnormalised scores (logits) for the next
token. ``state`` is whatever the model needs between steps (LSTM h and c, encoder states
for attention...) as an array or a (nested) tuple/list of arrays whose first axis is the
batch; ``None`` entries are allowed. Beam search reorders and repeats the state along that
axis, so models need no beam-specific code. Models build their step function from their
own layers (see ``generate`` of the language and seq2seq models).

All decoders return ids of shape (N, max_len) (the start ids are not included; beam search
also returns the scores) and run on NumPy or CuPy, like the model's arrays.
"""

from __future__ import annotations

from .backend import get_array_module
from .errors import InputError
from .functions import log_softmax

# ---------------------------------------------------------------- state helpers


def map_state(fn, state):
    """Apply ``fn`` to every array in a (nested) tuple/list state; keeps None entries."""
    if state is None:
        return None
    if isinstance(state, tuple | list):
        return type(state)(map_state(fn, s) for s in state)
    return fn(state)


def _take_rows(state, rows):
    """The state of the beams ``rows`` (B,), in that order."""
    return map_state(lambda s: s[rows], state)


def _as_ids(start_ids, xp):
    ids = xp.asarray(start_ids)
    if ids.ndim == 0:
        ids = ids.reshape(1)
    if ids.ndim != 1 or not xp.issubdtype(ids.dtype, xp.integer):
        raise InputError(
            f"start_ids must be integer ids of shape (N,), got {ids.shape} {ids.dtype}"
        )
    return ids


def _check_max_len(max_len):
    if int(max_len) < 1:
        raise InputError(f"max_len must be >= 1, got {max_len}")


def _mask_ids(scores, ids):
    """Set the scores of ``ids`` (an iterable of token ids) to -inf: never emit them."""
    if ids:
        scores = scores.copy()
        scores[:, list(ids)] = -float("inf")
    return scores


# ---------------------------------------------------------------- greedy and sampling


def _decode(step, state, start_ids, max_len, eos_id, choose):
    """The loop greedy and sampling share: ``choose(scores (B, V)) -> ids (B,)`` each step.

    After ``eos_id`` a sequence keeps emitting it; decoding stops once all have.
    """
    _check_max_len(max_len)
    xp = get_array_module(start_ids)
    ids = _as_ids(start_ids, xp)
    finished = xp.zeros(ids.shape, dtype=bool)
    out = []
    for _ in range(max_len):
        scores, state = step(ids, state)
        ids = choose(scores)
        if eos_id is not None:
            ids = xp.where(finished, eos_id, ids)
            finished |= ids == eos_id
        out.append(ids)
        if eos_id is not None and bool(finished.all()):
            break
    return _pad(xp.stack(out, axis=1), max_len, eos_id)


def greedy_decode(step, state, start_ids, max_len, eos_id=None, skip_ids=None):
    """Pick the highest-scoring token at every step.

    start_ids: (N,) the first input token of each sequence. After ``eos_id`` a sequence
    keeps emitting ``eos_id`` (and decoding stops once all have). Returns ids (N, max_len).
    """
    return _decode(
        step, state, start_ids, max_len, eos_id,
        lambda scores: _mask_ids(scores, skip_ids).argmax(axis=-1),
    )  # fmt: skip


def top_p_filter(logits, top_p):
    """Nucleus (top-p) filtering (Holtzman et al. 2020): logits (B, V) -> (B, V) with -inf
    outside each row's nucleus.

    The nucleus is the smallest set of likeliest tokens whose probabilities sum to at
    least ``top_p``: a token is kept when the tokens likelier than it sum to less than
    ``top_p`` (so the likeliest token is always kept). Tokens tied with the last one kept
    are kept too. top_p=1 keeps everything.
    """
    xp = get_array_module(logits)
    if not 0.0 < top_p <= 1.0:
        raise InputError(f"top_p must lie in (0, 1], got {top_p}")
    if top_p == 1.0:
        return logits
    probs = xp.exp(log_softmax(logits.astype(xp.float64)))  # (B, V)
    desc = -xp.sort(-probs, axis=-1)  # (B, V) likeliest first
    before = xp.cumsum(desc, axis=-1) - desc  # mass of the tokens likelier than each
    kept = (before < top_p).sum(axis=-1)  # (B,) nucleus size, >= 1
    smallest = desc[xp.arange(desc.shape[0]), kept - 1][:, None]  # (B, 1)
    return xp.where(probs < smallest, -float("inf"), logits)


def sample_decode(
    step,
    state,
    start_ids,
    max_len,
    temperature=1.0,
    top_k=None,
    skip_ids=None,
    eos_id=None,
    top_p=None,
):
    """Sample every token from softmax(scores / temperature), optionally among the top k
    and/or within the top-p nucleus.

    temperature < 1 sharpens the distribution, > 1 flattens it; ``top_k`` keeps only the k
    best tokens; ``top_p`` then keeps the smallest set of likeliest tokens whose
    probabilities (after temperature and top-k) sum to at least top_p (``top_p_filter``);
    ``skip_ids`` are never sampled (the book's ``skip_ids`` of ``RnnlmGen.generate``).
    Draws come from the array module's global generator (seed with ``zeronlp.seed``).
    Returns ids (N, max_len).
    """
    if temperature <= 0:
        raise InputError(f"temperature must be > 0, got {temperature}")
    if top_k is not None and int(top_k) < 1:
        raise InputError(f"top_k must be >= 1, got {top_k}")
    if top_p is not None and not 0.0 < top_p <= 1.0:
        raise InputError(f"top_p must lie in (0, 1], got {top_p}")

    def choose(scores):
        xp = get_array_module(scores)
        logits = _mask_ids(scores, skip_ids) / temperature
        if top_k is not None and top_k < logits.shape[-1]:
            kth = xp.partition(logits, -top_k, axis=-1)[:, -top_k][:, None]
            logits = xp.where(logits < kth, -float("inf"), logits)
        if top_p is not None:
            logits = top_p_filter(logits, top_p)
        # Gumbel-max: argmax(logits + Gumbel noise) is a draw from softmax(logits),
        # for every row at once
        gumbel = -xp.log(-xp.log(xp.random.random_sample(logits.shape) + 1e-20) + 1e-20)
        return (logits + gumbel.astype(logits.dtype, copy=False)).argmax(axis=-1)

    return _decode(step, state, start_ids, max_len, eos_id, choose)


def _pad(ids, max_len, eos_id):
    """Pad sequences that stopped early (all reached eos) with eos to max_len columns."""
    if ids.shape[1] == max_len:
        return ids
    xp = get_array_module(ids)
    pad = xp.full((ids.shape[0], max_len - ids.shape[1]), eos_id, dtype=ids.dtype)
    return xp.concatenate([ids, pad], axis=1)


# ---------------------------------------------------------------- beam search


def beam_search(
    step,
    state,
    start_ids,
    max_len,
    beam_width=5,
    eos_id=None,
    length_penalty=1.0,
    skip_ids=None,
    return_all=False,
):
    """Keep the ``beam_width`` best partial sequences of every example at each step.

    A beam's score is the sum of its tokens' log-probabilities. Finished beams (that
    emitted ``eos_id``) keep their score and only extend with eos. The final choice
    divides each score by length ** length_penalty (length = tokens up to and including
    the first eos), so long sequences are not punished for having more terms;
    length_penalty=0 ranks by the raw sum.

    Returns ids (N, max_len) of the best beam and its normalised score (N,); with
    ``return_all``, all beams (N, beam_width, max_len) and scores (N, beam_width), best first.
    """
    _check_max_len(max_len)
    if beam_width < 1:
        raise InputError(f"beam_width must be >= 1, got {beam_width}")
    xp = get_array_module(start_ids)
    ids = _as_ids(start_ids, xp)
    N, K = ids.shape[0], beam_width
    ids = xp.repeat(ids, K)
    state = map_state(lambda s: xp.repeat(s, K, axis=0), state)
    # only the first beam of each example is alive at the start, so the K beams differ
    beam_score = xp.full((N, K), -float("inf"))
    beam_score[:, 0] = 0.0
    finished = xp.zeros((N, K), dtype=bool)
    lengths = xp.zeros((N, K), dtype=xp.int64)
    seqs = xp.zeros((N, K, 0), dtype=xp.int64)

    for _ in range(max_len):
        scores, state = step(ids, state)
        logp = log_softmax(_mask_ids(scores, skip_ids).astype(xp.float64)).reshape(N, K, -1)
        V = logp.shape[-1]
        if eos_id is not None:  # a finished beam can only append eos, at no cost
            logp = xp.where(finished[:, :, None], -float("inf"), logp)
            logp[:, :, eos_id] = xp.where(finished, 0.0, logp[:, :, eos_id])
        total = (beam_score[:, :, None] + logp).reshape(N, K * V)
        best = xp.argsort(-total, axis=1, kind="stable")[:, :K]  # (N, K) best first
        origin, token = best // V, best % V
        rows = xp.arange(N)[:, None]
        beam_score = total[rows, best]
        seqs = xp.concatenate([seqs[rows, origin], token[:, :, None]], axis=2)
        finished = finished[rows, origin]
        lengths = lengths[rows, origin] + (~finished)
        if eos_id is not None:
            finished |= token == eos_id
        state = _take_rows(state, (rows * K + origin).reshape(-1))
        ids = token.reshape(-1)
        if eos_id is not None and bool(finished.all()):
            break

    seqs = _pad(seqs.reshape(N * K, -1), max_len, eos_id).reshape(N, K, max_len)
    norm = beam_score / xp.maximum(lengths, 1).astype(xp.float64) ** length_penalty
    order = xp.argsort(-norm, axis=1, kind="stable")
    rows = xp.arange(N)[:, None]
    seqs, norm = seqs[rows, order], norm[rows, order]
    if return_all:
        return seqs, norm
    return seqs[:, 0], norm[:, 0]
