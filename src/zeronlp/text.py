"""Text tools of the book's ``common/util.py`` (chapters 2-4), vectorized, plus SVD word vectors.

preprocess, create_co_matrix, cos_similarity, most_similar, ppmi, create_contexts_target,
convert_one_hot, normalize, analogy, and ``randomized_svd``/``svd_word_vectors`` (Halko et al.
2011, pure NumPy). Names, arguments and conventions are the book's; ``most_similar`` and
``analogy`` return ``[(word, score), ...]`` and print (in the book's format) only with
``verbose=True``. No function loops in Python over words or matrix cells, and only
``preprocess`` over vocabulary entries (to build its dictionaries): the co-occurrence matrix,
PPMI and SVD work at the scale of the full PTB training split (timings in
docs/datasets_text.md).
"""

from __future__ import annotations

import numpy as np

from .errors import InputError, InputTypeError

# ---------------------------------------------------------------- corpus


def preprocess(text: str):
    """Lower-case, split '.' off words, and number words by first appearance.

    text: str -> corpus (n_words,) int64, word_to_id, id_to_word.
    "You say goodbye and I say hello." -> [0 1 2 3 4 1 5 6]. Words are split at any
    whitespace (the book splits at single spaces, which makes '' a word on double spaces).
    """
    words = text.lower().replace(".", " .").split()
    uniq = dict.fromkeys(words)  # first appearance order, like the book's loop
    word_to_id = {w: i for i, w in enumerate(uniq)}
    id_to_word = dict(enumerate(uniq))
    corpus = np.fromiter(map(word_to_id.__getitem__, words), dtype=np.int64, count=len(words))
    return corpus, word_to_id, id_to_word


def _as_corpus(corpus, vocab_size=None):
    corpus = np.asarray(corpus)
    if corpus.ndim != 1 or not np.issubdtype(corpus.dtype, np.integer):
        raise InputError(
            f"corpus must be a 1-D array of int word ids, got shape {corpus.shape} "
            f"dtype {corpus.dtype}"
        )
    if vocab_size is not None and corpus.size and (corpus.min() < 0 or corpus.max() >= vocab_size):
        raise InputError(
            f"word ids must lie in [0, {vocab_size}) (vocab_size), "
            f"got ids from {corpus.min()} to {corpus.max()}"
        )
    return corpus


def create_co_matrix(corpus, vocab_size: int, window_size: int = 1):
    """Co-occurrence counts within ``window_size`` words on each side.

    corpus: (n,) int ids -> C (vocab_size, vocab_size) int32, symmetric;
    C[w, c] = number of times word c occurs within the window of an occurrence of w.
    """
    corpus = _as_corpus(corpus, vocab_size)
    V = int(vocab_size)
    # flat cell ids center * V + context; int32 when they fit: half the bytes for the sort
    corpus = corpus.astype(np.int32 if V * V < 2**31 else np.int64)
    keys = []
    for d in range(1, window_size + 1):  # offsets only; every pair at offset d in one shift
        center, context = corpus[d:], corpus[:-d]
        keys += [center * V + context, context * V + center]
    C = np.zeros((V, V), dtype=np.int32)
    if keys:
        # sort-based counting of flat cell ids: bincount(minlength=V*V) would build a second,
        # int64 (V, V) array, and np.add.at is slower than this on PTB.
        cells, counts = np.unique(np.concatenate(keys), return_counts=True)
        C.reshape(-1)[cells] = counts
    return C


def create_contexts_target(corpus, window_size: int = 1):
    """Contexts and targets for word2vec (CBOW/skip-gram).

    corpus: (n,) int ids -> contexts (n - 2w, 2w) and target (n - 2w,), same dtype as corpus;
    contexts[k] are the w words before and the w words after target[k].
    """
    corpus = _as_corpus(corpus)
    if corpus.size <= 2 * window_size:
        raise InputError(
            f"corpus of {corpus.size} words is too short for window_size={window_size}"
        )
    windows = np.lib.stride_tricks.sliding_window_view(corpus, 2 * window_size + 1)
    contexts = np.delete(windows, window_size, axis=1)  # a copy without the center column
    target = corpus[window_size:-window_size].copy()
    return contexts, target


def convert_one_hot(corpus, vocab_size: int):
    """Ids to one-hot rows: (N,) -> (N, V) int32, or (N, C) -> (N, C, V) int32.

    Ids outside [0, vocab_size) are refused (InputError, a ValueError), non-integer ids too
    (InputTypeError, a TypeError).
    """
    corpus = np.asarray(corpus)
    if corpus.ndim not in (1, 2):
        raise InputError(f"corpus must be 1-D or 2-D ids, got shape {corpus.shape}")
    if corpus.size and not np.issubdtype(corpus.dtype, np.integer):
        raise InputTypeError(f"convert_one_hot needs integer ids, got dtype {corpus.dtype}")
    if corpus.size and (corpus.min() < 0 or corpus.max() >= vocab_size):
        # put_along_axis would wrap -1 to the last word and fail on V with a bare IndexError
        raise InputError(
            f"ids must lie in [0, {vocab_size}), got ids from {corpus.min()} to {corpus.max()}"
        )
    one_hot = np.zeros(corpus.shape + (vocab_size,), dtype=np.int32)
    np.put_along_axis(one_hot, corpus[..., None], 1, axis=-1)
    return one_hot


# ---------------------------------------------------------------- similarity


def cos_similarity(x, y, eps: float = 1e-8):
    """Cosine similarity as the book: x/(|x|+eps) . y/(|y|+eps).

    x: (D,); y: (D,) -> scalar, or y: (N, D) -> (N,) similarities of x with each row.
    """
    x, y = np.asarray(x), np.asarray(y)
    nx = x / (np.sqrt(np.sum(x**2)) + eps)
    ny = y / (np.sqrt(np.sum(y**2, axis=-1, keepdims=True)) + eps)
    return ny @ nx


def normalize(x):
    """Rows (or a vector) scaled to unit L2 norm; a new array (the book's works in place).

    x: (D,) or (N, D) -> same shape. All-zero rows stay zero instead of becoming NaN.
    """
    x = np.asarray(x)
    if x.ndim not in (1, 2):
        raise InputError(f"normalize expects a vector or a matrix, got shape {x.shape}")
    s = np.sqrt(np.sum(x * x, axis=-1, keepdims=True))
    return x / np.where(s == 0, 1, s).astype(x.dtype, copy=False)


def _word_id(word, word_to_id):
    if word not in word_to_id:
        raise KeyError(f"{word!r} is not in the vocabulary")
    return word_to_id[word]


def _print_scores(result, line):
    # The book's most_similar stores the similarities in a float64 array and prints them with
    # '%s'; its analogy prints the matrix's dtype with str.format, which NumPy formats with
    # float64 digits too. So both print the float64 digits of each score (0.7071067691154799).
    for word, score in result:
        print(line(word, float(score)))


def _top(similarity, id_to_word, skip_ids, top):
    order = np.argsort(-similarity, kind="stable")  # stable: ties keep id order
    order = order[~np.isin(order, list(skip_ids)) & ~np.isnan(similarity[order])]
    return [(id_to_word[int(i)], float(similarity[i])) for i in order[:top]]


def most_similar(query, word_to_id, id_to_word, word_matrix, top=5, verbose=False):
    """The ``top`` words whose vectors are closest (cosine) to the query word's.

    word_matrix: (V, D). Returns [(word, similarity), ...], best first, without the query.
    verbose=True also prints them as the book does. Raises KeyError for an unknown word.
    """
    query_id = _word_id(query, word_to_id)
    W = np.asarray(word_matrix)
    similarity = cos_similarity(W[query_id], W)
    result = _top(similarity, id_to_word, {query_id}, top)
    if verbose:
        print("\n[query] " + query)
        _print_scores(result, lambda w, s: f" {w}: {s!s}")
    return result


def analogy(a, b, c, word_to_id, id_to_word, word_matrix, top=5, answer=None, verbose=False):
    """Words d with a : b = c : d, by the vector b - a + c (the book's ``analogy``).

    word_matrix: (V, D). The score of word i is word_matrix[i] . normalize(b - a + c), as the
    book computes it: pass ``normalize(word_matrix)`` for cosine scores. Returns
    [(word, score), ...] without a, b, c; verbose=True prints them (and the score of
    ``answer`` when given) in the book's format. Raises KeyError for an unknown word.
    """
    ids = [_word_id(w, word_to_id) for w in (a, b, c)]
    W = np.asarray(word_matrix)
    query_vec = normalize(W[ids[1]] - W[ids[0]] + W[ids[2]])
    similarity = W @ query_vec
    result = _top(similarity, id_to_word, set(ids), top)
    if verbose:
        print("\n[analogy] " + a + ":" + b + " = " + c + ":?")
        if answer is not None:
            print("==>" + answer + ":" + str(similarity[_word_id(answer, word_to_id)]))
        _print_scores(result, " {0}: {1}".format)
    return result


# ---------------------------------------------------------------- PPMI and SVD


def ppmi(C, verbose: bool = False, eps: float = 1e-8, chunk_rows: int = 1024):
    """Positive pointwise mutual information of a co-occurrence matrix, in float32.

    C: (V, V) counts -> M (V, V) float32, M[i, j] = max(0, log2(C[i,j] N / (S[i] S[j]) + eps))
    with N = C.sum() and S = C.sum(axis=0), the book's formula. Zero counts give 0 (log2 of
    eps is negative), words that never occur give 0 rows, without warnings. Rows are done in
    chunks so temporaries stay small; verbose prints the book's '%.1f%% done' per chunk.
    """
    C = np.asarray(C)
    if C.ndim != 2 or C.shape[0] != C.shape[1]:
        raise InputError(f"C must be a square (V, V) matrix, got shape {C.shape}")
    N = float(C.sum(dtype=np.float64))
    S = C.sum(axis=0, dtype=np.float64)
    # 1 / S with 0 for unseen words: their C entries are all 0, so their PMI terms become
    # log2(0 + eps) < 0 -> 0, instead of 0 / 0.
    inv_s = np.divide(1.0, S, out=np.zeros_like(S), where=S > 0)
    col_scale = inv_s.astype(np.float32)
    row_scale = (N * inv_s).astype(np.float32)
    M = np.empty(C.shape, dtype=np.float32)
    eps32 = np.float32(eps)
    for start in range(0, C.shape[0], chunk_rows):  # chunks of rows, not cells
        block = M[start : start + chunk_rows]
        np.multiply(C[start : start + chunk_rows], col_scale, out=block, dtype=np.float32)
        block *= row_scale[start : start + chunk_rows, None]
        block += eps32
        np.log2(block, out=block)
        np.maximum(block, 0, out=block)
        if verbose:
            print("%.1f%% done" % (100 * min(start + chunk_rows, C.shape[0]) / C.shape[0]))
    return M


def randomized_svd(M, n_components: int, n_oversamples: int = 10, n_iter: int = 5, seed=None):
    """Truncated SVD by random projection with power iterations (Halko, Martinsson, Tropp 2011).

    M: (m, n) -> U (m, k), S (k,), Vt (k, n) with k = n_components, the leading singular
    triplets, in M's float dtype (float32 stays float32). Each of the ``n_iter`` power
    iterations multiplies by M M^T, sharpening the spectrum, and is re-orthonormalized (QR) so
    the small directions are not lost to rounding. Signs are fixed so each column of U has
    its largest-magnitude entry positive, making the result deterministic for a seed.
    """
    M = np.asarray(M)
    if M.ndim != 2:
        raise InputError(f"M must be a matrix, got shape {M.shape}")
    if not np.issubdtype(M.dtype, np.floating):
        M = M.astype(np.float32)
    k = int(n_components)
    if not 0 < k <= min(M.shape):
        raise InputError(f"n_components must be in 1..{min(M.shape)}, got {n_components}")
    rank = min(k + n_oversamples, min(M.shape))
    rng = np.random.default_rng(seed)
    omega = rng.standard_normal((M.shape[1], rank)).astype(M.dtype)
    Q, _ = np.linalg.qr(M @ omega)
    for _ in range(n_iter):
        Q, _ = np.linalg.qr(M.T @ Q)
        Q, _ = np.linalg.qr(M @ Q)
    B = Q.T @ M  # (rank, n): M restricted to the found subspace
    Ub, S, Vt = np.linalg.svd(B, full_matrices=False)
    U = Q @ Ub[:, :k]
    S, Vt = S[:k], Vt[:k]
    signs = np.sign(U[np.argmax(np.abs(U), axis=0), np.arange(k)])
    signs[signs == 0] = 1
    return U * signs, S, Vt * signs[:, None]


def svd_word_vectors(M, dim: int = 100, method: str = "randomized", seed=0, n_iter: int = 5):
    """Word vectors from the SVD of a (PPMI) matrix, as the book: the first ``dim`` columns of U.

    M: (V, V) -> (V, dim). method='randomized' (fast, the book's ch02 count_method_big uses
    sklearn's randomized_svd with n_iter=5) or 'full' (np.linalg.svd; O(V^3), small V only).
    """
    if method == "randomized":
        U, _, _ = randomized_svd(M, dim, n_iter=n_iter, seed=seed)
        return U
    if method == "full":
        U, _, _ = np.linalg.svd(np.asarray(M), full_matrices=False)
        return U[:, :dim]
    raise InputError(f"method must be 'randomized' or 'full', got {method!r}")
