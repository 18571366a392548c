"""Rank the validated entries of leaderboards/results/ and write the table, the page and the plots.

Examples::

    python -m leaderboards.rank
    python -m leaderboards.rank --results-dir leaderboards/results --out-dir leaderboards --strict

Every `*.json` of the results folder goes through the validator (metrics recomputed from the
predictions); invalid entries are skipped and reported on stderr. Outputs: `LEADERBOARD.md`,
`index.html` (one static file, no external assets) and `plots/<task>.png`.

Aggregate score: the mean over the five tasks of a 0..1 score per task: 1 - WER clipped to 0..1
for asr, ROUGE-L F1 for ssum and tsum, macro-F1 for dialect and emotion. Entries covering every
task are ranked first, by aggregate; entries covering fewer tasks follow (their aggregate is over
the tasks they cover and is not comparable). Ties (equal to 1e-6) share a rank.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
from pathlib import Path

from aramega_ssum.predictions import write_bytes_atomic
from aramega_ssum.schema import TASKS
from leaderboards.entries import Entry, load_entries
from leaderboards.validate import DEFAULT_RESULTS_DIR, HERE

logger = logging.getLogger(__name__)

def write_outputs(entries: list[Entry], out_dir: Path, *, plots: bool = True) -> list[Path]:
    """Write LEADERBOARD.md, index.html and plots/<task>.png into out_dir; returns the paths."""
    from leaderboards.page import render_html
    from leaderboards.render import render_markdown

    images: dict[str, bytes] = {}
    if plots:
        from leaderboards.plots import plot_tasks

        images = plot_tasks(entries)
    written = []
    if plots:
        for stale in (out_dir / "plots" / f"{task}.png" for task in TASKS if task not in images):
            stale.unlink(missing_ok=True)
    for task, png in images.items():
        write_bytes_atomic(out_dir / "plots" / f"{task}.png", png)
        written.append(out_dir / "plots" / f"{task}.png")
    for name, text in (("LEADERBOARD.md", render_markdown(entries, out_dir, list(images))),
                       ("index.html", render_html(entries, out_dir, images))):
        write_bytes_atomic(out_dir / name, text.encode("utf-8"))
        written.append(out_dir / name)
    return written


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m leaderboards.rank", description=__doc__.split("\n\n")[0],
        formatter_class=argparse.RawDescriptionHelpFormatter,
        epilog="examples:\n  python -m leaderboards.rank\n"
               "  python -m leaderboards.rank --results-dir my/results --out-dir /tmp/board --strict")
    parser.add_argument("--results-dir", default=str(DEFAULT_RESULTS_DIR), help="entries (default: %(default)s)")
    parser.add_argument("--out-dir", default=str(HERE), help="where the table, page and plots go (default: %(default)s)")
    parser.add_argument("--no-plots", action="store_true", help="skip the PNG plots")
    parser.add_argument("--strict", action="store_true", help="exit 1 when any entry is invalid")
    return parser


def main(argv: list[str] | None = None) -> int:
    """CLI: validate, rank, write; prints the ranking and the skipped files."""
    args = _parser().parse_args(argv)
    entries, rejected = load_entries(Path(args.results_dir))
    for path, problems in rejected:
        print(f"SKIPPED {path}: {len(problems)} problem(s)", file=sys.stderr)
        for problem in problems:
            print(f"  - {problem}", file=sys.stderr)
    written = write_outputs(entries, Path(args.out_dir), plots=not args.no_plots)
    for entry in entries:
        agg = "n/a" if entry.aggregate is None else f"{entry.aggregate:.4f}"
        print(f"{entry.rank:>3}  {agg}  {entry.data['model']['id']}  {entry.strategy}  ({entry.name})")
    print(f"{len(entries)} ranked, {len(rejected)} skipped; wrote {', '.join(str(p) for p in written)}")
    return 1 if args.strict and rejected else 0


if __name__ == "__main__":
    sys.exit(main())
