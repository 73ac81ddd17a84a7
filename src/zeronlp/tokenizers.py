"""Tokenizers: byte-level BPE (as GPT-2 and minbpe), characters and words.

All three share one interface::

    tok = BPETokenizer().train(text, vocab_size=1000)
    ids = tok.encode("hello world")      # list[int]
    tok.decode(ids)                      # "hello world"
    tok.save("tok.json"); tok = BPETokenizer.load("tok.json")

``load_tokenizer(path)`` reads any of them. Files are JSON (never pickle) and are validated
whole on load, as untrusted input: a malformed file raises ``TokenizerFileError`` naming it.

Byte-level BPE (Sennrich et al. 2016; GPT-2's byte variant; the algorithm of Karpathy's minbpe):
text is UTF-8 bytes, the first 256 tokens are the bytes, and training repeatedly merges the most
frequent adjacent pair of tokens into a new token (id 256 + merge index). Every string has
bytes, so ``decode(encode(s)) == s`` for every string. An optional regex first splits the text
into chunks (words, numbers, punctuation, spaces) so merges never cross them; the GPT-2 and
GPT-4 patterns are written for the standard ``re`` module (no ``regex`` dependency) with
Unicode letter and number classes built from ``unicodedata``.

Training keeps pair counts and the positions of each pair up to date merge by merge, so a merge
touches only the places where its pair occurs, never the whole corpus. Ties between pairs of
equal count go to the smallest pair (minbpe takes the pair it met first).
"""

from __future__ import annotations

import heapq
import json
import re
import unicodedata
from collections import Counter, defaultdict
from functools import cache
from pathlib import Path

import numpy as np

from .errors import InputError, MissingFileError
from .io import atomic_write_text

FORMAT = "zeronlp-tokenizer"
FORMAT_VERSION = 1
MAX_FILE_BYTES = 64 * 2**20  # a tokenizer file larger than this is refused unread
MAX_MERGES = 1_000_000
MAX_VOCAB_BYTES = 64 * 2**20  # the bytes of all tokens together; merges can double a length


class TokenizerError(InputError):
    """Bad input to a tokenizer: a wrong type, an id outside the vocabulary, an unknown symbol."""


class TokenizerFileError(TokenizerError):
    """A tokenizer file that is not valid JSON of the expected form."""


# ---------------------------------------------------------------- pre-split patterns

# GPT-2's and GPT-4's patterns (tiktoken) with \p{L}, \p{N} and \s as placeholders {L}, {N}, {S}
_PATTERNS = {
    "gpt2": r"""'(?:[sdmt]|ll|ve|re)| ?[{L}]+| ?[{N}]+| ?[^{S}{L}{N}]+|[{S}]+(?![^{S}])|[{S}]+""",
    "gpt4": (
        r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n{L}{N}]?+[{L}]+|[{N}]{{1,3}}"""
        r"""| ?[^{S}{L}{N}]++[\r\n]*|[{S}]*[\r\n]|[{S}]+(?![^{S}])|[{S}]+"""
    ),
}
PATTERNS = tuple(_PATTERNS)

# Unicode White_Space, what \s means in the `regex` module (re's \s adds \x1c-\x1f)
_WHITE_SPACE = r"\t\n\x0b\x0c\r\x20\x85\xa0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000"


@cache
def _char_class(first_letter: str) -> str:
    """A re character class body for the Unicode general categories starting with a letter."""
    ranges, start = [], None
    for cp in range(0x110001):
        inside = cp < 0x110000 and unicodedata.category(chr(cp))[0] == first_letter
        if inside and start is None:
            start = cp
        elif not inside and start is not None:
            ranges.append(f"\\U{start:08x}" + (f"-\\U{cp - 1:08x}" if cp - 1 > start else ""))
            start = None
    return "".join(ranges)


@cache
def split_pattern(name: str) -> re.Pattern:
    """The compiled pre-split regex 'gpt2' or 'gpt4' (built once, on first use)."""
    body = _PATTERNS[name]
    return re.compile(body.format(L=_char_class("L"), N=_char_class("N"), S=_WHITE_SPACE))


def _check_pattern(pattern):
    if pattern is not None and pattern not in _PATTERNS:
        raise TokenizerError(f"pattern must be one of {PATTERNS} or None, got {pattern!r}")
    return pattern


# ---------------------------------------------------------------- BPE training


def train_merges(chunk_counts: dict[bytes, int], n_merges: int) -> list[tuple[int, int]]:
    """The BPE merges of a corpus given as distinct byte chunks and their counts.

    chunk_counts: {bytes: count}; pairs never cross chunk boundaries. Returns up to
    ``n_merges`` pairs (a, b); merge i makes token 256 + i. Fewer when no pair is left.

    All chunks lie in one array of tokens with linked-list neighbours (prv, nxt; -1 at a chunk's
    ends), each position weighted by its chunk's count. ``count[pair]`` is the weighted number of
    occurrences and ``where[pair]`` their left positions; a heap finds the most frequent pair,
    stale heap entries (whose count has changed since) are skipped when popped.
    """
    tokens, weight, prv, nxt = [], [], [], []
    for chunk, c in chunk_counts.items():
        start, n = len(tokens), len(chunk)
        if n == 0:
            continue
        tokens += chunk
        weight += [c] * n
        prv += [-1] + list(range(start, start + n - 1))
        nxt += list(range(start + 1, start + n)) + [-1]
    count = defaultdict(int)
    where = defaultdict(set)
    for i, j in enumerate(nxt):
        if j != -1:
            pair = (tokens[i], tokens[j])
            count[pair] += weight[i]
            where[pair].add(i)
    heap = [(-c, pair) for pair, c in count.items()]
    heapq.heapify(heap)

    changed = set()  # pairs whose count a merge changed: pushed again on the heap

    def drop(q, pos, w):
        count[q] -= w
        where[q].discard(pos)
        changed.add(q)

    def add(q, pos, w):
        count[q] += w
        where[q].add(pos)
        changed.add(q)

    merges = []
    while heap and len(merges) < n_merges:
        neg, pair = heapq.heappop(heap)
        if count.get(pair, 0) != -neg or neg == 0:
            continue  # stale entry
        new = 256 + len(merges)
        merges.append(pair)
        a, b = pair
        changed.clear()
        # left to right, so overlapping pairs (a a a) merge as a plain left-to-right scan would
        for i in sorted(where.pop(pair)):
            j = nxt[i]
            if tokens[i] != a or j == -1 or tokens[j] != b:
                continue  # this occurrence was consumed by a merge just before it
            w, h, k = weight[i], prv[i], nxt[j]
            if h != -1:
                drop((tokens[h], a), h, w)
            if k != -1:
                drop((b, tokens[k]), j, w)
            tokens[i], tokens[j] = new, -1
            nxt[i] = k
            if k != -1:
                prv[k] = i
                add((new, tokens[k]), i, w)
            if h != -1:
                add((tokens[h], new), h, w)
        count.pop(pair, None)
        where.pop(pair, None)
        changed.discard(pair)
        for q in changed:
            if count[q] > 0:
                heapq.heappush(heap, (-count[q], q))
    return merges


def apply_merges(ids: list[int], ranks: dict[tuple[int, int], int]) -> list[int]:
    """Encode one chunk: merge pairs in order of their rank until none applies.

    ids: byte values; ranks: {pair: merge index}. Gives what minbpe's loop gives (merge all
    occurrences of the lowest-ranked pair, left to right, repeat), with a heap of candidate
    pairs instead of a rescan after each merge: a merge only makes pairs of higher rank.
    """
    n = len(ids)
    if n < 2:
        return list(ids)
    tok = list(ids)
    prv = list(range(-1, n - 1))
    nxt = list(range(1, n)) + [-1]
    heap = []
    for i in range(n - 1):
        r = ranks.get((tok[i], tok[i + 1]))
        if r is not None:
            heap.append((r, i))
    heapq.heapify(heap)
    while heap:
        r, i = heapq.heappop(heap)
        j = nxt[i]
        if tok[i] is None or j == -1 or ranks.get((tok[i], tok[j])) != r:
            continue  # stale: a neighbour changed since this entry was pushed
        tok[i], tok[j] = 256 + r, None
        k = nxt[j]
        nxt[i] = k
        if k != -1:
            prv[k] = i
            r2 = ranks.get((tok[i], tok[k]))
            if r2 is not None:
                heapq.heappush(heap, (r2, i))
        h = prv[i]
        if h != -1:
            r2 = ranks.get((tok[h], tok[i]))
            if r2 is not None:
                heapq.heappush(heap, (r2, h))
    return [t for t in tok if t is not None]


# ---------------------------------------------------------------- shared helpers


def _check_text(text):
    if not isinstance(text, str):
        raise TokenizerError(f"text must be a str, got {type(text).__name__}")
    return text


def _check_vocab_size(vocab_size, least):
    if isinstance(vocab_size, bool) or not isinstance(vocab_size, int | np.integer):
        raise TokenizerError(f"vocab_size must be an int, got {type(vocab_size).__name__}")
    if vocab_size < least:
        raise TokenizerError(f"vocab_size must be at least {least}, got {vocab_size}")
    return int(vocab_size)


def _check_ids(ids, vocab_size) -> list[int]:
    arr = np.asarray(ids)
    if arr.size == 0:
        return []
    if arr.ndim != 1 or not np.issubdtype(arr.dtype, np.integer):
        raise TokenizerError(
            f"ids must be a 1-D sequence of ints, got shape {arr.shape} dtype {arr.dtype}"
        )
    if arr.min() < 0 or arr.max() >= vocab_size:
        raise TokenizerError(
            f"ids must lie in [0, {vocab_size}) (vocab_size), got ids from {arr.min()} to "
            f"{arr.max()}"
        )
    return arr.tolist()


def _read_json(path, kind):
    """The validated top-level dict of a tokenizer file of type ``kind``."""
    path = Path(path)
    if not path.is_file():
        raise MissingFileError(f"no tokenizer file at {path}")
    if path.stat().st_size > MAX_FILE_BYTES:
        raise TokenizerFileError(f"{path} is larger than {MAX_FILE_BYTES} bytes: not a tokenizer")
    try:
        data = json.loads(path.read_bytes().decode("utf-8"))
    except (ValueError, RecursionError) as e:  # bad UTF-8, bad JSON, a 5,000-digit int
        raise TokenizerFileError(f"{path} is not a tokenizer file (not JSON: {e})") from None
    if not isinstance(data, dict) or data.get("format") != FORMAT:
        raise TokenizerFileError(f"{path} is not a tokenizer file (no 'format': {FORMAT!r})")
    if data.get("version") != FORMAT_VERSION:
        raise TokenizerFileError(
            f"{path}: tokenizer file version {data.get('version')!r}, expected {FORMAT_VERSION}"
        )
    if kind is not None and data.get("type") != kind:
        raise TokenizerFileError(f"{path} holds a {data.get('type')!r} tokenizer, not {kind!r}")
    return data


def _is_int(x):
    return isinstance(x, int) and not isinstance(x, bool)


def _save_json(path, data):
    atomic_write_text(path, json.dumps({"format": FORMAT, "version": FORMAT_VERSION, **data}))


def load_tokenizer(path):
    """Any tokenizer saved by ``save``: a BPETokenizer, CharTokenizer or WordTokenizer."""
    kind = _read_json(path, None).get("type")
    classes = {"bpe": BPETokenizer, "char": CharTokenizer, "word": WordTokenizer}
    if kind not in classes:
        raise TokenizerFileError(f"{path}: unknown tokenizer type {kind!r}")
    return classes[kind].load(path)


# ---------------------------------------------------------------- byte-level BPE


class BPETokenizer:
    """Byte-level BPE. pattern: 'gpt2' (default), 'gpt4' or None (no pre-split)."""

    kind = "bpe"

    def __init__(self, pattern: str | None = "gpt2"):
        self.pattern = _check_pattern(pattern)
        self._set_merges([])

    def _set_merges(self, merges):
        self.merges = [tuple(p) for p in merges]  # merge i: pair -> token 256 + i
        self.ranks = {p: i for i, p in enumerate(self.merges)}
        self.vocab = [bytes([i]) for i in range(256)]  # id -> bytes
        for a, b in self.merges:
            self.vocab.append(self.vocab[a] + self.vocab[b])
        self._cache = {}

    @property
    def vocab_size(self) -> int:
        return len(self.vocab)

    def _chunks(self, text):
        if self.pattern is None:
            return [text] if text else []
        return split_pattern(self.pattern).findall(text)

    def train(self, text: str, vocab_size: int):
        """Learn vocab_size - 256 merges from text (fewer if the text runs out of pairs)."""
        _check_text(text)
        n_merges = _check_vocab_size(vocab_size, 256) - 256
        chunks = Counter(c.encode("utf-8", "surrogatepass") for c in self._chunks(text))
        self._set_merges(train_merges(chunks, n_merges))
        return self

    def _encode_chunk(self, chunk):
        ids = self._cache.get(chunk)
        if ids is None:
            ids = apply_merges(list(chunk.encode("utf-8", "surrogatepass")), self.ranks)
            if len(chunk) <= 64:  # words repeat; long chunks rarely do
                if len(self._cache) >= 100_000:
                    self._cache.clear()
                self._cache[chunk] = ids
        return ids

    def encode(self, text: str) -> list[int]:
        """str -> token ids."""
        ids = []
        for chunk in self._chunks(_check_text(text)):
            ids += self._encode_chunk(chunk)
        return ids

    def decode(self, ids) -> str:
        """Token ids -> str. Bytes that are not UTF-8 (a model can generate them) become U+FFFD."""
        data = b"".join([self.vocab[i] for i in _check_ids(ids, self.vocab_size)])
        try:  # surrogatepass: lone surrogates in a str survive the round trip too
            return data.decode("utf-8", "surrogatepass")
        except UnicodeDecodeError:
            return data.decode("utf-8", "replace")

    def token_bytes(self, i: int) -> bytes:
        return self.vocab[i]

    def save(self, path):
        _save_json(
            path,
            {"type": self.kind, "pattern": self.pattern, "merges": list(map(list, self.merges))},
        )

    @classmethod
    def load(cls, path):
        data = _read_json(path, cls.kind)
        pattern, merges = data.get("pattern"), data.get("merges")
        if pattern is not None and pattern not in _PATTERNS:
            raise TokenizerFileError(f"{path}: unknown pre-split pattern {pattern!r}")
        if not isinstance(merges, list) or len(merges) > MAX_MERGES:
            raise TokenizerFileError(f"{path}: 'merges' must be a list of at most {MAX_MERGES}")
        seen, lengths, total = set(), [1] * 256, 256
        for i, m in enumerate(merges):
            if not (isinstance(m, list) and len(m) == 2 and all(_is_int(x) for x in m)):
                raise TokenizerFileError(f"{path}: merge {i} is not a pair of ints: {m!r:.40}")
            if not (0 <= m[0] < 256 + i and 0 <= m[1] < 256 + i):
                raise TokenizerFileError(
                    f"{path}: merge {i} {m} uses a token that does not exist yet (< {256 + i})"
                )
            if tuple(m) in seen:
                raise TokenizerFileError(f"{path}: merge {i} {m} repeats an earlier merge")
            seen.add(tuple(m))
            lengths.append(lengths[m[0]] + lengths[m[1]])
            total += lengths[-1]
            if total > MAX_VOCAB_BYTES:  # merging a token with itself doubles its length
                raise TokenizerFileError(
                    f"{path}: its tokens would take more than {MAX_VOCAB_BYTES} bytes"
                )
        tok = cls(pattern)
        tok._set_merges(merges)
        return tok


# ---------------------------------------------------------------- characters and words


class _VocabTokenizer:
    """A tokenizer with a list of symbols: id i is ``tokens[i]``."""

    kind = ""

    def __init__(self, tokens=()):
        self._set_tokens(list(tokens))

    def _set_tokens(self, tokens):
        self.tokens = tokens
        self.token_to_id = {t: i for i, t in enumerate(tokens)}

    @property
    def vocab_size(self) -> int:
        return len(self.tokens)

    @staticmethod
    def _most_frequent(symbols, vocab_size, reserved=()):
        """Symbols by decreasing count (ties: first appearance), reserved ones first."""
        counts = Counter(s for s in symbols if s not in reserved)  # keeps first-appearance order
        order = sorted(counts, key=counts.get, reverse=True)  # stable: ties keep that order
        if vocab_size is not None:
            order = order[: _check_vocab_size(vocab_size, len(reserved) + 1) - len(reserved)]
        return list(reserved) + order

    def save(self, path):
        _save_json(path, {"type": self.kind, "tokens": self.tokens})

    @classmethod
    def _load_tokens(cls, path):
        data = _read_json(path, cls.kind)
        tokens = data.get("tokens")
        if not (isinstance(tokens, list) and all(isinstance(t, str) for t in tokens)):
            raise TokenizerFileError(f"{path}: 'tokens' must be a list of strings")
        if len(set(tokens)) != len(tokens):
            raise TokenizerFileError(f"{path}: 'tokens' has repeated entries")
        return tokens


class CharTokenizer(_VocabTokenizer):
    """One token per character. Vocabulary: the training text's characters, most frequent first.

    A character outside the vocabulary raises TokenizerError at encode (train on text that has
    every character you will encode; vocab_size=None keeps them all).
    """

    kind = "char"

    def train(self, text: str, vocab_size: int | None = None):
        self._set_tokens(self._most_frequent(_check_text(text), vocab_size))
        return self

    def encode(self, text: str) -> list[int]:
        try:
            return [self.token_to_id[c] for c in _check_text(text)]
        except KeyError as e:
            raise TokenizerError(f"character {e.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join([self.tokens[i] for i in _check_ids(ids, self.vocab_size)])

    @classmethod
    def load(cls, path):
        tokens = cls._load_tokens(path)
        if any(len(t) != 1 for t in tokens):
            raise TokenizerFileError(f"{path}: a char tokenizer's tokens must be single characters")
        return cls(tokens)


class WordTokenizer(_VocabTokenizer):
    """Words split at white space, line ends as '<eos>' (the book's PTB convention).

    Words outside the vocabulary become '<unk>' (id 0). decode joins words with single spaces,
    so it gives back the text only up to white space, unknown words and line ends ('<eos>').
    """

    kind = "word"
    unk = "<unk>"
    eos = "<eos>"

    def __init__(self, tokens=("<unk>",)):
        super().__init__(tokens)

    def _words(self, text):
        return _check_text(text).replace("\n", f" {self.eos} ").split()

    def train(self, text: str, vocab_size: int | None = None):
        self._set_tokens(self._most_frequent(self._words(text), vocab_size, (self.unk,)))
        return self

    def encode(self, text: str) -> list[int]:
        get = self.token_to_id.get
        return [get(w, 0) for w in self._words(text)]

    def decode(self, ids) -> str:
        return " ".join([self.tokens[i] for i in _check_ids(ids, self.vocab_size)])

    @classmethod
    def load(cls, path):
        tokens = cls._load_tokens(path)
        if not tokens or tokens[0] != cls.unk:
            raise TokenizerFileError(f"{path}: a word tokenizer's first token must be {cls.unk!r}")
        if any(not t or len(t.split()) != 1 or t.strip() != t for t in tokens):
            raise TokenizerFileError(f"{path}: a word tokenizer's tokens must be single words")
        return cls(tokens)
