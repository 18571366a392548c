"""Render ranked entries as Markdown (LEADERBOARD.md), plus text helpers shared with the page.

Every submitted string is escaped and wrapped in <bdi> so that Arabic (right-to-left) text keeps
its order without disturbing the table.
"""
from __future__ import annotations

import os
import re
from pathlib import Path
from urllib.parse import quote

from aramega_ssum.schema import TASKS
from leaderboards.entries import HEADLINE, TASK_TITLES, Entry

GENERATOR = "leaderboards.rank"  # marker in every output: only files carrying it are replaced or removed
AGGREGATE_DOC = ("Aggregate = mean over the tasks of a 0..1 score: 1 - WER (clipped to 0..1) for ASR, "
                 "ROUGE-L F1 for speech and text summarization, macro-F1 for dialect and emotion ID. "
                 "Entries covering all five tasks are ranked first; partial entries follow.")
SMOKE_DOC = ("Smoke baseline: the tiny random Qwen2.5-Omni thinker trained on the embedded mini corpus "
             "with synthetic (espeak-ng) speech. It checks the pipeline end to end and is not "
             "comparable to the paper or to real systems.")
VERIFIED_DOC = "Verified: every metric was recomputed from the submitted predictions and agreed within 1e-6."


def rel_link(target: Path, out_dir: Path) -> str:
    """A URL-quoted relative link from out_dir to target."""
    return quote(Path(os.path.relpath(target.resolve(), out_dir.resolve())).as_posix())


def slug(name: str) -> str:
    return "entry-" + re.sub(r"[^A-Za-z0-9_-]+", "-", name).strip("-")


def fmt(value: float | None, digits: int = 3) -> str:
    return "—" if value is None else f"{value:.{digits}f}"


def fmt_ci(ci: list[float] | None) -> str:
    return "" if not ci else f"[{ci[0]:.3f}, {ci[1]:.3f}]"


def md_text(text: str) -> str:
    """Submitted text for Markdown: HTML- and Markdown-escaped, isolated for bidirectional display."""
    out = []
    for char in str(text):
        if char in "&<>\"'|\\*_`[]#":
            out.append(f"&#{ord(char)};")
        elif char in "\r\n":
            out.append(" ")
        else:
            out.append(char)
    return f"<bdi>{''.join(out)}</bdi>"


def md_table(entries: list[Entry], out_dir: Path) -> list[str]:
    head = ["Rank", "System", "Strategy", "Aggregate"]
    head += [f"{TASK_TITLES[t]} {HEADLINE[t][1]}{'' if HEADLINE[t][2] else ' ↓'}" for t in TASKS]
    head += ["Data", "Verified", "Details"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for e in entries:
        system = md_text(e.data["model"]["id"]) + (" (smoke)" if e.smoke else "")
        cells = [str(e.rank), system, md_text(e.strategy), fmt(e.aggregate, 4)]
        for task in TASKS:
            head_value = e.headline(task)
            cells.append("—" if head_value is None else f"{fmt(head_value[0])} {fmt_ci(head_value[1])}")
        cells += [e.data["data"]["fingerprint"][:8], "yes",
                  f"[details](#{slug(e.name)}) · [json]({rel_link(e.path, out_dir)})"]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def detail_items(e: Entry) -> list[tuple[str, str]]:
    """(label, plain text) pairs describing an entry, shared by both renderings."""
    d, model, adapter, training = e.data, e.data["model"], e.data["model"]["adapter"], e.data["training"]
    items = [("Model", f"{model['id']} @ {model['revision']} (base {model['base_model']}, {model['dtype']})"),
             ("Adapter", "none" if adapter is None else
              f"LoRA r={adapter['r']} alpha={adapter['alpha']} on {len(adapter['targets'])} module(s), "
              f"sha256 {adapter['sha256'][:12]}…"),
             ("Training", "zero-shot" if training is None else
              f"{training['strategy']}, {training['steps']} steps, effective batch "
              f"{training['effective_batch']}, seed {training['seed']}"),
             ("Data", f"{d['data']['dataset']} / {d['data']['config']} / {d['data']['split']}, fingerprint "
                      f"{d['data']['fingerprint'][:12]}…, n = " +
                      ", ".join(f"{k} {v}" for k, v in d['data']['n'].items())),
             ("Scoring", f"normalizer {d['normalizer']['version']}, bootstrap {d['scoring']['bootstrap']} "
                         f"(seed {d['scoring']['seed']}), BERTScore model {d['scoring']['bertscore_model']}"),
             ("Efficiency", ", ".join(f"{k} {v}" for k, v in d["efficiency"].items())),
             ("Audio", ", ".join(f"{k} {v}" for k, v in d["audio"].items())),
             ("Environment", ", ".join(f"{k} {v}" for k, v in d["env"].items()))]
    for task, scores in d["metrics"].items():
        shown = [f"{k} {fmt(v)} {fmt_ci(scores['ci95'].get(k))}".strip()
                 for k, v in scores.items() if k not in ("n", "ci95", "bertscore_error")]
        items.append((f"{task} (n={scores['n']})", "; ".join(shown)))
    for task, parts in d["breakdown"].items():
        for key in ("per_dialect_wer", "per_class_f1"):
            if key in parts:
                items.append((f"{task} {key}", ", ".join(f"{k} {fmt(v)}" for k, v in parts[key].items())))
    return items


def render_markdown(entries: list[Entry], out_dir: Path, plot_tasks: list[str]) -> str:
    """LEADERBOARD.md: the ranked table, the aggregate's definition, plots and per-entry details."""
    lines = ["# AraMega-SSum leaderboard", "",
             "Generated by `python -m leaderboards.rank` from `leaderboards/results/`; do not edit by hand. "
             "Values are shown with their 95% bootstrap confidence intervals. ↓ = lower is better.", "",
             AGGREGATE_DOC, "", VERIFIED_DOC, "", f"(smoke) = {SMOKE_DOC}", ""]
    lines += md_table(entries, out_dir) if entries else ["No valid entries yet."]
    if plot_tasks:
        lines += ["", "## Plots", ""]
        lines += [f"![{t} by strategy](plots/{t}.png)" for t in plot_tasks]
    lines += ["", "## Details"]
    for e in entries:
        lines += ["", f'<a id="{slug(e.name)}"></a>', "",
                  f"### {e.rank}. {md_text(e.data['model']['id'])} — {md_text(e.strategy)}", "",
                  f"Results file: [{md_text(e.path.name)}]({rel_link(e.path, out_dir)})", ""]
        lines += [f"- **{label}**: {md_text(value)}" for label, value in detail_items(e)]
    return "\n".join(lines) + "\n"
