"""``interp report`` end to end: files, summary, determinism, bad input."""

import json
import subprocess
import sys

import pytest

from interp import save_model
from interp.cli import main


@pytest.fixture(scope="module")
def planted_dir(tmp_path_factory, planted):
    path = tmp_path_factory.mktemp("planted_model")
    save_model(planted.model, path)
    return path


ARGS = ["--n-seqs", "8", "--seq-len", "12", "--quiet"]


def test_report_writes_three_files_and_prints_a_summary(planted_dir, tmp_path, capsys):
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"), *ARGS]) == 0
    out = capsys.readouterr().out
    assert "induction: 1.0" in out and "previous_token: 0.0" in out
    assert sorted(p.name for p in (tmp_path / "r").iterdir()) == [
        "report.html", "report.json", "report.md"]
    data = json.loads((tmp_path / "r" / "report.json").read_text())
    assert [h["head"] for h in data["heads"]][:2] == ["0.0", "0.1"]
    assert data["settings"]["seed"] == 0 and data["settings"]["n_seqs"] == 8


def test_same_seed_same_report_other_seed_other_numbers(planted_dir, tmp_path):
    for name, seed in (("a", "3"), ("b", "3"), ("c", "4")):
        assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / name),
                     "--seed", seed, *ARGS]) == 0
    for file in ("report.html", "report.json", "report.md"):
        assert (tmp_path / "a" / file).read_bytes() == (tmp_path / "b" / file).read_bytes()
    assert (tmp_path / "a" / "report.json").read_bytes() != (
        tmp_path / "c" / "report.json").read_bytes()


def test_bad_model_exits_2_with_a_clear_message(tmp_path, capsys):
    assert main(["report", "--model", str(tmp_path / "missing"), "--out",
                 str(tmp_path / "r"), "--quiet"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not (tmp_path / "r").exists()


def test_out_is_a_file_exits_2_and_writes_nothing(planted_dir, tmp_path, capsys):
    target = tmp_path / "taken"
    target.write_text("keep me")
    assert main(["report", "--model", str(planted_dir), "--out", str(target), *ARGS]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert target.read_text() == "keep me"


def test_too_long_sequences_exit_2(planted_dir, tmp_path, capsys):
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                 "--seq-len", "40", "--quiet"]) == 2
    assert "context" in capsys.readouterr().err


def test_text_file_needs_text(planted_dir, tmp_path, capsys):
    empty = tmp_path / "empty.txt"
    empty.write_text("\n\n")
    assert main(["report", "--model", str(planted_dir), "--out", str(tmp_path / "r"),
                 "--text", str(empty), *ARGS]) == 2
    assert "holds no text" in capsys.readouterr().err


def test_python_dash_m_entry_point():
    done = subprocess.run([sys.executable, "-m", "interp", "--help"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0 and "report" in done.stdout and "sweep" in done.stdout
