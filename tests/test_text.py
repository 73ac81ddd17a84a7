"""Text tools: golden values of the book's chapter 2, equality with the book's loop code, SVD."""

import warnings

import numpy as np
import pytest

from zeronlp import text

BOOK_TEXT = "You say goodbye and I say hello."


# The book's common/util.py loop implementations, for comparison on small inputs.
def book_create_co_matrix(corpus, vocab_size, window_size=1):
    corpus_size = len(corpus)
    co_matrix = np.zeros((vocab_size, vocab_size), dtype=np.int32)
    for idx, word_id in enumerate(corpus):
        for i in range(1, window_size + 1):
            left_idx = idx - i
            right_idx = idx + i
            if left_idx >= 0:
                co_matrix[word_id, corpus[left_idx]] += 1
            if right_idx < corpus_size:
                co_matrix[word_id, corpus[right_idx]] += 1
    return co_matrix


def book_ppmi(C, eps=1e-8):
    M = np.zeros_like(C, dtype=np.float32)
    N = np.sum(C)
    S = np.sum(C, axis=0)
    for i in range(C.shape[0]):
        for j in range(C.shape[1]):
            pmi = np.log2(C[i, j] * N / (S[j] * S[i]) + eps)
            M[i, j] = max(0, pmi)
    return M


def book_create_contexts_target(corpus, window_size=1):
    target = corpus[window_size:-window_size]
    contexts = []
    for idx in range(window_size, len(corpus) - window_size):
        contexts.append([corpus[idx + t] for t in range(-window_size, window_size + 1) if t != 0])
    return np.array(contexts), np.array(target)


@pytest.fixture
def book():
    corpus, word_to_id, id_to_word = text.preprocess(BOOK_TEXT)
    return corpus, word_to_id, id_to_word


# ---------------------------------------------------------------- golden values (book ch02)


def test_preprocess(book):
    corpus, word_to_id, id_to_word = book
    np.testing.assert_array_equal(corpus, [0, 1, 2, 3, 4, 1, 5, 6])
    assert word_to_id == {"you": 0, "say": 1, "goodbye": 2, "and": 3, "i": 4, "hello": 5, ".": 6}
    assert id_to_word == {i: w for w, i in word_to_id.items()}


def test_co_matrix_golden(book):
    corpus, word_to_id, _ = book
    C = text.create_co_matrix(corpus, len(word_to_id))
    expected = [
        [0, 1, 0, 0, 0, 0, 0],
        [1, 0, 1, 0, 1, 1, 0],
        [0, 1, 0, 1, 0, 0, 0],
        [0, 0, 1, 0, 1, 0, 0],
        [0, 1, 0, 1, 0, 0, 0],
        [0, 1, 0, 0, 0, 0, 1],
        [0, 0, 0, 0, 0, 1, 0],
    ]
    assert C.dtype == np.int32
    np.testing.assert_array_equal(C, expected)


def test_cos_similarity_golden(book):
    corpus, word_to_id, _ = book
    C = text.create_co_matrix(corpus, len(word_to_id))
    sim = text.cos_similarity(C[word_to_id["you"]], C[word_to_id["i"]])
    assert sim == pytest.approx(0.7071067691154799, rel=1e-12)  # the book prints this
    np.testing.assert_allclose(
        text.cos_similarity(C[0], C), [text.cos_similarity(C[0], row) for row in C], rtol=1e-12
    )


def test_most_similar_golden(book, capsys):
    corpus, word_to_id, id_to_word = book
    C = text.create_co_matrix(corpus, len(word_to_id))
    result = text.most_similar("you", word_to_id, id_to_word, C, top=5)
    assert [w for w, _ in result] == ["goodbye", "i", "hello", "say", "and"]
    np.testing.assert_allclose([s for _, s in result], [0.7071067691154799] * 3 + [0, 0])
    assert capsys.readouterr().out == ""  # silent unless asked
    text.most_similar("you", word_to_id, id_to_word, C, top=5, verbose=True)
    assert capsys.readouterr().out == (
        "\n[query] you\n goodbye: 0.7071067691154799\n i: 0.7071067691154799\n"
        " hello: 0.7071067691154799\n say: 0.0\n and: 0.0\n"
    )


def test_most_similar_and_analogy_print_float64_digits_for_float32_vectors(capsys):
    # the book's most_similar fills a float64 array; its analogy's str.format prints float64 digits
    word_to_id = {"a": 0, "b": 1, "c": 2, "d": 3}
    id_to_word = {i: w for w, i in word_to_id.items()}
    W = np.array([[1, 0], [1, 1], [0, 1], [0.3, 0.7]], dtype=np.float32)
    text.most_similar("a", word_to_id, id_to_word, W, top=1, verbose=True)
    text.analogy("a", "b", "c", word_to_id, id_to_word, W, top=1, verbose=True)
    assert capsys.readouterr().out == (
        "\n[query] a\n b: 0.7071067690849304\n\n[analogy] a:b = c:?\n d: 0.699999988079071\n"
    )


def test_ppmi_golden(book):
    corpus, word_to_id, _ = book
    C = text.create_co_matrix(corpus, len(word_to_id))
    W = text.ppmi(C)
    expected = [  # the book prints these with precision 3
        [0.0, 1.807, 0.0, 0.0, 0.0, 0.0, 0.0],
        [1.807, 0.0, 0.807, 0.0, 0.807, 0.807, 0.0],
        [0.0, 0.807, 0.0, 1.807, 0.0, 0.0, 0.0],
        [0.0, 0.0, 1.807, 0.0, 1.807, 0.0, 0.0],
        [0.0, 0.807, 0.0, 1.807, 0.0, 0.0, 0.0],
        [0.0, 0.807, 0.0, 0.0, 0.0, 0.0, 2.807],
        [0.0, 0.0, 0.0, 0.0, 0.0, 2.807, 0.0],
    ]
    assert W.dtype == np.float32
    np.testing.assert_allclose(W, expected, atol=5e-4)


# ---------------------------------------------------------------- equality with the book's loops


@pytest.mark.parametrize("window_size", [1, 2, 3])
@pytest.mark.parametrize("seed", [0, 1])
def test_co_matrix_and_ppmi_equal_book_loops(window_size, seed):
    rng = np.random.default_rng(seed)
    V = 30
    corpus = rng.integers(0, V - 3, size=300)  # the last 3 words never occur: zero rows
    C = text.create_co_matrix(corpus, V, window_size)
    np.testing.assert_array_equal(C, book_create_co_matrix(corpus, V, window_size))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # zero counts and zero rows: no divide/log warnings
        M = text.ppmi(C, chunk_rows=7)  # several chunks, the last one partial
    with np.errstate(divide="ignore", invalid="ignore"):
        expected = np.nan_to_num(book_ppmi(C))  # the book's gives NaN -> max(0, nan) rows
    np.testing.assert_allclose(M, expected, rtol=1e-5, atol=1e-5)
    assert not M[V - 3 :].any()


def test_ppmi_verbose_prints_progress(book, capsys):
    corpus, word_to_id, _ = book
    text.ppmi(text.create_co_matrix(corpus, 7), chunk_rows=4)
    assert capsys.readouterr().out == ""
    text.ppmi(text.create_co_matrix(corpus, 7), verbose=True, chunk_rows=4)
    assert capsys.readouterr().out == "57.1% done\n100.0% done\n"


def test_co_matrix_rejects_bad_ids():
    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        text.create_co_matrix(np.array([0, 1, 3]), 3)
    with pytest.raises(ValueError, match="1-D"):
        text.create_co_matrix(np.array([[0, 1]]), 3)


@pytest.mark.parametrize("window_size", [1, 2])
def test_create_contexts_target(book, window_size):
    corpus, _, _ = book
    contexts, target = text.create_contexts_target(corpus, window_size)
    assert contexts.shape == (len(corpus) - 2 * window_size, 2 * window_size)
    assert target.shape == (len(corpus) - 2 * window_size,)
    book_contexts, book_target = book_create_contexts_target(corpus, window_size)
    np.testing.assert_array_equal(contexts, book_contexts)
    np.testing.assert_array_equal(target, book_target)
    if window_size == 1:
        np.testing.assert_array_equal(contexts[:2], [[0, 2], [1, 3]])
        np.testing.assert_array_equal(target, [1, 2, 3, 4, 1, 5])


def test_convert_one_hot(book):
    corpus, _, _ = book
    contexts, target = text.create_contexts_target(corpus)
    t = text.convert_one_hot(target, 7)
    c = text.convert_one_hot(contexts, 7)
    assert t.shape == (6, 7) and c.shape == (6, 2, 7) and t.dtype == c.dtype == np.int32
    np.testing.assert_array_equal(t.argmax(-1), target)
    np.testing.assert_array_equal(c.argmax(-1), contexts)
    assert t.sum() == 6 and c.sum() == 12


# ---------------------------------------------------------------- analogy, errors


def test_analogy_tiny_matrix(capsys):
    words = ["man", "woman", "king", "queen", "apple"]
    word_to_id = {w: i for i, w in enumerate(words)}
    id_to_word = dict(enumerate(words))
    W = np.array(
        [[1, 0, 0], [1, 1, 0], [1, 0, 1], [1, 1, 1], [0, 0, -1]], dtype=np.float32
    )  # gender along axis 1, royalty along axis 2
    result = text.analogy("man", "king", "woman", word_to_id, id_to_word, W, top=2)
    assert [w for w, _ in result] == ["queen", "apple"]
    assert result[0][1] == pytest.approx(np.sqrt(3), rel=1e-6)  # W[queen] . (1,1,1)/sqrt(3)
    assert result[1][1] == pytest.approx(-1 / np.sqrt(3), rel=1e-6)
    assert capsys.readouterr().out == ""
    text.analogy("man", "king", "woman", word_to_id, id_to_word, W, top=1, answer="queen",
                 verbose=True)  # fmt: skip
    assert capsys.readouterr().out == (
        # the book's own mix: str() for the answer, str.format for the list
        "\n[analogy] man:king = woman:?\n==>queen:1.7320508\n queen: 1.7320507764816284\n"
    )


def test_unknown_word_is_a_clear_error(book):
    corpus, word_to_id, id_to_word = book
    C = text.create_co_matrix(corpus, len(word_to_id))
    with pytest.raises(KeyError, match="'xyz' is not in the vocabulary"):
        text.most_similar("xyz", word_to_id, id_to_word, C)
    with pytest.raises(KeyError, match="'xyz' is not in the vocabulary"):
        text.analogy("you", "xyz", "i", word_to_id, id_to_word, C)


def test_normalize():
    x = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    n = text.normalize(x)
    np.testing.assert_allclose(n, [[0.6, 0.8], [0.0, 0.0]])
    assert n.dtype == np.float32 and x[0, 0] == 3.0  # a new array; zero rows stay zero
    np.testing.assert_allclose(text.normalize(np.array([3.0, 4.0])), [0.6, 0.8])


# ---------------------------------------------------------------- SVD


def _matrix_with_spectrum(m, n, s, seed=0):
    rng = np.random.default_rng(seed)
    U, _ = np.linalg.qr(rng.standard_normal((m, len(s))))
    V, _ = np.linalg.qr(rng.standard_normal((n, len(s))))
    return (U * s) @ V.T


def test_randomized_svd_matches_full_svd():
    s = 0.8 ** np.arange(60)
    A = _matrix_with_spectrum(200, 150, s)
    k = 10
    U, S, Vt = text.randomized_svd(A, k, seed=0)
    Uf, Sf, Vtf = np.linalg.svd(A, full_matrices=False)
    np.testing.assert_allclose(S, Sf[:k], rtol=1e-9)
    # same subspaces: the projectors agree
    np.testing.assert_allclose(U @ U.T, Uf[:, :k] @ Uf[:, :k].T, atol=1e-9)
    np.testing.assert_allclose(Vt.T @ Vt, Vtf[:k].T @ Vtf[:k], atol=1e-9)
    np.testing.assert_allclose((U * S) @ Vt, (Uf[:, :k] * Sf[:k]) @ Vtf[:k], atol=1e-9)
    np.testing.assert_allclose(U.T @ U, np.eye(k), atol=1e-12)


def test_randomized_svd_float32_and_deterministic():
    rng = np.random.default_rng(1)
    A = np.abs(rng.standard_normal((300, 300))).astype(np.float32)  # PPMI-like: non-negative
    U1, S1, _ = text.randomized_svd(A, 5, seed=3)
    U2, S2, _ = text.randomized_svd(A, 5, seed=3)
    assert U1.dtype == S1.dtype == np.float32
    np.testing.assert_array_equal(U1, U2)
    Sf = np.linalg.svd(A.astype(np.float64), compute_uv=False)
    np.testing.assert_allclose(S1[0], Sf[0], rtol=1e-5)  # the isolated top value


def test_svd_word_vectors_book_example(book):
    corpus, word_to_id, _ = book
    W = text.ppmi(text.create_co_matrix(corpus, len(word_to_id)))
    full = text.svd_word_vectors(W, dim=2, method="full")
    U, _, _ = np.linalg.svd(W)  # the book's ch02 count_method_small
    np.testing.assert_allclose(full, U[:, :2])
    rand = text.svd_word_vectors(W, dim=2, seed=0)
    assert rand.shape == (7, 2) and rand.dtype == np.float32
    # same subspace as the exact one (singular values 3.17, 3.17 tie, so compare projectors)
    np.testing.assert_allclose(rand @ rand.T, full @ full.T, atol=1e-4)
    with pytest.raises(ValueError, match="method"):
        text.svd_word_vectors(W, method="lanczos")
