"""Issue 12: outputs never lose a user's files, checks run before work, one error style for every CLI.

Every case runs the real CLI (in-process `main` or a subprocess) and checks the `error:` line, the
exit status 2 and that no user file was removed.
"""
from __future__ import annotations

import json
import os
import re
import stat
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PY = sys.executable


def cli(module: str, *args, cwd=None, env=None, timeout=120) -> subprocess.CompletedProcess:
    full_env = {**os.environ, "PYTHONPATH": str(ROOT), "HF_HUB_OFFLINE": "1", **(env or {})}
    return subprocess.run([PY, "-m", module, *map(str, args)], cwd=cwd or ROOT, env=full_env,
                          capture_output=True, text=True, timeout=timeout)


def error_line(proc: subprocess.CompletedProcess) -> str:
    """The single `error:` line of an expected failure (and no traceback)."""
    assert proc.returncode == 2, (proc.returncode, proc.stderr[-2000:])
    assert "Traceback" not in proc.stderr, proc.stderr[-2000:]
    lines = [ln for ln in proc.stderr.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, proc.stderr
    return lines[0]


def _pairs_source(root: Path, n: int) -> Path:
    """A text-only sources file (text_pairs -> tsum) of n documents: a build with no audio work."""
    from tests.fixtures_data import ARABIC

    root.mkdir(parents=True, exist_ok=True)
    rows = [{"id": f"d{i}", "document": " ".join(ARABIC[(i + k) % len(ARABIC)] for k in range(3)),
             "summary": ARABIC[i % len(ARABIC)]} for i in range(n)]
    (root / "pairs.jsonl").write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    (root / "s.yaml").write_text("sources:\n  - {name: p, format: text_pairs, path: pairs.jsonl, tasks: [tsum]}\n",
                                 encoding="utf-8")
    return root / "s.yaml"


# ---- 1. nothing is lost -------------------------------------------------------------------------

def test_build_refuses_a_folder_of_user_files_cwd_and_a_file(tmp_path):
    from builders.build import main

    mine = tmp_path / "mine"
    mine.mkdir()
    (mine / "thesis.txt").write_text("precious", encoding="utf-8")
    assert main(["--output-dir", str(mine), "--no-progress"]) == 2
    assert (mine / "thesis.txt").read_text(encoding="utf-8") == "precious"
    note = tmp_path / "note.txt"
    note.write_text("keep", encoding="utf-8")
    assert main(["--output-dir", str(note), "--no-progress"]) == 2 and note.read_text(encoding="utf-8") == "keep"
    proc = cli("builders.build", "--output-dir", ".", "--no-progress", cwd=mine)
    assert "current directory" in error_line(proc) and (mine / "thesis.txt").exists()
    proc = cli("builders.build", "--output", "..", "--no-progress", cwd=mine)  # old spelling: warned, same rule
    assert "ancestor" in error_line(proc) and "deprecated" in proc.stderr
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine", "note.txt"]


def test_build_replaces_an_earlier_build_only_with_overwrite_and_normal_permissions(tmp_path):
    from builders.build import main

    source = _pairs_source(tmp_path / "src", 20)
    out = tmp_path / "ds"
    argv = ["--sources", str(source), "--output-dir", str(out), "--no-progress", "--allow-empty-splits"]
    assert main(argv) == 0
    mode = stat.S_IMODE(out.stat().st_mode)
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o777 & ~umask, oct(mode)
    first = json.loads((out / "build_report.json").read_text(encoding="utf-8"))
    assert main(argv) == 2  # an earlier build: refused without --overwrite, untouched
    assert json.loads((out / "build_report.json").read_text(encoding="utf-8")) == first
    assert main([*argv, "--overwrite", "--seed", "1"]) == 0
    assert json.loads((out / "build_report.json").read_text(encoding="utf-8"))["seed"] == 1
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no staging left


def test_build_with_empty_default_split_fails_or_writes_a_loadable_card(tmp_path, capsys):
    import datasets

    from builders.build import main

    source = _pairs_source(tmp_path / "src", 2)
    out = tmp_path / "ds"
    assert main(["--sources", str(source), "--output-dir", str(out), "--no-progress"]) == 2
    err = capsys.readouterr().err
    assert "got no rows" in err and "--allow-empty-splits" in err and not out.exists()
    assert main(["--sources", str(source), "--output-dir", str(out), "--no-progress", "--allow-empty-splits"]) == 0
    loaded = datasets.load_dataset(str(out), cache_dir=str(tmp_path / "hf"))
    assert sum(len(s) for s in loaded.values()) == 2


@pytest.mark.parametrize("args, needle", [
    (["--split-ratios", "0.5", "0.5", "0.5"], "sum to 1"),
    (["--split-ratios", "1.2", "-0.1", "-0.1"], ">= 0"),
    (["--split-ratios", "1", "0", "0"], None),
    (["--max-audio-seconds", "-5"], "must be > 0"),
    (["--max-seconds", "0"], "must be > 0"),
])
def test_build_rejects_nonsense_settings(args, needle, tmp_path, capsys):
    from builders.build import parse_args

    if needle is None:
        assert parse_args(args).split_ratios == [1.0, 0.0, 0.0]
        return
    with pytest.raises(SystemExit) as exc:
        parse_args(args)
    err = capsys.readouterr().err
    assert exc.value.code == 2 and err.count("error: ") == 1 and needle in err


def test_evaluate_never_writes_over_a_run_folder(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "predictions.jsonl").write_text("mine\n", encoding="utf-8")
    proc = cli("benchmark.evaluate", "--output-dir", run, "--data", tmp_path / "nope", timeout=60)
    line = error_line(proc)
    assert "generation.json missing" in line and str(tmp_path / "nope") in line
    assert (run / "predictions.jsonl").read_text(encoding="utf-8") == "mine\n"
    assert not (tmp_path / "nope").exists()  # never built at a non-default path


def test_run_with_a_typo_in_data_path_builds_nothing(tmp_path):
    proc = cli("benchmark.run", "--strategy", "uniform", "--data", tmp_path / "typo", cwd=tmp_path, timeout=60)
    assert "typo: no such folder" in error_line(proc)
    assert list(tmp_path.iterdir()) == []


def test_a_missing_dataset_is_one_line_naming_the_build_command(tmp_path):
    """benchmark/ never builds a dataset as a side effect: run, evaluate and schedule name the build command."""
    for module, args in (("benchmark.run", ["--strategy", "uniform"]), ("benchmark.evaluate", ["--output-dir", "out"]),
                         ("benchmark.schedule", ["--strategy", "tpc", "--max-steps", "2", "--batch-size", "2", "--output", "plan.jsonl"])):
        proc = cli(module, *args, cwd=tmp_path, timeout=60)
        assert "aramega-ssum: no such folder; build it with `python -m builders.build --output-dir aramega-ssum`" \
            in error_line(proc), module
    assert list(tmp_path.iterdir()) == []


def test_benchmark_does_not_import_builders():
    pattern = re.compile(r"^\s*(from|import)\s+builders\b", re.M)
    offenders = [str(p.relative_to(ROOT)) for p in sorted((ROOT / "benchmark").rglob("*.py"))
                 if pattern.search(p.read_text(encoding="utf-8"))]
    assert offenders == []


def test_prepare_failure_leaves_nothing_and_the_retry_works(tmp_path):
    from leaderboards.prepare import main

    board = tmp_path / "board"
    board.mkdir()
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"id": "x", "task": "asr", "prediction": "a", "reference": "b"}\n', encoding="utf-8")
    status = main(["--name", "e1", "--predictions", str(bad), "--results-dir", str(board),
                   "--keys-dir", str(tmp_path / "keys"), "--fingerprint", "0" * 64])
    assert status in (1, 2)
    assert list(board.iterdir()) == []  # nothing blocks the retry


# ---- 2. preflight -------------------------------------------------------------------------------

def test_run_preflight_lists_every_problem_before_loading(tmp_path):
    proc = cli("benchmark.run", "--strategy", "hybrid", "--model", "/nope", "--device", "cuda:7",
               "model.dtype=fp16", "lora.r=-1", "schedule.switch=2", "eval.split=tset", "eval.max_new_tokens=-1",
               "--data", tmp_path / "d", cwd=tmp_path, timeout=60)
    line = error_line(proc)
    for needle in ("lora.r=-1", "schedule.switch=2", "model.dtype='fp16'", "eval.split='tset'",
                   "eval.max_new_tokens=-1", "--device cuda:7", "model '/nope'", "d: no such folder"):
        assert needle in line, (needle, line)
    assert "loaded" not in proc.stderr


def test_run_preflight_checks_every_split_it_reads(mini_dataset, tmp_path):
    import shutil

    data = tmp_path / "data"
    shutil.copytree(mini_dataset, data)
    for shard in (data / "multitask").glob("test-*.parquet"):
        shard.unlink()
    proc = cli("benchmark.run", "--strategy", "uniform", "--data", data, "--output-dir", tmp_path / "r", timeout=60)
    assert "no test-*.parquet" in error_line(proc) and not (tmp_path / "r").exists()


def test_resume_refuses_a_changed_override(tmp_path):
    from benchmark.config import load_config, save_config

    run = tmp_path / "run"
    (run / "checkpoints" / "step-3").mkdir(parents=True)
    (run / "checkpoints" / "step-3" / "state.pt").write_bytes(b"x")
    save_config(load_config("uniform", ["train.lr=2e-4", f"output.dir={run}"]), run / "config.yaml")
    (run / "train_log.jsonl").write_text("", encoding="utf-8")
    proc = cli("benchmark.run", "--strategy", "uniform", "--output-dir", run, "--resume", "train.lr=1e-3",
               "eval.max_per_task=3", cwd=tmp_path, timeout=60)
    line = error_line(proc)
    assert "train.lr was 0.0002" in line and "given 0.001" in line and "eval.max_per_task was 0" in line
    assert (run / "checkpoints" / "step-3" / "state.pt").read_bytes() == b"x"


def test_run_refuses_an_earlier_run_without_resume_or_overwrite(tmp_path):
    run = tmp_path / "run"
    run.mkdir()
    (run / "train_log.jsonl").write_text("{}\n", encoding="utf-8")
    proc = cli("benchmark.run", "--strategy", "uniform", "--output-dir", run, cwd=tmp_path, timeout=60)
    assert "--resume" in error_line(proc) and (run / "train_log.jsonl").read_text(encoding="utf-8") == "{}\n"


def test_ctrl_c_prints_one_line_with_step_and_resume_command(tmp_path):
    from types import SimpleNamespace

    from aramega_ssum.cli import cli_main
    from benchmark.preflight import interrupted

    (tmp_path / "checkpoints" / "step-20").mkdir(parents=True)
    (tmp_path / "checkpoints" / "step-20" / "state.pt").write_bytes(b"x")
    state = SimpleNamespace(run_dir=tmp_path, config={"strategy": "tpc"}, trainer=SimpleNamespace(step=27))

    @cli_main()
    def main(argv=None):
        raise interrupted(state)

    import contextlib
    import io

    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        assert main([]) == 130
    text = err.getvalue().strip()
    assert "\n" not in text and "step 27" in text and "step-20" in text
    assert f"--strategy tpc --output-dir {tmp_path} --resume" in text


# ---- 3. one error style -------------------------------------------------------------------------

def test_score_rejects_empty_reference_and_maps_dialect_aliases(tmp_path):
    path = tmp_path / "p.jsonl"
    path.write_text('{"id": "a", "task": "asr", "prediction": "x", "reference": "  "}\n', encoding="utf-8")
    assert "empty reference" in error_line(cli("benchmark.score", path, "--bootstrap", 0))
    from aramega_ssum.metrics import score_predictions

    recs = [{"id": "a", "task": "asr", "prediction": "كتب", "reference": "كتب", "dialect": "egyptian"},
            {"id": "b", "task": "asr", "prediction": "قرأ", "reference": "كتب", "dialect": "EGY"}]
    per = score_predictions(recs, bootstrap=0)["tasks"]["asr"]["per_dialect"]
    assert list(per) == ["EGY"] and per["EGY"] == pytest.approx(0.5)


def test_compare_and_schedule_errors_are_one_line(tmp_path):
    assert "--bootstrap must be >= 0" in error_line(cli("benchmark.compare", "a", "b", "--bootstrap", "-1"))
    plan = tmp_path / "plan.jsonl"
    plan.write_text("mine\n", encoding="utf-8")
    proc = cli("benchmark.schedule", "--strategy", "tpc", "--max-steps", "2", "--batch-size", "2",
               "--output", plan, "--data", tmp_path)
    assert "exists; pass --overwrite" in error_line(proc) and plan.read_text(encoding="utf-8") == "mine\n"


def test_debug_shows_the_traceback(tmp_path):
    proc = cli("benchmark.compare", tmp_path / "a", tmp_path / "b", env={"ARAMEGA_DEBUG": "1"})
    assert proc.returncode == 2 and "Traceback" in proc.stderr and "error: " in proc.stderr
    proc = cli("benchmark.compare", tmp_path / "a", tmp_path / "b", "--debug")
    assert proc.returncode == 2 and "Traceback" in proc.stderr


def _discover_clis() -> tuple[str, ...]:
    """Every module of the four packages that runs as ``python -m``: a new CLI cannot escape the checks."""
    found = []
    for package in ("aramega_ssum", "builders", "benchmark", "leaderboards"):
        for path in sorted((ROOT / package).rglob("*.py")):
            if '__name__ == "__main__"' in path.read_text(encoding="utf-8"):
                found.append(".".join(path.relative_to(ROOT).with_suffix("").parts))
    return tuple(found)


CLIS = _discover_clis()


def test_the_cli_list_is_complete():
    assert {"builders.build", "benchmark.run", "benchmark.evaluate", "benchmark.pretrain_tiny",
            "leaderboards.prepare"} <= set(CLIS)


def test_every_cli_help_shows_defaults_an_example_and_the_common_flags():
    for module in CLIS:
        proc = cli(module, "--help", timeout=60)
        assert proc.returncode == 0, (module, proc.stderr[-1000:])
        text = proc.stdout
        assert "default" in text and "example" in text.lower(), module
        for flag in ("--verbose", "--quiet", "--debug"):
            assert flag in text, (module, flag)


def test_every_cli_uses_the_shared_error_handler():
    """No CLI prints its own `error:` line or exits with a message: they all go through aramega_ssum.cli."""
    offenders = []
    for module in CLIS:
        path = ROOT / (module.replace(".", "/") + ".py")
        text = path.read_text(encoding="utf-8")
        if not re.search(r"@cli_main\([^)]*\)\ndef main\(", text):
            offenders.append(f"{path}: main is not wrapped by @cli_main")
        for needle in ('print(f"error:', 'print("error:', "raise SystemExit(f", 'raise SystemExit("', "return 2\n"):
            if needle in text:
                offenders.append(f"{path}: {needle.strip()}")
    assert offenders == []
