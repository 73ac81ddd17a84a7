"""Date accuracy of the book's ch08 AttentionSeq2seq on zeronlp.book with a parameter file.

    python tools/run_book_scripts.py BOOK_CHECKOUT --keep WORK --only ch08/visualize_attention.py
    ZERONLP_DATA=~/data PYTHONPATH=WORK:WORK/ch08 python tools/book_ch08_accuracy.py \
        WORK/ch08/AttentionSeq2seq.pkl

WORK is the runner's rewritten copy of the book's chapters: the model class is the book's own
(ch08/attention_seq2seq.py, found through PYTHONPATH as the book's scripts find each other),
on zeronlp.book. Every question of the date test set (5,000,
reversed as ch08/train.py reverses them) is answered greedily and compared with
``eval_seq2seq``, as ch08/train.py does after each epoch.
"""

import argparse
import importlib
import time

from zeronlp.book.common.util import eval_seq2seq
from zeronlp.book.dataset import sequence


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("params", help="AttentionSeq2seq.pkl")
    args = parser.parse_args(argv)
    AttentionSeq2seq = importlib.import_module("attention_seq2seq").AttentionSeq2seq

    (_, _), (x_test, t_test) = sequence.load_data("date.txt")
    char_to_id, id_to_char = sequence.get_vocab()
    x_test = x_test[:, ::-1]
    model = AttentionSeq2seq(len(char_to_id), 16, 256)
    model.load_params(args.params)
    start = time.time()
    correct = sum(
        eval_seq2seq(model, x_test[[i]], t_test[[i]], id_to_char) for i in range(len(x_test))
    )
    print(
        f"test acc {100 * correct / len(x_test):.3f}% ({correct} / {len(x_test)}), "
        f"{time.time() - start:.0f} s"
    )


if __name__ == "__main__":
    main()
