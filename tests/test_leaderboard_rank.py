"""python -m leaderboards.rank: ranking, aggregate score, skipped entries, the table, page and plots."""
from __future__ import annotations

import contextlib
import io
import json
import re
from types import SimpleNamespace

import pytest

from leaderboards.entries import aggregate_score, task_score
from leaderboards.rank import main
from test_leaderboard_helpers import make_entry, make_records

ARABIC = "نموذج|عربي"  # a '|' that must not break the Markdown table


@pytest.fixture(scope="module")
def board(tmp_path_factory, keys_dir):
    """results/: two complete entries, a partial one (tsum only), an Arabic-named zero-shot entry
    and two invalid files; out/: what rank writes."""
    results = tmp_path_factory.mktemp("results")
    make_entry(results, "tiny-hybrid", strategy="hybrid", level=2)
    make_entry(results, "tiny-uniform", strategy="uniform", level=3)
    make_entry(results, "arabic-zero", model_id=ARABIC, strategy=None, level=0)
    make_entry(results, "partial-tsum", model_id="text-only", strategy="tpc",
               records=[r for r in make_records(0) if r["task"] == "tsum"])
    bad = json.loads((results / "tiny-uniform.json").read_text("utf-8"))
    bad["metrics"]["asr"]["wer"] = 0.0  # claims a perfect WER its predictions do not support
    bad["model"]["id"] = "cheater"
    (results / "cheater.json").write_text(json.dumps(bad), encoding="utf-8")
    (results / "broken.json").write_bytes(b"\xff\xfe not json")
    out = tmp_path_factory.mktemp("out")
    return results, out, keys_dir


@pytest.fixture(scope="module")
def ranked(board):
    """Run the CLI entry point in-process, capturing stdout and stderr."""
    results, out, keys = board
    stdout, stderr = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(stdout), contextlib.redirect_stderr(stderr):
        code = main(["--results-dir", str(results), "--output-dir", str(out), "--keys-dir", str(keys)])
    assert code == 0, stderr.getvalue()
    return SimpleNamespace(stdout=stdout.getvalue(), stderr=stderr.getvalue()), out


def test_aggregate_definition():
    metrics = {"asr": {"wer": 1.7}, "ssum": {"rougeL": 0.5}, "tsum": {"rougeL": 0.25},
               "dialect": {"macro_f1": 0.4}, "emotion": {"macro_f1": 0.6}}
    assert task_score("asr", {"wer": 1.7}) == 0.0 and task_score("asr", {"wer": 0.2}) == pytest.approx(0.8)
    assert aggregate_score(metrics) == pytest.approx((0 + 0.5 + 0.25 + 0.4 + 0.6) / 5)
    assert aggregate_score({}) is None


def test_invalid_entries_are_skipped_and_reported(ranked):
    run, _ = ranked
    assert "SKIPPED" in run.stderr and "cheater.json" in run.stderr and "broken.json" in run.stderr
    assert "metrics.asr.wer: recorded 0.0 but the predictions give" in run.stderr
    assert "(file): not valid UTF-8" in run.stderr
    assert "4 ranked, 2 skipped" in run.stdout


def test_ranking_order_and_markdown(ranked):
    run, out = ranked
    lines = [line for line in run.stdout.splitlines() if re.match(r"\s*\d+  (\d\.\d{4}|n/a)  ", line)]
    names = [line.rsplit("(", 1)[1].rstrip(")") for line in lines]
    assert names == ["arabic-zero", "tiny-uniform", "tiny-hybrid", "partial-tsum"]  # partial entry last
    md = (out / "LEADERBOARD.md").read_text("utf-8")
    rows = [line for line in md.splitlines() if line.startswith("| ") and not line.startswith("| Rank")]
    assert len(rows) == 4 and all(row.count(" | ") == 10 for row in rows)  # 11 columns, '|' escaped
    assert rows[0].startswith("| 1 | <bdi>نموذج&#124;عربي</bdi> (embedded) | zero-shot | 0.9333 |")  # <bdi> only for RTL
    assert "0.000 [0.000, 0.000] ★" in rows[0]  # the best WER, and a 0 is a number, not a blank
    assert "0.100 [0.033, 0.167] ▼" in rows[2]  # CI of the hybrid entry's WER; worse than the best
    assert rows[3].split(" | ")[4] == "—"  # partial entry: no ASR
    assert "None" not in md and "<bdi>tiny</bdi>" not in md and "&#95;" not in md
    assert "Aggregate = mean over the tasks" in md and "not comparable to the paper" in md
    assert "(#entry-tiny-hybrid)" in md and '<a id="entry-tiny-hybrid"></a>' in md
    assert "cheater" not in md


def test_page_and_plots_written(ranked):
    _, out = ranked
    page = (out / "index.html").read_text("utf-8")
    assert page.count("<tr id=\"row-") == 4 and "cheater" not in page
    assert "<bdi>نموذج|عربي</bdi>" in page and 'dir="auto"' in page
    assert not re.search(r"(src|href)=\"(https?:)?//", page)  # no external assets
    plots = sorted(p.name for p in (out / "plots").iterdir())
    assert plots == ["asr.png", "dialect.png", "emotion.png", "ssum.png", "tsum.png"]
    assert all((out / "plots" / p).read_bytes().startswith(b"\x89PNG") for p in plots)


def test_output_is_deterministic(board, ranked, tmp_path):
    results, out, keys = board
    assert main(["--results-dir", str(results), "--output-dir", str(tmp_path), "--keys-dir", str(keys)]) == 0
    for name in ("LEADERBOARD.md", "plots/asr.png"):
        assert (tmp_path / name).read_bytes() == (out / name).read_bytes(), name
    # index.html links are relative to its own folder; the rest is identical
    strip = lambda text: re.sub(r'href="[^"#]*"', "", text)  # noqa: E731
    assert strip((tmp_path / "index.html").read_text("utf-8")) == strip((out / "index.html").read_text("utf-8"))
    assert main(["--results-dir", str(results), "--output-dir", str(tmp_path), "--keys-dir", str(keys), "--strict",
                 "--no-plots"]) == 1


def test_ties_share_a_rank(tmp_path, keys_dir):
    make_entry(tmp_path, "a", model_id="model-a", level=2)
    make_entry(tmp_path, "b", model_id="model-b", level=2)
    out = tmp_path / "out"
    assert main(["--results-dir", str(tmp_path), "--output-dir", str(out), "--no-plots", "--strict",
                 "--keys-dir", str(keys_dir)]) == 0
    md = (out / "LEADERBOARD.md").read_text("utf-8")
    assert "| 1 | model-a (embedded) |" in md and "| 1 | model-b (embedded) |" in md
    assert not (out / "plots").exists()


def test_submitted_text_is_escaped(tmp_path, keys_dir):
    make_entry(tmp_path, "xss", model_id='<script>alert(1)</script> [x](javascript:y) | *b*')
    out = tmp_path / "out"
    assert main(["--results-dir", str(tmp_path), "--output-dir", str(out), "--no-plots", "--strict",
                 "--keys-dir", str(keys_dir)]) == 0
    page = (out / "index.html").read_text("utf-8")
    assert "<script>alert" not in page and "&lt;script&gt;alert(1)&lt;/script&gt;" in page
    md = (out / "LEADERBOARD.md").read_text("utf-8")
    assert "<script>" not in md and "](javascript" not in md and "&#60;script&#62;" in md and "&#124;" in md


def test_plots_one_bar_per_entry_stable_colours_and_zero_stub(tmp_path, keys_dir):
    from leaderboards.entries import load_entries
    from leaderboards.plots import bars, colours

    make_entry(tmp_path, "z-best", model_id="zeta", strategy="hybrid", level=0)
    make_entry(tmp_path, "a-worse", model_id="alpha", strategy="hybrid", level=3)
    zero = [dict(r, prediction="") if r["task"] == "tsum" else r for r in make_records(1)]
    make_entry(tmp_path, "m-zero", model_id="mu", strategy="tpc", records=zero)
    entries, rejected = load_entries(tmp_path, keys_dir)
    assert not rejected
    palette = colours(entries)
    assert palette["zeta"] != palette["alpha"] != palette["mu"]
    assert list(palette) == [e.data["model"]["id"] for e in entries]  # ranking order, not alphabetical
    for task in ("asr", "tsum", "emotion"):
        specs = bars(task, entries, palette)
        assert sorted(b["label"] for b in specs) == ["alpha", "mu", "zeta"]  # one bar each, own tick
        assert {b["label"]: b["colour"] for b in specs} == {m: palette[m] for m in ("alpha", "mu", "zeta")}
    tsum = {b["label"]: b for b in bars("tsum", entries, palette)}
    assert tsum["mu"]["value"] == 0.0 and tsum["mu"]["length"] > 0  # 0 is drawn as a stub


def test_seeds_of_one_system_are_summarized(tmp_path, keys_dir):
    make_entry(tmp_path, "hybrid-seed0", model_id="org/m", strategy="hybrid", level=2, seed=0)
    make_entry(tmp_path, "hybrid-seed1", model_id="org/m", strategy="hybrid", level=3, seed=1)
    out = tmp_path / "out"
    assert main(["--results-dir", str(tmp_path), "--output-dir", str(out), "--no-plots", "--strict",
                 "--keys-dir", str(keys_dir)]) == 0
    md = (out / "LEADERBOARD.md").read_text("utf-8")
    section = md.split("## Systems with several seeds", 1)[1].split("## Details", 1)[0]
    row = next(line for line in section.splitlines() if line.startswith("| org/m"))
    assert "| hybrid | 0, 1 |" in row and " ± " in row and "(n=2)" in row
