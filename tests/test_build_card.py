"""The dataset card: Hub sections, YAML that `datasets` reads, and the repo's dataset_card.md in sync."""
from __future__ import annotations

from pathlib import Path

import yaml

from aramega_ssum.dataset import read_build_report
from builders.card import render_card

ROOT = Path(__file__).resolve().parents[1]
SECTIONS = ("## Tasks of the multitask mix", "## Construction", "## Schema", "## Splits and statistics",
            "## Usage", "## Licences and redistribution", "## Limitations", "## Citation")


def test_card_sections_and_yaml(embedded_dataset):
    card = render_card(read_build_report(embedded_dataset))
    for section in SECTIONS:
        assert section in card
    for needle in ("reimplementation", "Common Voice", "LDC", "espeak-ng", "facebook/mms-tts-ara", "2601.12494"):
        assert needle in card
    meta = yaml.safe_load(card.split("---\n")[1])
    info = {c["config_name"]: c for c in meta["dataset_info"]}
    assert info["ssum"]["features"][1] == {"name": "audio", "dtype": {"audio": {"sampling_rate": 16000}}}
    assert all(s["num_examples"] > 0 for s in info["multitask"]["splits"])
    assert not any("num_bytes" in s for c in info.values() for s in c["splits"])  # encoder-specific: not in the card
    report = read_build_report(embedded_dataset)
    assert all(report["fingerprints"][c] in card for c in ("ssum", "multitask"))


def test_repo_dataset_card_matches_the_embedded_build(embedded_dataset):
    expected = render_card(read_build_report(embedded_dataset))
    actual = (ROOT / "dataset_card.md").read_text(encoding="utf-8")
    assert actual == expected, ("dataset_card.md is stale: python -m builders.build --output aramega-ssum && "
                                "python -m builders.card --report aramega-ssum/build_report.json")
