import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

import zeronlp
from zeronlp.cli import main


def test_train_spiral_prints_loss_and_accuracy(capsys):
    assert main(["train", "spiral", "--epochs", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "final loss" in out and "training accuracy" in out


def test_train_spiral_plot(tmp_path, capsys):
    pytest.importorskip("matplotlib")
    png = tmp_path / "loss.png"
    assert main(["train", "spiral", "--epochs", "5", "--quiet", "--plot", str(png)]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG"


def test_module_entry_point_and_version():
    src = str(Path(zeronlp.__file__).parents[1])
    env = {**os.environ, "PYTHONPATH": src + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "zeronlp", "--version"],
        capture_output=True,
        text=True,
        check=True,
        env=env,
    )
    assert out.stdout.startswith("zeronlp ")


def test_unknown_task_is_a_usage_error(capsys):
    with pytest.raises(SystemExit) as e:
        main(["train", "nothing"])
    assert e.value.code == 2


# ---------------------------------------------------------------- seq2seq, language models, vectors


@pytest.fixture
def date_file(tmp_path):
    from zeronlp.datasets import sequence

    path = tmp_path / "date-small.txt"
    path.write_text("".join(line + "\n" for line in sequence.generate_date(600, seed=3)))
    return path


def test_train_date_writes_a_run_then_translate_and_eval(tmp_path, date_file, capsys):
    run = tmp_path / "run"
    argv = [
        "train",
        "date",
        "--data",
        str(date_file),
        "--epochs",
        "2",
        "--hidden",
        "32",
        "--out",
        str(run),
        "--quiet",
    ]
    assert main(argv) == 0
    assert "date test accuracy" in capsys.readouterr().out
    assert {"config.json", "params.npz", "history.json"} <= {p.name for p in run.iterdir()}
    history = json.loads((run / "history.json").read_text())
    assert [h["epoch"] for h in history] == [1, 2] and "acc" in history[-1]
    assert main(["translate", str(run), "september 27, 1994", "--beam", "2"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("september 27, 1994 -> ")
    assert main(["eval", str(run)]) == 0
    assert "test accuracy" in capsys.readouterr().out


def test_translate_unknown_character_is_a_clear_error(tmp_path, date_file, capsys):
    run = tmp_path / "run"
    main(
        [
            "train",
            "date",
            "--data",
            str(date_file),
            "--epochs",
            "1",
            "--hidden",
            "8",
            "--out",
            str(run),
            "--quiet",
        ]
    )
    capsys.readouterr()
    assert main(["translate", str(run), "Zebra 3rd"]) == 2
    err = capsys.readouterr().err
    assert "unknown character(s) ['Z']" in err
    assert main(["translate", str(run), "x" * 40]) == 2
    assert "at most 29 fit" in capsys.readouterr().err


def test_train_refuses_a_non_empty_run_directory(tmp_path, date_file, capsys):
    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "keep.txt").write_text("mine")
    argv = ["train", "date", "--data", str(date_file), "--out", str(tmp_path / "run"), "--quiet"]
    assert main(argv) == 2
    assert "not empty" in capsys.readouterr().err
    assert (tmp_path / "run" / "keep.txt").read_text() == "mine"


def test_missing_run_directory(tmp_path, capsys):
    assert main(["eval", str(tmp_path / "nothing")]) == 2
    assert "no params.npz" in capsys.readouterr().err


def test_train_ptb_small_then_generate(tmp_path, data_dir, capsys):
    run = tmp_path / "lm"
    argv = [
        "train",
        "ptb",
        "--train-size",
        "3000",
        "--eval-size",
        "1000",
        "--epochs",
        "1",
        "--hidden",
        "16",
        "--wordvec",
        "16",
        "--out",
        str(run),
        "--quiet",
    ]
    assert main(argv) == 0
    assert "ptb test perplexity" in capsys.readouterr().out
    assert (
        main(["generate", str(run), "--start", "the meaning of", "--length", "8", "--seed", "0"])
        == 0
    )
    assert capsys.readouterr().out.startswith("the meaning of")
    assert main(["generate", str(run), "--start", "qwertyuiop"]) == 2
    assert "unknown word(s) ['qwertyuiop']" in capsys.readouterr().err


def test_similar_and_analogy_with_the_books_cbow_params(data_dir, capsys):
    pkl = str(data_dir / "book-params" / "cbow_params.pkl")
    assert main(["similar", pkl, "you", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("[query] you")
    assert len(out.strip().splitlines()) == 4
    assert main(["analogy", pkl, "king", "man", "queen"]) == 0
    assert "[analogy] king:man = queen:?" in capsys.readouterr().out


def test_train_word2vec_then_similar(tmp_path, data_dir, capsys):
    run = tmp_path / "w2v"
    argv = ["train", "word2vec", "--epochs", "1", "--hidden", "20", "--out", str(run), "--quiet"]
    assert main(argv) == 0
    assert "take:took = go:?" in capsys.readouterr().out
    assert main(["similar", str(run), "you", "--top", "2"]) == 0
    assert len(capsys.readouterr().out.strip().splitlines()) == 3
    assert main(["similar", str(run), "zzzz"]) == 2
    assert "zzzz" in capsys.readouterr().err
