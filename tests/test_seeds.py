"""The printed values of the learners' notebooks 000 and 001, reproduced exactly."""

import numpy as np

from zeronlp.layers import Embedding, EmbeddingDot


def test_seed000_row_gather():
    W = np.arange(21).reshape(7, 3)
    out = Embedding(W).forward(np.array([1, 0, 3, 0]))
    np.testing.assert_array_equal(out, [[3, 4, 5], [0, 1, 2], [9, 10, 11], [0, 1, 2]])


def test_seed000_embedding_list_ids_and_backward_returns_none():
    embed = Embedding(np.arange(21).reshape(7, 3))
    out = embed.forward([0, 1, 3])
    np.testing.assert_array_equal(out, [[0, 1, 2], [3, 4, 5], [9, 10, 11]])
    assert embed.backward(np.array([[1, 2, 3], [4, 5, 6], [7, 8, 9]])) is None


def test_seed000_integer_weights_repeated_ids():
    W_in = np.arange(1, 13).reshape(4, 3)
    emb = Embedding(W_in)
    h = emb.forward(np.array([2, 0, 3, 0]))
    np.testing.assert_array_equal(h, [[7, 8, 9], [1, 2, 3], [10, 11, 12], [1, 2, 3]])
    emb.backward(np.array([[0, 1, 1], [1, 0, 1], [1, 1, 0], [1, 1, 1]]))
    assert emb.grads[0].dtype.kind == "i"
    np.testing.assert_array_equal(emb.grads[0], [[2, 1, 2], [0, 0, 0], [0, 1, 1], [1, 1, 0]])


def test_seed000_embedding_dot_on_a_transposed_weight_view():
    W_out = np.arange(1, 13).reshape(3, 4)
    h = np.array([[0, -1, 1], [-1, 0, 1], [-1, -1, 1]])
    ED = EmbeddingDot(W_out.T)
    np.testing.assert_array_equal(ED.forward(h, np.array([2, 0, 0])), [4, 8, 3])
    dh = ED.backward(np.array([1, 2, 3]))
    np.testing.assert_array_equal(dh, [[3, 7, 11], [2, 10, 18], [3, 15, 27]])
    np.testing.assert_array_equal(ED.grads[0], [[-5, -3, 5], [0, 0, 0], [0, -1, 1], [0, 0, 0]])


def test_seed001_single_int_id_gives_a_1d_gradient_row():
    embed_W = np.random.randn(10, 3)
    emb = Embedding(embed_W)
    out = emb.forward(2)
    np.testing.assert_array_equal(out, embed_W[2])
    emb.backward(np.arange(3))
    expected = np.zeros((10, 3))
    expected[2] = [0.0, 1.0, 2.0]
    np.testing.assert_array_equal(emb.grads[0], expected)


def test_seed001_backward_zeroes_the_previous_gradient():
    emb = Embedding(np.zeros((4, 2)))
    emb.forward(1)
    emb.backward(np.ones(2))
    emb.forward(3)
    emb.backward(np.ones(2))
    np.testing.assert_array_equal(emb.grads[0], [[0, 0], [0, 0], [0, 0], [1, 1]])
