"""The book's published parameter files give the book's results through zeronlp's API.

The files come from the book's repository (ch06/Rnnlm.pkl, ch08/AttentionSeq2seq.pkl) and
are read from $ZERONLP_DATA/book-params/; the data from $ZERONLP_DATA/ptb/ and
$ZERONLP_DATA/sequence/ (conftest's data_dir: skips without it, fails on CI).
"""

import pytest

from zeronlp.datasets import ptb, sequence
from zeronlp.models import AttentionSeq2seq, Rnnlm
from zeronlp.training import eval_perplexity, seq2seq_accuracy


def test_books_rnnlm_gives_its_ptb_test_perplexity(data_dir):
    # the book's ch06/eval.py: Rnnlm(), its parameters, eval_perplexity on the test split
    # (batch_size=10, time_size=35) from a reset state: 136.08
    model = Rnnlm()
    model.load_params(data_dir / "book-params" / "Rnnlm.pkl")
    corpus, _, _ = ptb.load_data("test")
    model.reset_state()
    assert eval_perplexity(model, corpus) == pytest.approx(136.08, abs=0.01)


def test_books_attention_seq2seq_answers_the_date_test_split(data_dir):
    # the book's ch08/train.py: date.txt split 90/10 with seed 1984, questions reversed,
    # AttentionSeq2seq(vocab, wordvec_size=16, hidden_size=256)
    (_, _), (x_test, t_test), (char_to_id, _) = sequence.load_data(
        data_dir / "sequence" / "date.txt", return_vocab=True
    )
    model = AttentionSeq2seq(len(char_to_id), 16, 256)
    model.load_params(data_dir / "book-params" / "AttentionSeq2seq.pkl")
    assert seq2seq_accuracy(model, x_test[:, ::-1], t_test) >= 0.999
