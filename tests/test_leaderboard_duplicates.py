"""Entry identity and safe ranking: a seed re-run is a new entry, a real duplicate never removes the
original, and rank refuses a missing or empty results folder and touches only its own files."""
from __future__ import annotations

import contextlib
import io
import os
import shutil
import subprocess
from pathlib import Path

from leaderboards.rank import main as rank_main
from leaderboards.validate import validate_file
from test_leaderboard_helpers import make_entry, make_records


def _rank(*args: str) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = rank_main(list(args))
    return code, out.getvalue(), err.getvalue()


def _snapshot(folder: Path) -> dict:
    return {str(p): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


def _duplicate(board: Path, original: str, copy: str, *, older: bool = False) -> Path:
    """Copy an entry under another name; its file time is set after (or, `older`, before) the original's."""
    shutil.copytree(board / original, board / copy)
    target = board / f"{copy}.json"
    text = (board / f"{original}.json").read_text("utf-8").replace(f"{original}/predictions", f"{copy}/predictions")
    target.write_text(text, encoding="utf-8")
    stamp = os.stat(board / f"{original}.json").st_mtime + (-100 if older else 100)
    os.utime(target, (stamp, stamp))
    return target


def test_seed_rerun_is_a_new_entry(tmp_path, keys_dir):
    make_entry(tmp_path / "board", "hybrid-seed0", seed=0)
    rerun = make_entry(tmp_path / "sub", "hybrid-seed1", seed=1)
    report = validate_file(rerun, results_dir=tmp_path / "board", keys_dir=keys_dir)
    assert report.ok and report.verified, report.problems
    same_run = make_entry(tmp_path / "sub2", "hybrid-seed0", seed=0)
    same = validate_file(same_run, results_dir=tmp_path / "board", keys_dir=keys_dir)
    assert not same.ok and "duplicate of" in same.problems[0] and "hybrid-seed0.json" in same.problems[0]


def test_duplicate_never_removes_the_original(tmp_path, keys_dir):
    board, out = tmp_path / "board", tmp_path / "out"
    make_entry(board, "original", level=2)
    make_entry(board, "other", model_id="other-model", level=3)
    _duplicate(board, "original", "aaa-copy")  # sorts first by name, arrived later
    keys = ("--keys-dir", str(keys_dir))
    code, stdout, stderr = _rank("--results-dir", str(board), "--out-dir", str(out), "--no-plots", *keys)
    assert code == 0
    assert "(original)" in stdout and "(other)" in stdout and "(aaa-copy)" not in stdout
    assert f"SKIPPED {board / 'aaa-copy.json'}" in stderr and f"duplicate of {board / 'original.json'}" in stderr
    assert "2 ranked, 1 skipped" in stdout
    code, stdout, _ = _rank("--results-dir", str(board), "--out-dir", str(out), "--no-plots", "--check", *keys)
    assert code == 1 and "1 skipped" in stdout
    # validating each committed file: the earlier stays valid, the later names the earlier
    assert validate_file(board / "original.json", results_dir=board, keys_dir=keys_dir).ok
    later = validate_file(board / "aaa-copy.json", results_dir=board, keys_dir=keys_dir)
    assert not later.ok and str(board / "original.json") in later.problems[0]


def test_git_history_decides_which_duplicate_came_first(tmp_path, keys_dir):
    board = tmp_path / "board"
    make_entry(board, "original")
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.org", "-C", str(tmp_path)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "board"], check=True)
    subprocess.run([*git, "commit", "-qm", "original"], check=True)
    _duplicate(board, "original", "zzz-copy", older=True)  # untracked, even with an older file time
    code, stdout, stderr = _rank("--results-dir", str(board), "--out-dir", str(tmp_path / "out"), "--no-plots",
                                 "--keys-dir", str(keys_dir))
    assert code == 0 and "(original)" in stdout and "zzz-copy.json" in stderr


def test_rank_refuses_missing_or_empty_results(tmp_path, keys_dir):
    out = tmp_path / "out"
    (out / "plots").mkdir(parents=True)
    make_entry(tmp_path / "board", "e")
    assert _rank("--results-dir", str(tmp_path / "board"), "--out-dir", str(out), "--keys-dir", str(keys_dir))[0] == 0
    before = _snapshot(out)
    code, _, stderr = _rank("--results-dir", str(tmp_path / "bord"), "--out-dir", str(out))
    assert code == 2 and stderr.startswith("error: --results-dir") and "no such folder" in stderr
    (tmp_path / "empty").mkdir()
    code, _, stderr = _rank("--results-dir", str(tmp_path / "empty"), "--out-dir", str(out))
    assert code == 2 and "holds no *.json results files" in stderr
    assert _snapshot(out) == before


def test_rank_touches_only_its_own_files(tmp_path, keys_dir):
    out, keys = tmp_path / "out", ("--keys-dir", str(keys_dir))
    make_entry(tmp_path / "full", "e")
    assert _rank("--results-dir", str(tmp_path / "full"), "--out-dir", str(out), *keys)[0] == 0
    (out / "plots" / "mine.png").write_bytes(b"\x89PNG user figure")
    tsum_only = [r for r in make_records(1) if r["task"] == "tsum"]
    make_entry(tmp_path / "partial", "t", model_id="text-only", records=tsum_only)
    assert _rank("--results-dir", str(tmp_path / "partial"), "--out-dir", str(out), *keys)[0] == 0
    assert sorted(p.name for p in (out / "plots").iterdir()) == ["mine.png", "tsum.png"]  # own stale plots gone
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "LEADERBOARD.md").write_text("# my notes\n", encoding="utf-8")
    before = _snapshot(foreign)
    code, _, stderr = _rank("--results-dir", str(tmp_path / "partial"), "--out-dir", str(foreign), *keys)
    assert code == 2 and "was not written by python -m leaderboards.rank" in stderr
    assert _snapshot(foreign) == before


def test_committed_board_is_valid_and_up_to_date():
    """Every committed entry validates against its answer key, none is a duplicate, and the committed
    table and page are what rank writes (plots compared as present, not byte for byte)."""
    code, stdout, stderr = _rank("--check")
    assert code == 0, stderr + stdout
    assert "0 skipped, 0 output(s) out of date" in stdout
