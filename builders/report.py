"""The build report (``build_report.json``): rows per config/split/task/label, hours, skips by reason,
and each config's content fingerprint."""
from __future__ import annotations

import json
from collections import Counter, defaultdict
from pathlib import Path

from aramega_ssum.schema import SPLITS


class Stats:
    """Counts rows, seconds and labels as they are written."""

    def __init__(self):
        self.rows = defaultdict(Counter)      # (config, split) -> task -> rows
        self.seconds = defaultdict(float)     # (config, split) -> audio seconds
        self.labels = defaultdict(Counter)    # (config, split, task) -> label -> rows
        self.source_rows = Counter()          # source -> rows (multitask)
        self.items = 0
        self.item_seconds = 0.0

    def add(self, config: str, split: str, row: dict) -> None:
        task = row.get("task", "ssum")
        self.rows[config, split][task] += 1
        self.seconds[config, split] += row.get("duration") or 0.0
        if row.get("label") is not None:
            self.labels[config, split, task][row["label"]] += 1
        if config == "multitask":
            self.source_rows[row["source"]] += 1

    def add_item(self, seconds: float | None) -> None:
        self.items += 1
        self.item_seconds += seconds or 0.0

    def configs(self, configs, files) -> dict:
        out = {}
        for config in configs:
            splits = {}
            for split in SPLITS:
                tasks = self.rows[config, split]
                labels = {t: dict(sorted(c.items())) for (cf, sp, t), c in sorted(self.labels.items())
                          if cf == config and sp == split}
                splits[split] = {"rows": sum(tasks.values()), "hours": round(self.seconds[config, split] / 3600, 4),
                                 "tasks": dict(sorted(tasks.items())), "labels": labels,
                                 "files": files.get(config, {}).get(split, [])}
            out[config] = {"rows": sum(s["rows"] for s in splits.values()),
                           "hours": round(sum(s["hours"] for s in splits.values()), 4), "splits": splits}
        return out


def write_report(path: Path, report: dict) -> None:
    """Write the report next to the built configs, adding ``fingerprints``: the content hash
    (`aramega_ssum.dataset.fingerprint`) of each config, computed from the parquet just written."""
    from aramega_ssum.dataset import FINGERPRINT_VERSION, fingerprint

    built = report.get("configs_built") or list(report.get("configs", {}))
    report["fingerprint_version"] = FINGERPRINT_VERSION
    cache: dict = {}  # the ssum config's clips are the multitask ssum rows': decode each once
    report["fingerprints"] = {config: fingerprint(path.parent, config, pcm_cache=cache) for config in built}
    path.write_text(json.dumps(report, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


def read_report(path: str | Path) -> dict:
    path = Path(path)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as err:
        raise ValueError(f"cannot read build report {path}: {err}") from None
