"""The dataset card: YAML front matter (configs, features, splits) plus prose and generated statistics.

Examples::

    python -m builders.card --report aramega-ssum/build_report.json --output dataset_card.md

The build writes the same card as the output folder's README.md, where the YAML ``configs:`` make
``load_dataset("aramega-ssum")`` (ssum, default) and ``load_dataset("aramega-ssum", "multitask")``
work offline.
"""
from __future__ import annotations

import argparse
from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from pathlib import Path

import yaml

from aramega_ssum.schema import CONFIGS, SPLITS, TASKS, markdown_table
from aramega_ssum.tasks import get_task
from builders.card_text import CITATION, CONSTRUCTION, LICENCES, LIMITATIONS, SUMMARY, USAGE
from builders.report import read_report
from builders.writer import features_yaml


def default_config(report: dict) -> str:
    """The card's default config: ssum when it has rows, else the first built config with rows."""
    built = [c for c in CONFIGS if c in report["configs"]]
    with_rows = [c for c in built if report["configs"][c]["rows"]]
    return "ssum" if "ssum" in with_rows else (with_rows or built)[0]


def front_matter(report: dict) -> dict:
    """The card's YAML metadata: configs with data_files, and dataset_info with features and splits."""
    built = [c for c in CONFIGS if c in report["configs"]]
    configs, infos = [], []
    for config in built:
        entry = {"config_name": config}
        if config == default_config(report):
            entry["default"] = True
        splits = report["configs"][config]["splits"]
        present = [s for s in SPLITS if splits[s]["rows"]] or list(SPLITS)  # empty splits (--allow-empty-splits) left out
        entry["data_files"] = [{"split": s, "path": f"{config}/{s}-*.parquet"} for s in present]
        configs.append(entry)
        infos.append({"config_name": config, "features": features_yaml(config),
                      "splits": [{"name": s, "num_examples": splits[s]["rows"]} for s in present]})
    rows = max(info["rows"] for info in report["configs"].values())
    sizes = ((1_000, "n<1K"), (10_000, "1K<n<10K"), (100_000, "10K<n<100K"), (1_000_000, "100K<n<1M"))
    size = next((name for limit, name in sizes if rows < limit), "n>1M")
    embedded_only = all(s.get("format") == "embedded" for s in report["sources"])
    return {
        "language": ["ar", "en"], "license": "apache-2.0" if embedded_only else "other",
        "pretty_name": "AraMega-SSum (reimplementation)", "size_categories": [size],
        "task_categories": ["automatic-speech-recognition", "summarization", "audio-classification"],
        "tags": ["speech-summarization", "arabic", "dialect-identification", "emotion-recognition",
                 "synthetic-speech"],
        "configs": configs, "dataset_info": infos,
    }


def _split_table(report: dict) -> str:
    lines = ["| config | split | rows | hours | rows per task |", "|---|---|---:|---:|---|"]
    for config, info in report["configs"].items():
        for split in SPLITS:
            s = info["splits"][split]
            tasks = ", ".join(f"{t} {n}" for t, n in s["tasks"].items()) or "-"
            lines.append(f"| {config} | {split} | {s['rows']} | {s['hours']:.3f} | {tasks} |")
    return "\n".join(lines)


def _label_table(report: dict) -> str:
    info = report["configs"].get("multitask")
    if not info:
        return "(the multitask config was not built)"
    lines = ["| task | label | " + " | ".join(SPLITS) + " |", "|---|---|" + "---:|" * len(SPLITS)]
    for task in ("dialect", "emotion"):
        for label in get_task(task).labels:
            counts = [info["splits"][s]["labels"].get(task, {}).get(label, 0) for s in SPLITS]
            lines.append(f"| {task} | {label} | " + " | ".join(map(str, counts)) + " |")
    return "\n".join(lines)


def _skips(report: dict) -> str:
    skipped = report["skipped"]
    if not skipped["total"]:
        return "No input was skipped."
    reasons = ", ".join(f"{r}: {n}" for r, n in skipped["by_reason"].items())
    return f"{skipped['total']} inputs were skipped ({reasons}); each is listed with its file in `build_report.json`."


def _fingerprints(report: dict) -> str:
    prints = report.get("fingerprints") or {}
    if not prints:
        return "(no content fingerprint recorded)"
    lines = ", ".join(f"`{config}` `{value}`" for config, value in prints.items())
    return (f"Content fingerprints ({report.get('fingerprint_version', '?')}; "
            f"`aramega_ssum.dataset.fingerprint(dir, config)`, independent of the parquet encoding; "
            f"`verify_fingerprint(dir, config)` checks a copy): {lines}.")


def statistics(report: dict) -> str:
    """The generated 'Splits and statistics' section."""
    sources = ", ".join(f"`{s['name']}` ({s['format']})" for s in report["sources"])
    return "\n\n".join([
        f"Built by `builders` {report['builder_version']} with seed {report['seed']}, TTS "
        f"`{report['tts']['backend']}`, normalizer `{report['normalizer']}`, from: {sources}. "
        f"Splits are assigned by group (source document, recording or speaker): no group is in two "
        f"splits; ratios {report['split_ratios']}.",
        _split_table(report),
        f"Distinct audio: {report['audio']['items']} recordings, {report['audio']['hours']:.3f} hours.",
        _fingerprints(report),
        "Labels of the classification tasks:\n\n" + _label_table(report),
        _skips(report),
    ])


def render_card(report: dict) -> str:
    """The full card (YAML front matter + Markdown)."""
    meta = yaml.safe_dump(front_matter(report), sort_keys=False, allow_unicode=True)
    tasks = "\n".join(f"- `{t}` ({get_task(t).kind}, {get_task(t).modality} input)" for t in TASKS)
    body = [
        "# AraMega-SSum (reimplementation)", SUMMARY,
        "## Tasks of the multitask mix", tasks,
        "## Construction", CONSTRUCTION,
        "## Schema", "`multitask` config:\n\n" + markdown_table("multitask"),
        "`ssum` config (Mega-SSum's `id, audio, transcription, summary` plus provenance):\n\n"
        + markdown_table("ssum"),
        "## Splits and statistics", statistics(report),
        "## Usage", USAGE,
        "## Licences and redistribution", LICENCES,
        "## Limitations", LIMITATIONS,
        "## Citation", CITATION,
    ]
    return f"---\n{meta}---\n\n" + "\n\n".join(body) + "\n"


def write_card(path: Path, report: dict) -> None:
    Path(path).write_text(render_card(report), encoding="utf-8")


@cli_main(ValueError)
def main(argv=None) -> int:
    parser = make_parser("python -m builders.card", __doc__)
    parser.add_argument("--report", default="aramega-ssum/build_report.json", help="a build's build_report.json")
    parser.add_argument("--output", default="dataset_card.md", help="the card file to (re)write")
    add_common(parser)
    args = parser.parse_args(argv)
    setup_logging(args)
    write_card(Path(args.output), read_report(args.report))
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
