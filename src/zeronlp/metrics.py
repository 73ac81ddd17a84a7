"""Metrics for generated text: BLEU (as sacreBLEU computes it), exact match, edit distance.

``corpus_bleu(hypotheses, references)`` takes references as sacreBLEU does, a list of reference
*streams* (one list of strings per reference set, each as long as ``hypotheses``), and gives
sacreBLEU's default corpus BLEU: the mteval-v13a tokenizer, case kept, n-grams up to 4 clipped
by their largest count in any reference, the closest reference length (ties: the shorter) for
the brevity penalty, and the NIST 'exp' smoothing of zero precisions (Papineni et al. 2002;
Chen and Cherry 2014, method 3). ``sentence_bleu`` is sacreBLEU's ``sentence_bleu`` (the same,
with the effective order: n-gram orders the hypothesis is too short for are left out).
"""

from __future__ import annotations

import math
import re
from collections import Counter
from dataclasses import dataclass

import numpy as np

from .errors import InputError

MAX_ORDER = 4


class MetricInputError(InputError):
    """Hypotheses and references that do not fit together."""


# ---------------------------------------------------------------- tokenizer 13a

_13A_RULES = [
    (re.compile(r"([\{-\~\[-\` -\&\(-\+\:-\@\/])"), r" \1 "),  # most ASCII punctuation
    (re.compile(r"([^0-9])([\.,])"), r"\1 \2 "),  # period and comma unless after a digit
    (re.compile(r"([\.,])([^0-9])"), r" \1 \2"),  # period and comma unless before a digit
    (re.compile(r"([0-9])(-)"), r"\1 \2 "),  # dash after a digit
]


def tokenize_13a(line: str) -> str:
    """mteval-v13a tokenization (WMT's, sacreBLEU's default): tokens joined by single spaces."""
    line = line.replace("<skipped>", "").replace("-\n", "").replace("\n", " ")
    if "&" in line:
        line = line.replace("&quot;", '"').replace("&amp;", "&")
        line = line.replace("&lt;", "<").replace("&gt;", ">")
    line = f" {line} "
    for pattern, replacement in _13A_RULES:
        line = pattern.sub(replacement, line)
    return " ".join(line.split())


def _ngrams(tokens, max_order=MAX_ORDER) -> Counter:
    return Counter(
        tuple(tokens[i : i + n])
        for n in range(1, max_order + 1)
        for i in range(len(tokens) - n + 1)
    )


# ---------------------------------------------------------------- BLEU


@dataclass
class BLEUScore:
    """score in [0, 100]; precisions (%) per n-gram order; bp the brevity penalty."""

    score: float
    precisions: list[float]
    bp: float
    sys_len: int
    ref_len: int
    counts: list[int]  # matched n-grams per order
    totals: list[int]  # hypothesis n-grams per order

    def __float__(self):
        return float(self.score)

    def __str__(self):
        p = "/".join(f"{x:.1f}" for x in self.precisions)
        return f"BLEU = {self.score:.2f} {p} (BP = {self.bp:.3f}, {self.sys_len}/{self.ref_len})"


def _segment_stats(hyp: str, refs: list[str]):
    """(hyp_len, ref_len, correct per order, total per order) of one segment."""
    hyp_tokens = tokenize_13a(hyp.rstrip()).split()
    ref_counts, ref_lens = Counter(), []
    for ref in refs:
        tokens = tokenize_13a(ref.rstrip()).split()
        ref_lens.append(len(tokens))
        ref_counts |= _ngrams(tokens)  # | keeps the largest count of each n-gram
    # the closest reference length, the shorter one on a tie
    ref_len = min(ref_lens, key=lambda r: (abs(len(hyp_tokens) - r), r))
    correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
    for ngram, count in _ngrams(hyp_tokens).items():
        total[len(ngram) - 1] += count
        correct[len(ngram) - 1] += min(count, ref_counts[ngram])
    return len(hyp_tokens), ref_len, correct, total


def _bleu(sys_len, ref_len, correct, total, effective_order=False) -> BLEUScore:
    bp = 1.0
    if sys_len < ref_len:
        bp = math.exp(1 - ref_len / sys_len) if sys_len > 0 else 0.0
    precisions = [0.0] * MAX_ORDER
    if not any(correct):
        return BLEUScore(0.0, precisions, bp, sys_len, ref_len, correct, total)
    smooth, order = 1.0, MAX_ORDER
    for n in range(1, MAX_ORDER + 1):
        if total[n - 1] == 0:
            break
        if effective_order:
            order = n
        if correct[n - 1] == 0:  # 'exp' smoothing: 1/2, 1/4, ... of a match
            smooth *= 2
            precisions[n - 1] = 100.0 / (smooth * total[n - 1])
        else:
            precisions[n - 1] = 100.0 * correct[n - 1] / total[n - 1]
    # a zero precision (an order with no n-gram at all, without effective order) counts as
    # log = -1e10, as sacreBLEU's floor, which makes the score 0
    logs = [math.log(p) if p > 0 else -9999999999 for p in precisions[:order]]
    score = bp * math.exp(sum(logs) / order)
    return BLEUScore(score, precisions, bp, sys_len, ref_len, correct, total)


def _check_strings(xs, what):
    if isinstance(xs, str) or not all(isinstance(x, str) for x in xs):
        raise MetricInputError(f"{what} must be a list of strings")
    return list(xs)


def corpus_bleu(hypotheses, references) -> BLEUScore:
    """Corpus BLEU, equal to ``sacrebleu.corpus_bleu(hypotheses, references)``.

    hypotheses: list of N strings; references: list of R reference streams, each a list of N
    strings (None where a segment has fewer references). Returns a BLEUScore (float() = score).
    """
    hypotheses = _check_strings(hypotheses, "hypotheses")
    if isinstance(references, str) or not references or isinstance(references[0], str):
        raise MetricInputError(
            "references must be a list of reference streams (lists of strings), e.g. [refs]"
        )
    for k, stream in enumerate(references):
        if len(stream) != len(hypotheses):
            raise MetricInputError(
                f"reference stream {k} has {len(stream)} lines, hypotheses have {len(hypotheses)}"
            )
    sys_len = ref_len = 0
    correct, total = [0] * MAX_ORDER, [0] * MAX_ORDER
    for i, (hyp, *refs) in enumerate(zip(hypotheses, *references, strict=True)):
        refs = [r for r in refs if r is not None]
        if not refs:
            raise MetricInputError(f"segment {i} has no reference")
        h, r, c, t = _segment_stats(hyp, _check_strings(refs, "references"))
        sys_len, ref_len = sys_len + h, ref_len + r
        correct = [a + b for a, b in zip(correct, c, strict=True)]
        total = [a + b for a, b in zip(total, t, strict=True)]
    return _bleu(sys_len, ref_len, correct, total)


def sentence_bleu(hypothesis: str, references) -> BLEUScore:
    """BLEU of one sentence, equal to ``sacrebleu.sentence_bleu(hypothesis, references)``.

    references: a list of reference strings (or one string). Uses the effective order.
    """
    if isinstance(references, str):
        references = [references]
    if not isinstance(hypothesis, str):
        raise MetricInputError(f"hypothesis must be a string, got {type(hypothesis).__name__}")
    references = _check_strings(references, "references")
    if not references:
        raise MetricInputError("sentence_bleu needs at least one reference")
    return _bleu(*_segment_stats(hypothesis, references), effective_order=True)


# ---------------------------------------------------------------- exact match, edit distance


def exact_match(hypotheses, references) -> float:
    """Fraction of hypotheses equal to their reference string (the book's seq2seq accuracy)."""
    hypotheses = _check_strings(hypotheses, "hypotheses")
    references = _check_strings(references, "references")
    if len(hypotheses) != len(references) or not hypotheses:
        raise MetricInputError(
            f"need as many references as hypotheses (>0), got {len(references)} and "
            f"{len(hypotheses)}"
        )
    return sum(h == r for h, r in zip(hypotheses, references, strict=True)) / len(hypotheses)


def _as_ids(a, b):
    if isinstance(a, str) and isinstance(b, str):  # code points; surrogates pass through

        def ids(s):
            return np.frombuffer(s.encode("utf-32-le", "surrogatepass"), dtype=np.uint32)

        return ids(a), ids(b)
    if isinstance(a, str) or isinstance(b, str):
        raise MetricInputError("edit_distance compares two strings or two token sequences")
    index = {}
    return (
        np.array([index.setdefault(x, len(index)) for x in a], dtype=np.int64),
        np.array([index.setdefault(x, len(index)) for x in b], dtype=np.int64),
    )


def edit_distance(a, b) -> int:
    """Levenshtein distance: fewest insertions, deletions and substitutions turning a into b.

    a, b: strings (compared by character) or sequences of tokens. One NumPy row of the dynamic
    programme per element of a: deletions and substitutions come from the previous row at once;
    insertions within the row are d[j] = min over k <= j of (row[k] + j - k), a running minimum.
    """
    x, y = _as_ids(a, b)
    cols = np.arange(len(y) + 1)
    prev = cols.copy()  # row 0: j insertions
    for i, xi in enumerate(x, start=1):
        row = np.empty_like(prev)
        row[0] = i
        row[1:] = np.minimum(prev[1:] + 1, prev[:-1] + (y != xi))  # deletion, substitution
        prev = np.minimum.accumulate(row - cols) + cols  # insertions
    return int(prev[-1])
