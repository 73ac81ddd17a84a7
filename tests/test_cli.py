import os
import subprocess
import sys
from pathlib import Path

import zeronlp
from zeronlp.cli import main


def test_train_spiral_prints_loss_and_accuracy(capsys):
    assert main(["train", "spiral", "--epochs", "60", "--quiet"]) == 0
    out = capsys.readouterr().out
    assert "final loss" in out and "training accuracy" in out


def test_train_spiral_plot(tmp_path, capsys):
    import pytest

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
    import pytest

    with pytest.raises(SystemExit) as e:
        main(["train", "nothing"])
    assert e.value.code == 2
