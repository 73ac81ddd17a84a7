"""Bad input gets a clear ValueError/TypeError naming what was expected and what came."""

import numpy as np
import pytest

from zeronlp.layers import Affine, Embedding, EmbeddingDot, SigmoidWithLoss, SoftmaxWithLoss


@pytest.fixture
def embed():
    return Embedding(np.arange(12.0).reshape(4, 3))


@pytest.mark.parametrize("ids", [4, [0, 4], np.array([[1, 7]])])
def test_embedding_id_too_large(embed, ids):
    with pytest.raises(ValueError, match=r"\[0, 4\).*to [47]"):
        embed.forward(ids)


def test_embedding_negative_id_is_not_wrapped_around(embed):
    with pytest.raises(ValueError, match=r"from -1 to 2"):
        embed.forward([2, -1])


@pytest.mark.parametrize("ids", [1.0, [0.0, 1.0], np.array([1.5]), np.array([True])])
def test_embedding_float_or_bool_ids(embed, ids):
    with pytest.raises(TypeError, match="integers, got dtype"):
        embed.forward(ids)


def test_embedding_backward_wrong_shape(embed):
    embed.forward([0, 1])
    with pytest.raises(ValueError, match=r"\(2, 3\), got \(3, 3\)"):
        embed.backward(np.ones((3, 3)))


def test_embedding_dot_batch_mismatch():
    layer = EmbeddingDot(np.ones((5, 3)))
    with pytest.raises(ValueError, match=r"h of shape \(2, 3\).*\(3, 3\)"):
        layer.forward(np.ones((2, 3)), np.array([0, 1, 2]))


def test_softmax_with_loss_label_out_of_range():
    with pytest.raises(ValueError, match=r"\[0, 3\), got ids from 0 to 3"):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0, 3]))
    with pytest.raises(ValueError, match=r"from -1"):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([-1, 0]))


def test_softmax_with_loss_batch_mismatch():
    with pytest.raises(ValueError, match=r"labels of shape \(3,\).*\(2, 3\)"):
        SoftmaxWithLoss().forward(np.zeros((2, 3)), np.array([0, 1, 2]))


def test_softmax_with_loss_empty_batch():
    with pytest.raises(ValueError, match="empty batch"):
        SoftmaxWithLoss().forward(np.zeros((0, 3)), np.array([], dtype=int))


def test_sigmoid_with_loss_bad_labels():
    with pytest.raises(ValueError, match=r"labels of shape \(3,\).*\(2,\)"):
        SigmoidWithLoss().forward(np.zeros(2), np.array([0, 1, 1]))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        SigmoidWithLoss().forward(np.zeros(2), np.array([0, 2]))


def test_affine_wrong_width():
    layer = Affine(np.ones((4, 2)), np.zeros(2))
    with pytest.raises(ValueError, match=r"\(\.\.\., 4\), got shape \(3, 5\)"):
        layer.forward(np.ones((3, 5)))
    with pytest.raises(TypeError, match="expects an array"):
        layer.forward([[1.0, 2.0, 3.0, 4.0]])


def test_soft_or_malformed_2d_targets_are_refused_not_argmaxed():
    x = np.zeros((2, 3))
    for t in (np.array([[0.2, 0.7, 0.1], [1, 0, 0]]), np.array([[0, 0, 0], [0, 1, 0]]),
              np.array([[1, 1, 0], [0, 1, 0]])):  # fmt: skip
        with pytest.raises(ValueError, match="must be one-hot rows"):
            SoftmaxWithLoss().forward(x, t)
    assert SoftmaxWithLoss().forward(x, np.array([[0, 1, 0], [1, 0, 0]])) > 0


def test_soft_3d_targets_of_time_losses_are_refused_not_argmaxed():
    from zeronlp.fused import TimeAffineSoftmaxWithLoss
    from zeronlp.time_layers import TimeSoftmaxWithLoss

    xs, soft = np.zeros((1, 2, 3)), np.array([[[0.2, 0.7, 0.1], [1, 0, 0]]])
    with pytest.raises(ValueError, match="must be one-hot rows"):
        TimeSoftmaxWithLoss().forward(xs, soft)
    fused = TimeAffineSoftmaxWithLoss(np.zeros((4, 3)), np.zeros(3))
    with pytest.raises(ValueError, match="must be one-hot rows"):
        fused.forward(np.zeros((1, 2, 4)), soft)
    assert TimeSoftmaxWithLoss().forward(xs, np.array([[[0, 1, 0], [1, 0, 0]]])) > 0


@pytest.mark.parametrize("ids", [[0, 3], [-1, 0], [[1, 5]]])
def test_convert_one_hot_refuses_ids_outside_the_vocabulary(ids):
    from zeronlp.text import convert_one_hot

    with pytest.raises(ValueError, match=r"\[0, 3\)"):
        convert_one_hot(np.array(ids), 3)
    assert convert_one_hot(np.array([2, 0]), 3).tolist() == [[0, 0, 1], [1, 0, 0]]


def _user_error_cases():
    from zeronlp import functions, text
    from zeronlp.attention import TimeAttention
    from zeronlp.errors import InputError, InputTypeError
    from zeronlp.models import CBOW, Rnnlm, Seq2seq
    from zeronlp.time_layers import TimeEmbedding, TimeLSTM

    f = np.zeros
    return [
        (InputError, lambda: Embedding(f((4, 3))).forward([4])),
        (InputTypeError, lambda: Embedding(f((4, 3))).forward([1.0])),
        (InputError, lambda: functions.softmax_cross_entropy(f((0, 3)), f(0, int))),
        (InputError, lambda: text.normalize(f((2, 2, 2)))),
        (InputTypeError, lambda: text.convert_one_hot(f(3), 4)),
        (InputError, lambda: TimeEmbedding(f((4, 3))).forward(f(2, int))),
        (InputError, lambda: TimeLSTM(f((3, 8)), f((2, 8)), f(4))),
        (InputTypeError, lambda: TimeLSTM(f((3, 8), int), f((2, 8), int), f(8, int))),
        (InputError, lambda: TimeAttention().forward(f((2, 3, 4)), f((2, 5, 3)))),
        (InputError, lambda: Seq2seq(5, 3, 4).generate(f((1, 2), int), 0, 3, method="x")),
        (InputError, lambda: Rnnlm(5, 3, 4).generate(9)),
        (InputError, lambda: CBOW(1, 3, 1, np.array([0, 0, 0]))),
    ]


@pytest.mark.parametrize("case", range(12))
def test_user_mistakes_raise_zeronlps_user_error_classes(case):
    # the CLI turns exactly these classes into one line and exit 2; except ValueError still works
    error, call = _user_error_cases()[case]
    with pytest.raises(error):
        call()
