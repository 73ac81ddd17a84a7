"""Datasets: PTB (real data, and download logic against a fake server on 127.0.0.1), sequence
datasets (book files and generated ones), file helpers. The internet is never used."""

import hashlib
import http.server
import os
import re
import threading
from datetime import date, datetime
from pathlib import Path

import numpy as np
import pytest

from zeronlp.datasets import DatasetNotFoundError, DataWarning, ptb, sequence
from zeronlp.datasets._files import cache_dir
from zeronlp.io import atomic_write_text

# ---------------------------------------------------------------- fixtures


@pytest.fixture
def real_data(data_dir):
    """$ZERONLP_DATA as a Path (conftest's data_dir: skips when unset, fails on CI)."""
    return data_dir


@pytest.fixture
def cache(tmp_path, monkeypatch):
    """An empty cache directory, and no $ZERONLP_DATA: the fresh-machine situation."""
    monkeypatch.setenv("ZERONLP_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("ZERONLP_DATA", raising=False)
    monkeypatch.delenv("ZERONLP_OFFLINE", raising=False)
    return tmp_path / "cache"


def files_in(folder):
    return sorted(p.name for p in Path(folder).rglob("*") if p.is_file())


# ---------------------------------------------------------------- PTB, real data


@pytest.mark.parametrize(
    "split, n_tokens", [("train", 929_589), ("valid", 73_760), ("val", 73_760), ("test", 82_430)]
)
def test_ptb_token_counts(real_data, split, n_tokens):
    corpus, word_to_id, id_to_word = ptb.load_data(split)
    assert corpus.shape == (n_tokens,)
    assert np.issubdtype(corpus.dtype, np.integer)
    assert len(word_to_id) == len(id_to_word) == 10_000
    # every training word occurs in train; valid/test use a subset of the training ids
    assert corpus.min() >= 0 and corpus.max() < 10_000
    if split == "train":
        assert set(np.unique(corpus)) == set(range(10_000))


def test_ptb_matches_book_conventions(real_data):
    corpus, word_to_id, id_to_word = ptb.load_data("train")
    # the book: ids by first appearance, '\n' -> '<eos>'
    assert [id_to_word[i] for i in range(3)] == ["aer", "banknote", "berlitz"]
    assert list(corpus[:3]) == [0, 1, 2]
    with open(real_data / "ptb" / "ptb.train.txt") as f:
        first_lines = [next(f).split() for _ in range(2)]
    n0 = len(first_lines[0])
    assert id_to_word[corpus[n0]] == "<eos>"
    assert [id_to_word[i] for i in corpus[n0 + 1 : n0 + 1 + len(first_lines[1])]] == first_lines[1]
    assert all(word_to_id[id_to_word[i]] == i for i in range(10_000))
    test_corpus, w2i, _ = ptb.load_data("test")
    assert w2i == word_to_id  # valid/test use the training vocabulary


def test_ptb_bad_split():
    with pytest.raises(ValueError, match="'train'"):
        ptb.load_data("training")


# ---------------------------------------------------------------- download logic (offline)


class _Server:
    """HTTP server on 127.0.0.1 serving {path: body}; 'truncate' paths send half the body."""

    def __init__(self):
        self.files, self.truncate, self.hits = {}, set(), []
        server = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                server.hits.append(self.path)
                body = server.files.get(self.path)
                if body is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                if self.path in server.truncate:
                    self.wfile.write(body[: len(body) // 2])  # then the connection closes
                else:
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = http.server.HTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    def close(self):
        self.httpd.shutdown()
        self.httpd.server_close()


FAKE_PTB = {
    "ptb.train.txt": b" the cat sat \n on the mat \n",
    "ptb.valid.txt": b" the mat \n",
    "ptb.test.txt": b" cat sat on \n",
}


@pytest.fixture
def server(cache, monkeypatch):
    """A fake PTB host: ptb.BASE_URL points at it, REGISTRY holds the fake files' hashes."""
    srv = _Server()
    for name, body in FAKE_PTB.items():
        srv.files["/data/" + name] = body
    monkeypatch.setattr(ptb, "BASE_URL", srv.url + "data/")
    monkeypatch.setattr(
        ptb, "REGISTRY", {n: hashlib.sha256(b).hexdigest() for n, b in FAKE_PTB.items()}
    )
    yield srv
    srv.close()


def test_download_good_hash(server, cache):
    corpus, word_to_id, id_to_word = ptb.load_data("train")
    assert list(corpus) == [0, 1, 2, 3, 4, 0, 5, 3]
    assert id_to_word[3] == "<eos>"
    assert (cache / "ptb" / "ptb.train.txt").read_bytes() == FAKE_PTB["ptb.train.txt"]
    assert files_in(cache) == ["ptb.train.txt"]
    test_corpus, _, _ = ptb.load_data("test")
    assert [id_to_word[i] for i in test_corpus] == ["cat", "sat", "on", "<eos>"]
    assert files_in(cache) == ["ptb.test.txt", "ptb.train.txt"]
    hits = len(server.hits)
    ptb.load_data("train")  # cached now: no new request
    assert len(server.hits) == hits


def test_download_bad_hash_leaves_cache_clean(server, cache, monkeypatch):
    monkeypatch.setitem(ptb.REGISTRY, "ptb.train.txt", "0" * 64)
    with pytest.raises(ValueError, match="hash"):
        ptb.load_data("train")
    assert files_in(cache) == []


def test_interrupted_download_leaves_cache_clean(server, cache):
    server.truncate.add("/data/ptb.train.txt")
    with pytest.raises(DatasetNotFoundError, match="ptb.train.txt"):
        ptb.load_data("train")
    assert server.hits == ["/data/ptb.train.txt"]  # the transfer started, then broke
    assert files_in(cache) == []


def test_corrupt_cached_file_is_downloaded_again(server, cache):
    (cache / "ptb").mkdir(parents=True)
    (cache / "ptb" / "ptb.train.txt").write_bytes(b" half a fi")
    corpus, _, _ = ptb.load_data("train")
    assert len(corpus) == 8
    assert (cache / "ptb" / "ptb.train.txt").read_bytes() == FAKE_PTB["ptb.train.txt"]


def test_data_dir_comes_first(server, cache, tmp_path, monkeypatch):
    (tmp_path / "data" / "ptb").mkdir(parents=True)
    (tmp_path / "data" / "ptb" / "ptb.train.txt").write_bytes(b" a b \n")
    monkeypatch.setenv("ZERONLP_DATA", str(tmp_path / "data"))
    with pytest.warns(DataWarning, match=r"ptb.train.txt has SHA-256 .* not the published"):
        corpus, word_to_id, _ = ptb.load_data("train")  # a user's own file: used, with a warning
    assert list(word_to_id) == ["a", "b", "<eos>"]
    assert server.hits == [] and files_in(cache) == []


def _closed_port_url():
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}/data/"  # nothing listens there any more


def test_offline_not_found_message(cache, monkeypatch, tmp_path):
    monkeypatch.setenv("ZERONLP_DATA", str(tmp_path / "data"))
    url = _closed_port_url()
    monkeypatch.setattr(ptb, "BASE_URL", url)
    with pytest.raises(FileNotFoundError) as info:
        ptb.load_data("valid")
    msg = str(info.value)
    assert isinstance(info.value, DatasetNotFoundError)
    assert "ptb.valid.txt" in msg
    assert str(tmp_path / "data" / "ptb") in msg and str(cache / "ptb") in msg
    assert url + "ptb.valid.txt" in msg
    assert "Put ptb.valid.txt in" in msg
    assert files_in(cache) == []


def test_offline_env_never_downloads(server, cache, monkeypatch):
    monkeypatch.setenv("ZERONLP_OFFLINE", "1")
    with pytest.raises(DatasetNotFoundError, match="ZERONLP_OFFLINE"):
        ptb.load_data("train")
    assert server.hits == []


def test_cache_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("ZERONLP_CACHE", str(tmp_path / "c"))
    assert cache_dir() == tmp_path / "c"
    monkeypatch.delenv("ZERONLP_CACHE")
    assert cache_dir().name == "zeronlp"


def test_atomic_write_text_leaves_nothing_on_failure(tmp_path, monkeypatch):
    target = tmp_path / "d" / "out.txt"
    atomic_write_text(target, "ok\n")
    assert target.read_text() == "ok\n" and files_in(tmp_path) == ["out.txt"]

    def fail(src, dst):
        raise OSError("disk full")

    monkeypatch.setattr(os, "replace", fail)
    with pytest.raises(OSError, match="disk full"):
        atomic_write_text(target, "new\n")
    assert target.read_text() == "ok\n" and files_in(tmp_path) == ["out.txt"]


# ---------------------------------------------------------------- sequence: the book's loader


def book_load_data(path, seed=1984):
    """The book's dataset/sequence.py load_data (its global vocab made local), for comparison."""
    char_to_id = {}
    questions, answers = [], []
    for line in open(path):
        idx = line.find("_")
        questions.append(line[:idx])
        answers.append(line[idx:-1])
    for q, a in zip(questions, answers, strict=True):
        for char in list(q) + list(a):
            if char not in char_to_id:
                char_to_id[char] = len(char_to_id)
    x = np.zeros((len(questions), len(questions[0])), dtype=int)
    t = np.zeros((len(questions), len(answers[0])), dtype=int)
    for i, sentence in enumerate(questions):
        x[i] = [char_to_id[c] for c in list(sentence)]
    for i, sentence in enumerate(answers):
        t[i] = [char_to_id[c] for c in list(sentence)]
    indices = np.arange(len(x))
    rs = np.random.get_state()
    np.random.seed(seed)
    np.random.shuffle(indices)
    np.random.set_state(rs)
    x, t = x[indices], t[indices]
    split_at = len(x) - len(x) // 10
    return ((x[:split_at], t[:split_at]), (x[split_at:], t[split_at:])), char_to_id


@pytest.mark.parametrize(
    "name, shapes",
    [("addition.txt", ((7, 5))), ("date.txt", (29, 11)), ("date", (29, 11))],
)
def test_sequence_book_files_equal_book_loader(real_data, name, shapes):
    fname = name if name.endswith(".txt") else name + ".txt"
    (xb, tb), (xbt, tbt) = book_load_data(real_data / "sequence" / fname)[0]
    (x, t), (xt, tt), (c2i, i2c) = sequence.load_data(name, return_vocab=True)
    assert x.shape == (45_000, shapes[0]) and t.shape == (45_000, shapes[1])
    assert xt.shape == (5_000, shapes[0]) and tt.shape == (5_000, shapes[1])
    for ours, book in [(x, xb), (t, tb), (xt, xbt), (tt, tbt)]:
        np.testing.assert_array_equal(ours, book)
    assert c2i == book_load_data(real_data / "sequence" / fname)[1]
    assert all(c2i[i2c[i]] == i for i in i2c)


def test_book_files_win_over_generated(real_data, monkeypatch, tmp_path):
    monkeypatch.setenv("ZERONLP_CACHE", str(tmp_path))
    (x, _), _ = sequence.load_data("addition")
    assert files_in(tmp_path) == []  # nothing generated
    first = open(real_data / "sequence" / "addition.txt").read(12)
    # x rows are shuffled; the book's first line must be somewhere among train + test
    char_to_id, id_to_char = sequence.get_vocab()
    (x, t), (xt, tt) = sequence.load_data("addition", seed=None)
    rows = {"".join(id_to_char[i] for i in np.r_[q, a]) for q, a in zip(x, t, strict=True)}
    rows |= {"".join(id_to_char[i] for i in np.r_[q, a]) for q, a in zip(xt, tt, strict=True)}
    assert first in rows


# ---------------------------------------------------------------- sequence: generated data


def test_generated_shapes_and_cache(cache):
    (x, t), (xt, tt) = sequence.load_data("addition.txt")
    assert (x.shape, t.shape, xt.shape, tt.shape) == ((45000, 7), (45000, 5), (5000, 7), (5000, 5))
    (x, t), (xt, tt) = sequence.load_data("date.txt")
    assert (x.shape, t.shape, xt.shape, tt.shape) == (
        (45000, 29),
        (45000, 11),
        (5000, 29),
        (5000, 11),
    )
    names = files_in(cache)
    assert len(names) == 2 and all(
        re.fullmatch(r"\w+-generated-v\d+-n50000-seed\d+\.txt", n) for n in names
    )
    # the cached file is reused: same arrays, file untouched
    mtimes = [p.stat().st_mtime_ns for p in sorted((cache / "sequence").iterdir())]
    (x2, t2), _ = sequence.load_data("date")
    np.testing.assert_array_equal(x2, x)
    assert [p.stat().st_mtime_ns for p in sorted((cache / "sequence").iterdir())] == mtimes


def test_generators_deterministic():
    assert sequence.generate_addition(500, seed=3) == sequence.generate_addition(500, seed=3)
    assert sequence.generate_addition(500, seed=3) != sequence.generate_addition(500, seed=4)
    assert sequence.generate_date(500, seed=3) == sequence.generate_date(500, seed=3)
    assert sequence.generate_date(500, seed=3) != sequence.generate_date(500, seed=4)


def test_generate_addition_format():
    lines = sequence.generate_addition(5000, seed=0)
    pairs = set()
    n_digits = np.zeros(4, int)
    for line in lines:
        assert len(line) == 12 and line[7] == "_"
        m = re.fullmatch(r"(\d{1,3})\+(\d{1,3}) *_(\d{1,4}) *", line)
        assert m, line
        a, b, s = (int(g) for g in m.groups())
        assert a + b == s and m.group(1) == str(a) and m.group(3) == str(s)
        assert line[:7] == f"{a}+{b}".ljust(7) and line[7:] == f"_{s}".ljust(5)
        pairs.add((min(a, b), max(a, b)))
        n_digits[len(str(a))] += 1
    assert len(pairs) == len(lines)  # no pair twice, as in the book's file
    # digit counts drawn uniformly as in the book's file (about 10% / 32% / 58%)
    assert n_digits[1] < n_digits[2] < n_digits[3]


DATE_FORMATS = ["%m/%d/%y", "%b %d, %Y", "%B %d, %Y", "%A, %B %d, %Y"]


def _parse_date(q):
    for fmt in DATE_FORMATS:
        try:
            d = datetime.strptime(q, fmt).date()
        except ValueError:
            continue
        if fmt == "%m/%d/%y":  # the book writes 8/19/03, not 08/19/03
            assert q == f"{d.month}/{d.day}/{d:%y}"
        return d, fmt
    raise AssertionError(f"unknown date format {q!r}")


def test_generate_date_format():
    lines = sequence.generate_date(4000, seed=0)
    seen_formats, seen_cases = set(), set()
    for line in lines:
        assert len(line) == 40 and line[29] == "_"
        q, a = line[:29].rstrip(), line[30:]
        d, fmt = _parse_date(q)
        assert d == date.fromisoformat(a) and line[29:] == f"_{d:%Y-%m-%d}"
        assert date(1970, 1, 1) <= d <= date(2017, 7, 24)
        seen_formats.add(fmt)
        if fmt != "%m/%d/%y":
            assert q in (q.title(), q.lower(), q.upper())
            seen_cases.add("upper" if q.isupper() else "lower" if q.islower() else "title")
    assert seen_formats == set(DATE_FORMATS)
    assert seen_cases == {"upper", "lower", "title"}
    for example in ["september 27, 1994", "8/19/03", "TUESDAY, SEPTEMBER 25, 1984"]:
        _parse_date(example)  # the book's spellings parse with the same formats


def test_book_date_file_formats_are_the_generated_ones(real_data):
    with open(real_data / "sequence" / "date.txt") as f:
        for line in f:
            q, a = line.rstrip("\n").split("_")
            assert _parse_date(q.rstrip())[0] == date.fromisoformat(a)


def test_vocab_per_dataset(cache):
    *_, (add_c2i, _) = sequence.load_data("addition", return_vocab=True)
    *_, (date_c2i, _) = sequence.load_data("date", return_vocab=True)
    assert sequence.get_vocab()[0] == date_c2i  # the most recently loaded, as the book
    *_, (add_again, _) = sequence.load_data("addition", return_vocab=True)
    assert add_again == add_c2i  # not merged with the date vocabulary
    assert len(add_c2i) == 13 and "a" not in add_c2i
    assert sequence.get_vocab()[0] == add_c2i


def test_load_from_path_and_ids_by_first_appearance(tmp_path):
    path = tmp_path / "tiny.txt"
    path.write_text("ab_c\nba_a\nca_b\n")
    (x, t), (xt, tt), (c2i, i2c) = sequence.load_data(str(path), seed=None, return_vocab=True)
    assert c2i == {"a": 0, "b": 1, "_": 2, "c": 3}
    assert i2c == {0: "a", 1: "b", 2: "_", 3: "c"}
    assert x.shape == (3, 2) and t.shape == (3, 2) and xt.shape == (0, 2)


def test_only_newline_ends_a_line(tmp_path):
    path = tmp_path / "ff.txt"
    path.write_text("a\x0c_1\nb\u2028_2\n", encoding="utf-8")
    (x, t), _, (c2i, _) = sequence.load_data(path, seed=None, return_vocab=True)
    assert x.shape == (2, 2) and "\x0c" in c2i and "\u2028" in c2i


def test_split_equals_book_shuffle(tmp_path):
    path = tmp_path / "twenty.txt"
    path.write_text("".join(f"{i:02d}_{i % 7}\n" for i in range(20)))
    (x, t), (xt, tt) = sequence.load_data(path, seed=7)
    ((xb, tb), (xbt, tbt)), _ = book_load_data(path, seed=7)
    for ours, book in [(x, xb), (t, tb), (xt, xbt), (tt, tbt)]:
        np.testing.assert_array_equal(ours, book)
    assert x.shape == (18, 2) and xt.shape == (2, 2)


def test_load_data_leaves_global_rng_alone(tmp_path):
    path = tmp_path / "f.txt"
    path.write_text("1_2\n3_4\n")
    np.random.seed(5)
    expected = np.random.rand()
    np.random.seed(5)
    sequence.load_data(path)
    assert np.random.rand() == expected


def test_sequence_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.txt"):
        sequence.load_data(tmp_path / "nope.txt")
    ragged = tmp_path / "ragged.txt"
    ragged.write_text("12_3\n1_23\n")
    with pytest.raises(ValueError, match="line 2"):
        sequence.load_data(ragged)
