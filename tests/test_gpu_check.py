"""benchmarks/gpu_check.py works apart from its CuPy calls: its --cpu dry run, on NumPy."""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import require_book_data

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"


@pytest.fixture(scope="module")
def gpu_check():
    spec = importlib.util.spec_from_file_location("gpu_check", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_dry_run_measures_every_case_and_writes_the_report(gpu_check, tmp_path, monkeypatch):
    pytest.importorskip("torch")
    monkeypatch.setattr(gpu_check, "environment", dict)  # probed in the test below
    argv = ["--cpu", "--in-process", "--no-tests", "--no-ptb", "--seconds", "0.05"]
    assert gpu_check.main([*argv, "--out", str(tmp_path)]) == 0
    report = json.loads((tmp_path / "report.json").read_text())
    assert report["cpu_mode"] and set(report["throughput"]) == set(gpu_check.FULL)
    for case, row in report["throughput"].items():
        assert row["zeronlp_tokens_per_s"] > 0 and row["torch_tokens_per_s"] > 0, case
        assert row["ratio"] > 0 and not row["errors"], case
        for side in ("zeronlp", "torch"):
            assert all(r["finite"] for r in report["raw"][case][side]), (case, side)
    text = (tmp_path / "report.md").read_text()
    assert "CPU dry run" in text and "better_rnnlm (tiny sizes)" in text and ">= 0.5" in text


def test_a_worker_process_reports_json():
    env = dict(os.environ, PYTHONPATH=str(SCRIPT.parents[1] / "src"))
    cmd = [sys.executable, str(SCRIPT), "--worker", "cbow:zeronlp", "--cpu", "--seconds", "0.05"]
    out = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["case"] == "cbow" and result["tokens_per_s"] > 0 and result["finite"]


def test_ptb_stage_trains_and_evaluates(gpu_check):
    require_book_data()
    result = gpu_check.ptb_epoch(gpu=False, seconds=0.5, tiny=True)
    assert 0 < result["steps"] < result["steps_per_epoch"]
    assert 1 < result["val_perplexity"] < 10001 and result["epoch_s_extrapolated"] > 0


def test_without_cupy_the_gpu_run_says_so(gpu_check, tmp_path, capsys):
    if importlib.util.find_spec("cupy") is not None:
        pytest.skip("CuPy is installed")
    assert gpu_check.main(["--no-tests", "--out", str(tmp_path)]) == 2
    out = capsys.readouterr()
    assert "CuPy is not available" in out.err
    env = json.loads(out.out.split("environment:", 1)[1])  # the probe ran and reported
    assert env["numpy"] and env["cupy"].startswith("unavailable")
