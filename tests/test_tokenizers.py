"""Tokenizers: BPE equal to minbpe's plain algorithm, round trips on any string, safe files."""

import json
import unicodedata

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zeronlp import tokenizers as T
from zeronlp.tokenizers import (
    BPETokenizer,
    CharTokenizer,
    TokenizerError,
    TokenizerFileError,
    WordTokenizer,
    load_tokenizer,
)

TEXT = (
    "The quick brown fox jumps over the lazy dog. It's 2024 and we've 3,141 foxes!\n"
    "Zürich, café, naïve, 東京, Ελληνικά, emoji 🦊🦊 and tabs\tand  spaces.\n"
) * 20


# ---------------------------------------------------------------- minbpe's plain algorithm


def naive_train(chunks, n_merges):
    """minbpe's training loop: recount all pairs, merge the best everywhere, repeat.

    Ties go to the smallest pair, the rule zeronlp documents (minbpe takes the first met).
    """
    ids = [list(c) for c in chunks]
    merges = []
    for i in range(n_merges):
        stats = {}
        for chunk in ids:
            for pair in zip(chunk, chunk[1:], strict=False):
                stats[pair] = stats.get(pair, 0) + 1
        if not stats:
            break
        pair = min(stats, key=lambda p: (-stats[p], p))
        merges.append(pair)
        ids = [naive_merge(chunk, pair, 256 + i) for chunk in ids]
    return merges


def naive_merge(ids, pair, idx):
    out, i = [], 0
    while i < len(ids):
        if i < len(ids) - 1 and (ids[i], ids[i + 1]) == pair:
            out.append(idx)
            i += 2
        else:
            out.append(ids[i])
            i += 1
    return out


def naive_encode(data, merges):
    """minbpe's _encode_chunk: merge the lowest-ranked pair present until none is a merge."""
    ranks = {p: i for i, p in enumerate(merges)}
    ids = list(data)
    while len(ids) >= 2:
        pairs = set(zip(ids, ids[1:], strict=False))
        pair = min(pairs, key=lambda p: ranks.get(p, float("inf")))
        if pair not in ranks:
            break
        ids = naive_merge(ids, pair, 256 + ranks[pair])
    return ids


# small alphabets make many repeated pairs, overlaps (aaa) and ties
small_text = st.text(alphabet="ab c\nd", max_size=60)


@settings(max_examples=150, deadline=None)
@given(chunks=st.lists(st.binary(max_size=12).map(lambda b: bytes(x % 4 for x in b)), max_size=8))
def test_train_merges_equal_naive(chunks):
    from collections import Counter

    expected = naive_train(chunks, 12)
    assert T.train_merges(Counter(chunks), 12) == expected


@settings(max_examples=100, deadline=None)
@given(text=small_text, pattern=st.sampled_from(["gpt2", "gpt4", None]))
def test_train_equal_naive_on_chunks(text, pattern):
    tok = BPETokenizer(pattern).train(text, 256 + 10)
    chunks = [c.encode() for c in tok._chunks(text)]
    assert tok.merges == naive_train(chunks, 10)


@settings(max_examples=150, deadline=None)
@given(data=st.binary(max_size=40).map(lambda b: bytes(x % 5 for x in b)))
def test_apply_merges_equal_naive_encode(data):
    merges = naive_train([bytes([0, 1, 0, 1, 1, 2, 3, 4, 0, 0, 0, 0, 1, 1, 1]) * 3], 9)
    ranks = {p: i for i, p in enumerate(merges)}
    assert T.apply_merges(list(data), ranks) == naive_encode(data, merges)


def test_minbpe_wikipedia_example():
    # minbpe's README example: "aaabdaaabac" with 3 merges -> XdXac, X=ZY, Y=ab, Z=aa
    tok = BPETokenizer(pattern=None).train("aaabdaaabac", 256 + 3)
    assert tok.encode("aaabdaaabac") == [258, 100, 258, 97, 99]
    assert [tok.vocab[i] for i in (256, 257, 258)] == [b"aa", b"ab", b"aaab"]


# ---------------------------------------------------------------- round trips


@pytest.fixture(scope="module", params=["gpt2", "gpt4", None])
def bpe(request):
    return BPETokenizer(request.param).train(TEXT, 256 + 60)


# any code point, lone surrogates included (Python strs may hold them)
any_text = st.text(
    st.one_of(st.characters(), st.integers(0xD800, 0xDFFF).map(chr), st.sampled_from("the fox")),
    max_size=80,
)


@settings(max_examples=150, deadline=None)
@given(s=any_text)
def test_bpe_round_trip_any_string(bpe, s):
    ids = bpe.encode(s)
    assert all(0 <= i < bpe.vocab_size for i in ids)
    assert bpe.decode(ids) == s


def test_bpe_compresses_and_uses_merges(bpe):
    ids = bpe.encode(TEXT)
    assert len(ids) < 0.6 * len(TEXT.encode())
    assert bpe.decode(ids) == TEXT
    assert bpe.vocab_size == 256 + 60


def test_bpe_encode_equals_naive_per_chunk(bpe):
    ids = []
    for chunk in bpe._chunks(TEXT[:500]):
        ids += naive_encode(chunk.encode(), bpe.merges)
    assert bpe.encode(TEXT[:500]) == ids


def test_bpe_pre_split_keeps_words_apart():
    tok = BPETokenizer("gpt2").train("hello world " * 50, 300)
    assert all(b" " not in tok.vocab[i][1:] for i in range(256, tok.vocab_size))
    assert tok.vocab_size < 300  # ran out of pairs: every chunk is one token
    assert tok.encode(" world") == [tok.vocab.index(b" world")]


def test_bpe_decode_invalid_utf8_gives_replacement():
    tok = BPETokenizer()
    assert tok.decode([0xE6, 0x97]) == "\ufffd"
    assert tok.decode(np.array([104, 105])) == "hi"
    assert tok.decode([]) == ""


@pytest.mark.parametrize(
    "ids, message",
    [([256], r"\[0, 256\)"), ([-1], r"\[0, 256\)"), ([1.5], "ints"), ([[1]], "1-D")],
)
def test_bpe_decode_bad_ids(ids, message):
    with pytest.raises(TokenizerError, match=message):
        BPETokenizer().decode(ids)


def test_bad_arguments():
    with pytest.raises(TokenizerError, match="pattern"):
        BPETokenizer("gpt3")
    with pytest.raises(TokenizerError, match="at least 256"):
        BPETokenizer().train("abc", 100)
    with pytest.raises(TokenizerError, match="str"):
        BPETokenizer().encode(b"abc")
    with pytest.raises(TokenizerError, match="int"):
        BPETokenizer().train("abc", 300.0)


# ---------------------------------------------------------------- the split patterns


GPT2 = r"""'(?:[sdmt]|ll|ve|re)| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"""
GPT4 = (
    r"""'(?i:[sdmt]|ll|ve|re)|[^\r\n\p{L}\p{N}]?+\p{L}+|\p{N}{1,3}"""
    r"""| ?[^\s\p{L}\p{N}]++[\r\n]*|\s*[\r\n]|\s+(?!\S)|\s+"""
)
# characters the running Python's Unicode database knows (the regex module may be newer)
assigned = st.characters().filter(lambda c: unicodedata.category(c) != "Cn")
split_text = st.text(st.one_of(assigned, st.sampled_from(" \t\n\r'sdmtSLLVE1234\x1c\xa0")))


@settings(max_examples=200, deadline=None)
@given(s=split_text, name=st.sampled_from(["gpt2", "gpt4"]))
def test_split_patterns_equal_regex_module(s, name):
    regex = pytest.importorskip("regex")
    expected = regex.findall(GPT2 if name == "gpt2" else GPT4, s)
    assert T.split_pattern(name).findall(s) == expected


def test_split_examples():
    s = "Hello world's  123456 ²³ café\n\n  x!!!"
    assert T.split_pattern("gpt2").findall(s) == [
        "Hello",
        " world",
        "'s",
        " ",
        " 123456",
        " ²³",
        " café",
        "\n\n ",
        " x",
        "!!!",
    ]
    assert "123" in T.split_pattern("gpt4").findall(s)


# ---------------------------------------------------------------- files


def test_save_load_round_trip(tmp_path, bpe):
    path = tmp_path / "tok.json"
    bpe.save(path)
    back = BPETokenizer.load(path)
    assert back.merges == bpe.merges and back.pattern == bpe.pattern
    assert back.encode(TEXT) == bpe.encode(TEXT)
    assert isinstance(load_tokenizer(path), BPETokenizer)
    assert json.loads(path.read_text())["type"] == "bpe"


def _good_bpe():
    return {"format": "zeronlp-tokenizer", "version": 1, "type": "bpe", "pattern": "gpt2",
            "merges": [[104, 105], [256, 33]]}  # fmt: skip


@pytest.mark.parametrize(
    "change, message",
    [
        (lambda d: "not json", "not a tokenizer file"),
        (lambda d: [1, 2], "not a tokenizer file"),
        (lambda d: {**d, "format": "x"}, "not a tokenizer file"),
        (lambda d: {**d, "version": 2}, "version"),
        (lambda d: {**d, "type": "char"}, "'char' tokenizer"),
        (lambda d: {**d, "pattern": "(a+)+$"}, "pattern"),
        (lambda d: {**d, "merges": {"a": 1}}, "merges"),
        (lambda d: {**d, "merges": [[1, 2, 3]]}, "merge 0"),
        (lambda d: {**d, "merges": [[1, True]]}, "merge 0"),
        (lambda d: {**d, "merges": [["a", 1]]}, "merge 0"),
        (lambda d: {**d, "merges": [[1, 256]]}, "does not exist"),
        (lambda d: {**d, "merges": [[1, -1]]}, "does not exist"),
        (lambda d: {**d, "merges": [[256, 1]]}, "does not exist"),
        (lambda d: {**d, "merges": [[1, 2], [1, 2]]}, "repeats"),
    ],
)
def test_bpe_load_refuses_malformed(tmp_path, change, message):
    path = tmp_path / "bad.json"
    data = change(_good_bpe())
    path.write_text(data if isinstance(data, str) else json.dumps(data))
    with pytest.raises(TokenizerFileError, match=message) as e:
        BPETokenizer.load(path)
    assert str(path) in str(e.value)


def test_load_refuses_deep_nesting_and_bad_bytes(tmp_path):
    path = tmp_path / "deep.json"
    path.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(TokenizerFileError, match=str(path)):
        load_tokenizer(path)
    path.write_bytes(b"\xff\xfe")
    with pytest.raises(TokenizerFileError, match=str(path)):
        load_tokenizer(path)
    with pytest.raises(FileNotFoundError, match="no tokenizer file"):
        load_tokenizer(tmp_path / "missing.json")


def test_errors_are_user_errors():
    from zeronlp.errors import MissingFileError, UserError

    assert issubclass(TokenizerFileError, TokenizerError) and issubclass(TokenizerError, UserError)
    assert issubclass(TokenizerError, ValueError)
    with pytest.raises(MissingFileError):
        BPETokenizer.load("no/such/tokenizer.json")


def test_load_refuses_exploding_tokens_and_huge_ints(tmp_path):
    path = tmp_path / "bomb.json"
    # token 256 + k is 2^(k+1) bytes long: 80 merges would ask for 2^81 bytes
    merges = [[97, 97]] + [[256 + k, 256 + k] for k in range(80)]
    path.write_text(json.dumps({**_good_bpe(), "merges": merges}))
    with pytest.raises(TokenizerFileError, match="more than"):
        BPETokenizer.load(path)
    path.write_text('{"format": "zeronlp-tokenizer", "version": ' + "9" * 5000 + "}")
    with pytest.raises(TokenizerFileError, match="not JSON"):
        BPETokenizer.load(path)


def test_good_file_loads(tmp_path):
    path = tmp_path / "good.json"
    path.write_text(json.dumps(_good_bpe()))
    assert BPETokenizer.load(path).encode("hi!") == [256, 33]  # gpt2 splits off the "!"
    path.write_text(json.dumps({**_good_bpe(), "pattern": None}))
    assert BPETokenizer.load(path).encode("hi!") == [257]


# ---------------------------------------------------------------- characters and words


def test_char_tokenizer(tmp_path):
    tok = CharTokenizer().train("abracadabra\n")
    assert tok.tokens[:3] == ["a", "b", "r"]  # most frequent first, ties by first appearance
    assert tok.decode(tok.encode("cab\n")) == "cab\n"
    with pytest.raises(TokenizerError, match="'z' is not in the vocabulary"):
        tok.encode("zebra")
    assert CharTokenizer().train("aab", vocab_size=1).tokens == ["a"]
    tok.save(tmp_path / "c.json")
    assert load_tokenizer(tmp_path / "c.json").tokens == tok.tokens
    (tmp_path / "bad.json").write_text(
        json.dumps({"format": "zeronlp-tokenizer", "version": 1, "type": "char", "tokens": ["ab"]})
    )
    with pytest.raises(TokenizerFileError, match="single characters"):
        CharTokenizer.load(tmp_path / "bad.json")


@settings(max_examples=100, deadline=None)
@given(s=st.text())
def test_char_round_trip_any_string(s):
    tok = CharTokenizer().train(s)
    assert tok.decode(tok.encode(s)) == s


def test_word_tokenizer(tmp_path):
    text = " the cat sat \n the dog sat \n"
    tok = WordTokenizer().train(text)
    assert tok.tokens == ["<unk>", "the", "sat", "<eos>", "cat", "dog"]
    assert tok.encode("the bird sat\n") == [1, 0, 2, 3]
    assert tok.decode([1, 4, 3]) == "the cat <eos>"
    small = WordTokenizer().train(text, vocab_size=3)
    assert small.tokens == ["<unk>", "the", "sat"]
    tok.save(tmp_path / "w.json")
    assert WordTokenizer.load(tmp_path / "w.json").tokens == tok.tokens
    (tmp_path / "bad.json").write_text(
        json.dumps({"format": "zeronlp-tokenizer", "version": 1, "type": "word", "tokens": ["a"]})
    )
    with pytest.raises(TokenizerFileError, match="<unk>"):
        WordTokenizer.load(tmp_path / "bad.json")


def test_word_tokenizer_matches_ptb_loader(data_dir):
    from zeronlp.datasets import ptb

    corpus, word_to_id, _ = ptb.load_data("train")
    text = (data_dir / "ptb" / "ptb.train.txt").read_text()
    tok = WordTokenizer().train(text)
    assert set(tok.tokens) == set(word_to_id)
    ids = np.array(tok.encode(text[:20000]))
    words = [tok.tokens[i] for i in ids]
    assert words == [w for w in text[:20000].replace("\n", " <eos> ").split()]
