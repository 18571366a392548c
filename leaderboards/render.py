"""Render ranked entries as Markdown (LEADERBOARD.md), plus text helpers shared with the page.

Submitted strings are escaped (HTML and the Markdown characters that could break a table or make
a link: & < > [ ] ` * | \\ as entities); only a string holding right-to-left letters is wrapped in
<bdi>, so Arabic keeps its order without disturbing the table and plain names stay plain text.
"""
from __future__ import annotations

import os
import re
import unicodedata
from pathlib import Path
from typing import Callable
from urllib.parse import quote

from aramega_ssum.schema import TASKS
from aramega_ssum.tasks import get_task
from leaderboards.entries import Entry, column_title, headline

GENERATOR = "leaderboards.rank"  # marker in every output: only files carrying it are replaced or removed
AGGREGATE_DOC = ("Aggregate = mean over the tasks of a 0..1 score: 1 - WER (clipped to 0..1) for ASR, "
                 "ROUGE-L F1 for speech and text summarization, macro-F1 for dialect and emotion ID. "
                 "Entries covering all five tasks are ranked first; partial entries follow (their "
                 "aggregate is over fewer tasks and not comparable).")
LABEL_DOCS = {
    "embedded": ("the embedded tiny Qwen2.5-Omni thinker (benchmark/tiny_base, pretrained by "
              "`python -m benchmark.pretrain_tiny` on the embedded train split) fine-tuned on the embedded "
              "corpus with synthetic (espeak-ng) speech. It checks the pipeline end to end; see the README's "
              "embedded-benchmark section for what its numbers can resolve; not comparable to the paper or "
              "to real systems."),
    "baseline": ("a reference floor computed without any model (`python -m benchmark.baselines`): "
                 "`majority` predicts the most frequent train label, `uniform-random` a label drawn "
                 "uniformly (seeded), `lead-1`/`lead-2` the first one or two sentences of the document. "
                 "A system should beat these. ASR has no baseline."),
    "oracle-transcript": ("Lead-2 of the reference transcription: what an extractive speech summarizer "
                          "reaches with perfect ASR (a cascade upper bound for Lead-2, not a floor)."),
}
VERIFIED_DOC = ("Every row is verified: its ids and references match the dataset's answer key "
                "(`leaderboards/keys/`) and every metric was recomputed from its predictions (within 1e-6).")
_RTL = {"R", "AL", "RLE", "RLO", "RLI"}
_MD_ESCAPE = {c: f"&#{ord(c)};" for c in "&<>[]`*|\\"}


def rel_link(target: Path, out_dir: Path) -> str:
    """A URL-quoted relative link from out_dir to target."""
    return quote(Path(os.path.relpath(target.resolve(), out_dir.resolve())).as_posix())


def slug(name: str) -> str:
    return "entry-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_ci(ci: list[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def plain(value: object) -> str:
    """A value as display text: None is a dash, never the word None."""
    return "—" if value is None else str(value)


def is_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in _RTL for c in text)


def md_text(text: object) -> str:
    """Submitted text for Markdown: escaped; <bdi>-isolated only when it holds right-to-left letters."""
    body = "".join(_MD_ESCAPE.get(c, " " if c in "\r\n" else c) for c in plain(text))
    return f"<bdi>{body}</bdi>" if is_rtl(body) else body


def labels(entry: Entry) -> list[str]:
    """The entry's labels: embedded, baseline, oracle-transcript (empty for a real system)."""
    out = [] if entry.kind == "system" else [entry.kind]
    if entry.data["model"]["id"].endswith("oracle-transcript"):
        out.append("oracle-transcript")
    return out


def tag_text(entry: Entry) -> str:
    """' (baseline, oracle-transcript)' or '' for a real system."""
    found = labels(entry)
    return f" ({', '.join(found)})" if found else ""


def strategy_text(entry: Entry) -> str:
    return "—" if entry.kind == "baseline" else entry.strategy


def metric_text(entry: Entry, task: str, marks: dict) -> str:
    """'0.284 [0.236, 0.347] ▼' (value, 95% CI, comparison with the best entry) or '—'."""
    value = entry.headline(task)
    if value is None:
        return "—"
    mark = marks.get((entry.name, task))
    return " ".join(part for part in (fmt(value[0]), fmt_ci(value[1]), mark.symbol() if mark else "") if part)


def _table(entries: list[Entry], out_dir: Path, marks: dict) -> list[str]:
    head = ["Rank", "System", "Strategy", "Aggregate"]
    head += [column_title(t) for t in TASKS]
    head += ["Data", "Details"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        system = md_text(e.data["model"]["id"]) + tag_text(e)
        cells = [str(e.rank), system, md_text(strategy_text(e)), fmt(e.aggregate, 4)]
        cells += [metric_text(e, task, marks) for task in TASKS]
        cells += [e.data["data"]["fingerprint"][:8],
                  f"[details](#{slug(e.name)}) · [json]({rel_link(e.path, out_dir)})"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def _joined(pairs: dict, esc: Callable[[object], str]) -> str:
    shown = [f"{k.replace('_', ' ')} {esc(v)}" for k, v in pairs.items() if v is not None]
    return ", ".join(shown) or "—"


def detail_items(e: Entry, esc: Callable[[object], str] = md_text) -> list[tuple[str, str]]:
    """(label, text) pairs describing an entry; submitted values go through `esc`."""
    d, model, adapter, training = e.data, e.data["model"], e.data["model"]["adapter"], e.data["training"]
    base = [esc(model[k]) for k in ("base_model", "dtype") if model.get(k)]
    items = [("Model", f"{esc(model['id'])} @ {esc(model['revision'])}" + (f" ({', '.join(base)})" if base else "")),
             ("Adapter", "none" if adapter is None else
              f"LoRA r={adapter['r']} alpha={adapter['alpha']} on {len(adapter['targets'])} module(s), "
              f"sha256 {adapter['sha256'][:12]}…"),
             ("Training", "none (zero-shot or no model)" if training is None else
              f"{esc(training['strategy'])}, {training['steps']} steps, effective batch "
              f"{training['effective_batch']}, seed {training['seed']}"),
             ("Data", f"{esc(d['data']['dataset'])} / {d['data']['config']} / {d['data']['split']}, fingerprint "
                      f"{d['data']['fingerprint'][:12]}…, n = " + ", ".join(f"{k} {v}" for k, v in d["data"]["n"].items())),
             ("Scoring", f"normalizer {esc(d['normalizer']['version'])}, bootstrap {d['scoring']['bootstrap']} "
                         f"(seed {d['scoring']['seed']}), BERTScore "
                         + (esc(d["scoring"]["bertscore_model"]) if d["scoring"]["bertscore_model"] else "not computed")),
             ("Efficiency", _joined(d["efficiency"], esc)),
             ("Audio", _joined(d["audio"], esc)),
             ("Environment", _joined(d["env"], esc))]
    for task, scores in d["metrics"].items():
        shown = [f"{k} {fmt(v)} {fmt_ci(scores['ci95'].get(k))}".strip()
                 for k, v in scores.items() if k not in ("n", "ci95", "bertscore_error")]
        items.append((f"{task} (n={scores['n']})", "; ".join(shown)))
    for task, parts in d["breakdown"].items():
        for key in ("per_dialect_wer", "per_class_f1"):
            if key in parts:
                items.append((f"{task} {key.replace('_', ' ')}",
                              ", ".join(f"{esc(k)} {fmt(v)}" for k, v in parts[key].items())))
    return items


def seed_groups(entries: list[Entry]) -> list[list[Entry]]:
    """Entries that are seeds of one system (same model id, strategy, steps and data), 2+ seeds."""
    groups: dict[tuple, list[Entry]] = {}
    for e in entries:
        training = e.data["training"]
        if training is not None:
            key = (e.data["model"]["id"], training["strategy"], training["steps"], e.data["data"]["fingerprint"])
            groups.setdefault(key, []).append(e)
    return [g for g in groups.values() if len({e.data["training"]["seed"] for e in g}) > 1]


def _seed_table(groups: list[list[Entry]]) -> list[str]:
    """Mean ± sample standard deviation of each headline metric over the seeds of a system."""
    import statistics

    head = ["System", "Strategy", "Seeds"] + [column_title(t, arrow=False) for t in TASKS]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for group in groups:
        cells = [md_text(group[0].data["model"]["id"]), md_text(group[0].strategy),
                 ", ".join(str(s) for s in sorted(e.data["training"]["seed"] for e in group))]
        for task in TASKS:
            values = [e.headline(task)[0] for e in group if e.headline(task) is not None]
            cells.append("—" if len(values) < 2 else
                         f"{statistics.mean(values):.3f} ± {statistics.stdev(values):.3f} (n={len(values)})")
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def legend_lines() -> list[str]:
    from leaderboards.significance import LEGEND

    return [AGGREGATE_DOC, VERIFIED_DOC, LEGEND] + [f"({label}) = {doc}" for label, doc in LABEL_DOCS.items()]


def render_markdown(entries: list[Entry], out_dir: Path, plot_tasks: list[str], marks: dict | None = None) -> str:
    """LEADERBOARD.md: the ranked table, the aggregate's definition, plots and per-entry details."""
    marks = marks or {}
    lines = ["# AraMega-SSum leaderboard", "",
             "Generated by `python -m leaderboards.rank` from `leaderboards/results/`; do not edit by hand. "
             "Values are shown with their 95% bootstrap confidence intervals. ↓ = lower is better.", ""]
    for line in legend_lines():
        lines += [line, ""]
    lines += _table(entries, out_dir, marks) if entries else ["No valid entries yet."]
    groups = seed_groups(entries)
    if groups:
        lines += ["", "## Systems with several seeds", "",
                  "Mean ± standard deviation over the training seeds of one system (each seed is its own row above).",
                  ""] + _seed_table(groups)
    if plot_tasks:
        lines += ["", "## Plots", ""]
        lines += [f"![{get_task(t).title}: {headline(t).title} per entry](plots/{t}.png)" for t in plot_tasks]
    lines += ["", "## Details"]
    for e in entries:
        tags = tag_text(e)
        lines += ["", f'<a id="{slug(e.name)}"></a>', "",
                  f"### {e.rank}. {md_text(e.data['model']['id'])}{tags} — {md_text(strategy_text(e))}", "",
                  f"Results file: [{md_text(e.path.name)}]({rel_link(e.path, out_dir)})", ""]
        lines += [f"- **{label}**: {value}" for label, value in detail_items(e)]
        lines += [f"- **{get_task(t).title} vs best**: {md_text(marks[e.name, t].describe())}" for t in TASKS
                  if (e.name, t) in marks]
    return "\n".join(lines) + "\n"
