"""The command line's options beyond the book: top-p sampling, BLEU in eval, schedules."""

import pytest
from conftest import require_book_data

from zeronlp.cli import main


@pytest.fixture(scope="module")
def date_run(tmp_path_factory):
    from zeronlp.datasets import sequence

    root = tmp_path_factory.mktemp("date")
    data = root / "date-small.txt"
    data.write_text("".join(line + "\n" for line in sequence.generate_date(300, seed=3)))
    run = root / "run"
    argv = ["train", "date", "--data", str(data), "--epochs", "1", "--hidden", "8"]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    return run


def _answers(capsys):
    return [line.split(" -> ")[1] for line in capsys.readouterr().out.splitlines()]


def test_translate_samples_with_top_p(date_run, capsys):
    questions = ["september 27, 1994", "JUN 3, 2001"]
    capsys.readouterr()
    assert main(["translate", str(date_run), *questions]) == 0
    greedy = _answers(capsys)
    # a nucleus this small holds only the likeliest character: greedy again
    assert main(["translate", str(date_run), *questions, "--top-p", "1e-9", "--seed", "1"]) == 0
    assert _answers(capsys) == greedy
    hot = ["--temperature", "50", "--top-p", "1", "--seed", "1"]
    assert main(["translate", str(date_run), *questions, *hot]) == 0
    assert _answers(capsys) != greedy  # nearly uniform draws


@pytest.mark.parametrize("value", ["0", "1.5", "-0.2", "nan", "x"])
def test_top_p_outside_0_1_is_a_usage_error(date_run, value, capsys):
    with pytest.raises(SystemExit) as e:
        main(["translate", str(date_run), "june 3, 2001", "--top-p", value])
    assert e.value.code == 2
    assert "--top-p" in capsys.readouterr().err


def test_translate_beam_and_sampling_together_is_a_user_error(date_run, capsys):
    assert main(["translate", str(date_run), "june 3, 2001", "--beam", "2", "--top-p", "0.5"]) == 2
    assert "choose one" in capsys.readouterr().err


def test_generate_with_top_p(tmp_path, capsys):
    require_book_data()
    run = tmp_path / "lm"
    argv = ["train", "ptb", "--train-size", "3000", "--eval-size", "500", "--epochs", "1"]
    argv += ["--hidden", "16", "--wordvec", "16", "--out", str(run), "--quiet"]
    assert main(argv) == 0
    capsys.readouterr()
    base = ["generate", str(run), "--start", "the", "--length", "12"]
    assert main([*base, "--method", "greedy"]) == 0
    greedy = capsys.readouterr().out
    assert main([*base, "--top-p", "1e-9", "--seed", "0"]) == 0
    assert capsys.readouterr().out == greedy
    with pytest.raises(SystemExit) as e:
        main([*base, "--top-p", "2"])
    assert e.value.code == 2


# ---------------------------------------------------------------- --schedule


def _date_train(root, *extra):
    from zeronlp.datasets import sequence

    data = root / "date-small.txt"
    if not data.exists():
        data.write_text("".join(line + "\n" for line in sequence.generate_date(300, seed=3)))
    argv = ["train", "date", "--data", str(data), "--hidden", "8", "--quiet"]
    return [*argv, *extra]


@pytest.mark.parametrize(
    "spec, says",
    [
        ("bogus", "unknown schedule 'bogus'"),
        ("cosine:warmup=x", "warmup"),
        ("step:gamma=-1", "gamma"),
        ("cosine:size=3", "takes key=value options"),
    ],
)
def test_a_bad_schedule_spec_is_one_line_at_parse_time(tmp_path, spec, says, capsys):
    with pytest.raises(SystemExit) as e:
        main(_date_train(tmp_path, "--schedule", spec, "--out", str(tmp_path / "run")))
    assert e.value.code == 2
    err = capsys.readouterr().err
    assert "--schedule" in err and says in err
    assert "Traceback" not in err and not (tmp_path / "run").exists()


@pytest.mark.parametrize(
    "extra, says",
    [
        (["--schedule", "cosine:warmup=100000"], "warmup_steps (100000) must be less"),
        (["--schedule", "plateau"], "ptb runs only"),
        (["--schedule", "cosine", "--lr-factor", "0.5"], "choose one"),
        (["--schedule", "noam"], "d_model"),  # the LSTM models have no width for noam
    ],
)
def test_a_schedule_that_does_not_fit_the_run_is_a_user_error(tmp_path, extra, says, capsys):
    assert main(_date_train(tmp_path, *extra, "--out", str(tmp_path / "run"))) == 2
    err = capsys.readouterr().err
    assert says in err and len(err.strip().splitlines()) == 1


def test_train_date_with_a_cosine_schedule_records_and_draws_the_rate(
    tmp_path, capsys, monkeypatch
):
    import json

    from zeronlp import plot
    from zeronlp.cli.train import load_sequence_task
    from zeronlp.schedules import WarmupCosine

    drawn = []
    monkeypatch.setattr(plot, "plot_history", lambda history, keys, path: drawn.append(keys))
    run = tmp_path / "run"
    argv = _date_train(tmp_path, "--epochs", "2", "--batch-size", "32", "--lr", "0.01")
    assert main([*argv, "--schedule", "cosine:warmup=3,min_lr=0.001", "--out", str(run)]) == 0
    (x_train, _), _, _ = load_sequence_task("date", tmp_path / "date-small.txt")
    steps = len(x_train) // 32
    schedule = WarmupCosine(0.01, 2 * steps, 3, 0.001)
    history = json.loads((run / "history.json").read_text())
    assert [h["lr"] for h in history] == [schedule(steps - 1), schedule(2 * steps - 1)]
    if drawn:  # matplotlib installed: the history picture has a learning-rate panel
        assert drawn[-1] == ["acc", "lr"]


def test_train_ptb_with_the_books_plateau_schedule(tmp_path, capsys):
    import json

    require_book_data()
    run = tmp_path / "lm"
    argv = ["train", "ptb", "--train-size", "2000", "--eval-size", "400", "--epochs", "4"]
    argv += ["--hidden", "8", "--wordvec", "8", "--lr", "100", "--out", str(run), "--quiet"]
    assert main([*argv, "--schedule", "plateau:factor=4"]) == 0
    history = json.loads((run / "history.json").read_text())
    expect, best = 100.0, float("inf")
    for h in history:  # each epoch runs at the rate left by the ones before
        assert h["lr"] == expect
        if h["val_ppl"] >= best:
            expect /= 4
        best = min(best, h["val_ppl"])
    assert history[-1]["lr"] < 100.0  # (at this rate the validation perplexity rises)
    bad = [*argv[:-3], "--quiet", "--schedule", "plateau", "--lr-decay", "4"]
    assert main([*bad, "--out", str(tmp_path / "x")]) == 2
    assert "choose one" in capsys.readouterr().err


def test_lr_decay_divides_on_a_tie_as_the_books_rule(tmp_path):
    """The book's ch06 loop divides the rate unless the perplexity improved (``if best_ppl >
    ppl: ... else: lr /= 4.0``), so a tie divides. A rate too small to move float32
    parameters gives the same validation perplexity every epoch: a tie each time."""
    import json

    require_book_data()
    run = tmp_path / "lm"
    argv = ["train", "ptb", "--train-size", "2000", "--eval-size", "400", "--epochs", "3"]
    argv += ["--hidden", "8", "--wordvec", "8", "--lr", "1e-30", "--lr-decay", "4"]
    assert main([*argv, "--out", str(run), "--quiet"]) == 0
    history = json.loads((run / "history.json").read_text())
    assert len({h["val_ppl"] for h in history}) == 1  # the ties this test is about
    assert [h["lr"] for h in history] == [1e-30, 1e-30 / 4, 1e-30 / 16]


# ---------------------------------------------------------------- BLEU in eval


def test_eval_reports_bleu_of_the_decoded_answers(date_run, capsys, monkeypatch):
    from zeronlp import metrics

    seen = {}
    real = metrics.corpus_bleu

    def spy(hypotheses, references):
        seen["hyp"], seen["ref"] = hypotheses, references
        return real(hypotheses, references)

    monkeypatch.setattr(metrics, "corpus_bleu", spy)
    capsys.readouterr()
    assert main(["eval", str(date_run), "--data", str(date_run.parent / "date-small.txt")]) == 0
    out = capsys.readouterr().out.splitlines()
    acc = float(out[-2].split("accuracy ")[1].split("%")[0]) / 100
    bleu = float(out[-1].split("BLEU ")[1].split()[0])
    hyp, (ref,) = seen["hyp"], seen["ref"]
    assert len(hyp) == len(ref) == 30  # the test tenth of 300 lines
    assert all(r.replace(" ", "")[:2] in ("19", "20") for r in ref)  # "1 9 9 4 - 0 9 - 2 7"
    assert all(len(r.split()) == 10 for r in ref)  # every character a token
    assert acc == sum(h == r for h, r in zip(hyp, ref, strict=True)) / len(ref)
    assert bleu == round(real(hyp, [ref]).score, 2)
    assert 0 <= bleu <= 100


def test_eval_bleu_is_100_for_a_model_that_answers_right(date_run, capsys, monkeypatch):
    import numpy as np

    from zeronlp.cli import runs
    from zeronlp.datasets import sequence
    from zeronlp.models import Seq2seq

    data = str(date_run.parent / "date-small.txt")
    _, _, meta = runs.run_meta(date_run)
    char_to_id = {c: i for i, c in enumerate(meta["vocab"])}
    _, (_, t_test) = sequence.load_data(data, char_to_id=char_to_id)

    def perfect(self, xs, start_id, sample_size, method="greedy", **options):
        return np.asarray(t_test[: len(xs), 1:])  # the right answers (one batch here)

    monkeypatch.setattr(Seq2seq, "generate_batch", perfect)
    capsys.readouterr()
    assert main(["eval", str(date_run), "--data", data]) == 0
    out = capsys.readouterr().out
    assert "accuracy 100.00%" in out and "BLEU 100.00" in out


# ---------------------------------------------------------------- a GPT-style model on BPE tokens


BPE_RUN = ["train", "ptb", "--model", "transformer", "--tokenizer", "bpe", "--vocab-size", "300"]
BPE_RUN += ["--train-size", "3000", "--eval-size", "1000", "--epochs", "1", "--d-model", "16"]
BPE_RUN += ["--layers", "1", "--heads", "2", "--ff", "32", "--time-size", "16"]
BPE_RUN += ["--batch-size", "4", "--quiet"]


def test_train_ptb_with_bpe_tokens_then_generate_and_eval(tmp_path, capsys):
    import json
    import math

    from zeronlp.cli.train import per_word_perplexity
    from zeronlp.tokenizers import BPETokenizer

    require_book_data()
    run = tmp_path / "gpt"
    assert main([*BPE_RUN, "--out", str(run)]) == 0
    out = capsys.readouterr().out
    assert "ptb test perplexity (first 1000 words) per BPE token " in out
    tokenizer = BPETokenizer.load(run / "tokenizer.json")
    assert tokenizer.vocab_size == 300
    last = json.loads((run / "history.json").read_text())[-1]
    n_tokens = int(out.split("words) per BPE token")[1].split("(")[1].split(" tokens")[0])
    assert n_tokens > 1000  # more subword tokens than words
    assert math.isclose(
        last["test_ppl_word"], math.exp(math.log(last["test_ppl"]) * n_tokens / 1000)
    )
    assert last["test_ppl_word"] > last["test_ppl"]
    assert per_word_perplexity(last["test_ppl"], n_tokens, 1000) == last["test_ppl_word"]
    assert main(["generate", str(run), "--start", "the meaning of", "--length", "20"]) == 0
    assert capsys.readouterr().out.startswith("the meaning of")
    assert main(["generate", str(run), "--start", "it is", "--length", "20", "--seed", "3"]) == 0
    text = capsys.readouterr().out
    assert text.startswith("it is") and len(text) > len("it is") + 5  # 19 tokens decoded
    assert main(["eval", str(run), "--split", "valid"]) == 0
    assert capsys.readouterr().out.startswith("validation perplexity per BPE token ")


def test_a_bpe_runs_tokenizer_file_is_checked_as_untrusted(tmp_path, capsys):
    import json

    require_book_data()
    run = tmp_path / "gpt"
    assert main([*BPE_RUN, "--out", str(run)]) == 0
    good = (run / "tokenizer.json").read_text()
    data = json.loads(good)
    bad_files = {
        "a merge from the future": {**data, "merges": [[0, 900]] + data["merges"][1:]},
        "fewer tokens than the model": {**data, "merges": data["merges"][:10]},
        "not json": None,
    }
    for what, content in bad_files.items():
        text = "{oops" if content is None else json.dumps(content)
        (run / "tokenizer.json").write_text(text)
        capsys.readouterr()
        assert main(["generate", str(run), "--length", "3"]) == 2, what
        err = capsys.readouterr().err
        assert len(err.strip().splitlines()) == 1 and "Traceback" not in err, what
        if what == "fewer tokens than the model":
            assert "has 266 tokens but the model 300" in err
    (run / "tokenizer.json").unlink()
    assert main(["eval", str(run)]) == 2
    assert "tokenizer.json, which is missing" in capsys.readouterr().err
    (run / "tokenizer.json").write_text(good)
    assert main(["eval", str(run), "--split", "valid"]) == 0


def test_vocab_size_without_bpe_is_a_user_error(tmp_path, capsys):
    require_book_data()
    argv = ["train", "ptb", "--vocab-size", "500", "--out", str(tmp_path / "r"), "--quiet"]
    assert main(argv) == 2
    assert "--tokenizer bpe" in capsys.readouterr().err
    assert main([*BPE_RUN[:7], "100", *BPE_RUN[8:], "--out", str(tmp_path / "s")]) == 2
    assert "vocab_size" in capsys.readouterr().err
