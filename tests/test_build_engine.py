"""--engine ray gives the same content as --engine local; size-capped shards load with datasets."""
from __future__ import annotations

import re

import pyarrow.parquet as pq
import pytest

from aramega_ssum.dataset import fingerprint
from aramega_ssum.schema import CONFIGS
from builders.build import build, parse_args


def test_ray_engine_builds_the_embedded_corpus_with_the_local_content(embedded_dataset, ray_local, tmp_path):
    """The embedded default (built by `--engine local --num-proc 2`) rebuilt with a local 2-CPU Ray."""
    out = tmp_path / "aramega-ssum"
    report = build(parse_args(["--output", str(out), "--seed", "0", "--no-progress", "--engine", "ray",
                               "--num-proc", "2"]))
    assert report["timing"]["engine"] == "ray"
    for config in CONFIGS:
        assert fingerprint(out, config) == fingerprint(embedded_dataset, config), config


def test_max_shard_size_splits_into_named_shards_that_datasets_reads(mini_corpus_dir, tmp_path):
    import datasets

    out = tmp_path / "aramega-ssum"
    report = build(parse_args(["--output", str(out), "--corpus-dir", str(mini_corpus_dir), "--no-progress",
                               "--config", "multitask", "--max-shard-size", "96KB"]))
    files = sorted(p.name for p in (out / "multitask").glob("train-*.parquet"))
    assert len(files) >= 3 and all(re.fullmatch(rf"train-\d{{5}}-of-{len(files):05d}\.parquet", f) for f in files)
    assert files == report["configs"]["multitask"]["splits"]["train"]["files"]
    sizes = [pq.ParquetFile(out / "multitask" / f).metadata.num_rows for f in files]
    rows = report["configs"]["multitask"]["splits"]["train"]["rows"]
    assert sum(sizes) == rows and min(sizes) > 0
    loaded = datasets.load_dataset(str(out), "multitask", split="train", cache_dir=str(tmp_path / "cache"))
    assert len(loaded) == rows
    streamed = datasets.load_dataset(str(out), "multitask", split="train", streaming=True)
    assert sum(1 for _ in streamed.select_columns(["id"])) == rows
    with pytest.raises(SystemExit):
        parse_args(["--max-shard-size", "lots"])


def test_ray_summarizer_stage_matches_the_local_summarizer(ray_local, tmp_path):
    from builders.engine_ray import RaySummarizer
    from builders.summarize import Summarizer
    from replicas import instruct_lm

    model = str(instruct_lm(tmp_path / "hf"))
    texts = ["ذهب الطالب إلى المكتبة", "قرأت الخبر في الجريدة صباح اليوم", "الجو بارد"]
    local = Summarizer(model, batch_size=2, max_new_tokens=4, progress=False)
    remote = RaySummarizer(model, batch_size=2, max_new_tokens=4)
    assert remote.generate(texts) == local.generate(texts)
    assert remote.stats == local.stats and remote.stats["summary_cut"] == 3
