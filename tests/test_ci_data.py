"""conftest's data_dir: a test of the book's data skips on a user's machine without the data,
but fails on CI (environment variable CI set), where a skip would pass unnoticed."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import BOOK_DATA_FILES, require_book_data

Skipped, Failed = pytest.skip.Exception, pytest.fail.Exception


@pytest.fixture
def env(monkeypatch):
    """monkeypatch with CI and ZERONLP_DATA unset."""
    monkeypatch.delenv("CI", raising=False)
    monkeypatch.delenv("ZERONLP_DATA", raising=False)
    return monkeypatch


def book_data(folder, leave_out=()):
    """A data folder with (empty) files of every name in BOOK_DATA_FILES but ``leave_out``."""
    for name in BOOK_DATA_FILES:
        if name not in leave_out:
            (folder / name).parent.mkdir(parents=True, exist_ok=True)
            (folder / name).touch()
    return folder


@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_missing_data_skips_off_ci(env, ci):
    if ci is not None:
        env.setenv("CI", ci)
    with pytest.raises(Skipped) as info:
        require_book_data()
    message = str(info.value)
    assert "set ZERONLP_DATA to a folder holding the book's data files" in message
    assert "shared" not in message  # users have no shared folder


@pytest.mark.parametrize("ci", ["true", "1"])
def test_missing_data_fails_on_ci(env, ci):
    env.setenv("CI", ci)
    with pytest.raises(Failed, match="ZERONLP_DATA is not set"):
        require_book_data()


def test_a_folder_that_is_not_there_fails_on_ci(env, tmp_path):
    env.setenv("CI", "true")
    env.setenv("ZERONLP_DATA", str(tmp_path / "nothing"))
    with pytest.raises(Failed, match="is not a directory"):
        require_book_data()


def test_a_missing_file_fails_on_ci_only(env, tmp_path):
    data = book_data(tmp_path / "data", leave_out=["book-params/Rnnlm.pkl"])
    env.setenv("ZERONLP_DATA", str(data))
    assert require_book_data() == data  # the tests that need the file skip on their own
    env.setenv("CI", "true")
    with pytest.raises(Failed, match="lacks book-params/Rnnlm.pkl"):
        require_book_data()


def test_complete_data_passes_on_ci(env, tmp_path):
    data = book_data(tmp_path / "data")
    env.setenv("CI", "true")
    env.setenv("ZERONLP_DATA", str(data))
    assert require_book_data() == data


def test_a_suite_without_data_fails_on_ci(tmp_path):
    """End to end: pytest with this conftest, CI set and no data, exits with an error."""
    suite = tmp_path / "suite"
    suite.mkdir()
    shutil.copy(Path(__file__).with_name("conftest.py"), suite)
    (suite / "test_uses_data.py").write_text("def test_it(data_dir):\n    pass\n")
    environ = {k: v for k, v in os.environ.items() if k != "ZERONLP_DATA"}
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-p",
            "no:cacheprovider",
            "-p",
            "no:hypothesispytest",
            str(suite),
        ],
        cwd=suite,
        env={**environ, "CI": "true"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stdout
    assert "1 error" in result.stdout
    assert "CI is set but the book's data is missing" in result.stdout
