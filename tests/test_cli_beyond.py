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
