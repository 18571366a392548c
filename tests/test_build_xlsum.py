"""The xlsum format on a fixture in the XL-Sum release's exact layout (arabic_{train,val,test}.jsonl)."""
from __future__ import annotations

from pathlib import Path

import pyarrow.parquet as pq
import pytest
import yaml

from builders.items import BuildError
from builders.sources import SourceContext, get_format
from builders.sources.xlsum import spoken_document

ROOT = Path(__file__).resolve().parents[1]
FIXTURE = ROOT / "tests" / "data" / "builders" / "xlsum"


def _items(**options):
    ctx = SourceContext()
    spec = {"name": "xlsum", "format": "xlsum", "path": str(FIXTURE), "tasks": ["tsum", "ssum", "asr"], **options}
    return list(get_format("xlsum")(spec, ctx)), ctx


def test_release_split_kept_and_long_bodies_truncated_at_sentences():
    items, ctx = _items()
    by = {it.uid: it for it in items}
    assert by["xlsum-190630_morocco_football"].split == "test"
    assert by["xlsum-180211_lebanon_power"].split == "validation"
    assert by["xlsum-150312_gulf_rain"].split == "train"
    farmers = by["xlsum-140101_egypt_farmers"]
    assert 150 < len(farmers.document.split()) <= 200 and farmers.document.endswith(".")
    assert farmers.summary.startswith("أعلنت الحكومة المصرية") and farmers.audio["segments"] == list(farmers.parts)
    assert ctx.reporter.counts() == {"empty_text": 1}  # the article with an empty summary, reported
    assert ctx.reporter.noted() == {"xlsum": {"truncated_to_max_words": 1}}


def test_truncate_skip_and_bad_options():
    items, ctx = _items(truncate="skip")
    assert "xlsum-140101_egypt_farmers" not in {it.uid for it in items}
    assert ctx.reporter.counts()["document_too_long"] == 1
    assert spoken_document("جملة طويلة جدا هنا.", 2, "sentence")[0] is None
    with pytest.raises(BuildError, match="truncate must be"):
        _items(truncate="words")
    with pytest.raises(BuildError, match="lacks arabic_train.jsonl, arabic_val.jsonl"):
        list(get_format("xlsum")({"name": "x", "format": "xlsum", "path": str(FIXTURE.parent / "mini_corpus")},
                                 SourceContext()))


def test_recipe_is_valid_and_builds_from_the_release_layout(tmp_path):
    from builders.build import build, parse_args
    from builders.sources import load_sources_file

    recipe = yaml.safe_load((ROOT / "recipes" / "xlsum.yaml").read_text(encoding="utf-8"))
    recipe["sources"][0]["path"] = str(FIXTURE)
    (tmp_path / "xlsum.yaml").write_text(yaml.safe_dump(recipe, allow_unicode=True), encoding="utf-8")
    entries, _ = load_sources_file(ROOT / "recipes" / "xlsum.yaml")  # the shipped recipe parses
    assert entries[0]["format"] == "xlsum"
    report = build(parse_args(["--sources", str(tmp_path / "xlsum.yaml"), "--output", str(tmp_path / "out"),
                               "--no-progress", "--config", "multitask"]))
    rows = {s: [r for p in sorted((tmp_path / "out" / "multitask").glob(f"{s}-*.parquet"))
                for r in pq.read_table(p, columns=["id", "task", "transcription", "source_text"]).to_pylist()]
            for s in ("train", "validation", "test")}
    assert {r["id"] for r in rows["test"]} >= {"xlsum-190630_morocco_football-ssum",
                                                  "xlsum-190630_morocco_football-tsum"}
    assert {r["task"] for r in rows["train"]} == {"asr", "ssum", "tsum"}
    tunisia = next(r for r in rows["train"] if r["id"] == "xlsum-160720_tunisia_tourism-ssum")
    assert "2.5" in tunisia["source_text"] and "اثنان فاصلة خمسة مليون" in tunisia["transcription"]
    assert report["adjusted"] == {"xlsum": {"truncated_to_max_words": 1}}
