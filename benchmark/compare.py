"""Compare runs side by side: every metric, paired-bootstrap significance against the first run.

Examples:
    python -m benchmark.compare runs/uniform runs/tpc runs/ads runs/hybrid
    python -m benchmark.compare runs/A runs/B --output-dir runs/A-vs-B --bootstrap 2000
    python -m benchmark.compare runs/A runs/B --output-dir runs/A-vs-B --overwrite   # replace an earlier compare

Each run folder must hold `results.json` and `predictions.jsonl` (as written by `benchmark.run`).
For every task and scalar metric the table shows each run's value; for runs after the first it adds
the difference to the first run and the paired-bootstrap p-value (`*` when p < 0.05), computed by
`aramega_ssum.metrics.paired_bootstrap` on the examples both runs share. Overlay plots of the
per-task loss curves and `compare.json` / `compare.md` are written to the output folder.
"""
from __future__ import annotations

import argparse
import json
import logging
import sys
from pathlib import Path

from aramega_ssum.cli import add_common, cli_main, make_parser, setup_logging
from aramega_ssum.outputs import staged_output
from aramega_ssum.predictions import PredictionsError
from aramega_ssum.schema import TASKS

log = logging.getLogger(__name__)
SKIP_KEYS = {"n", "ci95"}
MARKER = "compare.json"  # only benchmark.compare writes it


def load_run(run_dir: str | Path) -> dict:
    """{name, dir, results, predictions} of a run folder; errors name the missing file."""
    from aramega_ssum.predictions import read_predictions

    run_dir = Path(run_dir)
    results_path = run_dir / "results.json"
    if not results_path.is_file():
        raise FileNotFoundError(f"{run_dir}: no results.json (is this a benchmark.run output folder?)")
    results = json.loads(results_path.read_text(encoding="utf-8"))
    pred_rel = (results.get("predictions") or {}).get("path", "predictions.jsonl")
    predictions = read_predictions(run_dir / pred_rel)
    return {"name": run_dir.name, "dir": run_dir, "results": results, "predictions": predictions}


def metric_rows(runs: list[dict]) -> list[tuple[str, str]]:
    """(task, metric) pairs with a numeric value in at least one run, in task order."""
    rows = []
    for task in TASKS:
        names: list[str] = []
        for run in runs:
            for key, value in run["results"].get("metrics", {}).get(task, {}).items():
                if key not in SKIP_KEYS and isinstance(value, (int, float)) and key not in names:
                    names.append(key)
        rows.extend((task, name) for name in names)
    return rows


def significance(base: dict, other: dict, task: str, metric: str, *, n: int, seed: int) -> dict:
    """{delta (other - base), p_value} from `paired_bootstrap`, or {error} when it cannot be computed."""
    from aramega_ssum.metrics import paired_bootstrap

    try:  # paired_bootstrap(a, b) reports metric(a) - metric(b)
        out = paired_bootstrap(other["predictions"], base["predictions"], task, metric, n=n, seed=seed)
    except (ValueError, KeyError, TypeError, NotImplementedError) as exc:
        return {"error": str(exc)}
    return {"delta": out["delta"], "p_value": out["p_value"]}


def compare(runs: list[dict], *, bootstrap: int = 1000, seed: int = 0) -> list[dict]:
    """One row per (task, metric): values per run and significance of each run vs the first."""
    table = []
    for task, metric in metric_rows(runs):
        row = {"task": task, "metric": metric, "values": {}, "vs_first": {}}
        for i, run in enumerate(runs):
            row["values"][run["name"]] = run["results"].get("metrics", {}).get(task, {}).get(metric)
            if i and row["values"][run["name"]] is not None and row["values"][runs[0]["name"]] is not None:
                row["vs_first"][run["name"]] = significance(runs[0], run, task, metric, n=bootstrap, seed=seed)
        table.append(row)
    return table


def _cell(value, sig: dict | None) -> str:
    if value is None:
        return "—"
    text = f"{value:.4f}" if isinstance(value, float) else str(value)
    if sig and "delta" in sig:
        star = "*" if sig["p_value"] is not None and sig["p_value"] < 0.05 else ""
        text += f" ({sig['delta']:+.4f}, p={sig['p_value']:.3f}{star})"
    elif sig and "error" in sig:
        text += " (p n/a)"
    return text


def format_table(runs: list[dict], table: list[dict], *, markdown: bool = False) -> str:
    """The comparison as aligned text (or Markdown)."""
    names = [r["name"] for r in runs]
    header = ["task", "metric", *[f"{n} (base)" if i == 0 else n for i, n in enumerate(names)]]
    body = [[row["task"], row["metric"], *[_cell(row["values"][n], row["vs_first"].get(n)) for n in names]]
            for row in table]
    if markdown:
        lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
        return "\n".join(lines + ["| " + " | ".join(r) + " |" for r in body])
    widths = [max(len(str(r[i])) for r in [header, *body]) for i in range(len(header))]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    return "\n".join([fmt.format(*header), fmt.format(*["-" * w for w in widths]), *(fmt.format(*r) for r in body)])


def run_compare(run_dirs: list[str | Path], out_dir: str | Path, *, bootstrap: int = 1000, seed: int = 0,
                overwrite: bool = False) -> str:
    """Compare, write compare.json/compare.md and overlay plots into `out_dir`; returns the text table.

    `out_dir` must be new, empty or an earlier compare (compare.json) with `overwrite` (aramega_ssum.outputs).
    """

    runs = [load_run(d) for d in run_dirs]
    table = compare(runs, bootstrap=bootstrap, seed=seed)
    with staged_output(out_dir, MARKER, tool="benchmark.compare", overwrite=overwrite) as tmp:
        _write(tmp, runs, table, run_dirs, bootstrap, seed)
    note = "values; for later runs: (difference to the base run, paired-bootstrap p; * = p < 0.05)"
    return f"{format_table(runs, table)}\n\n{note}\nwritten to {out_dir}"


def _write(out_dir: Path, runs: list[dict], table, run_dirs, bootstrap: int, seed: int) -> None:
    from benchmark.plots import plot_compare

    payload = {"runs": [str(r["dir"]) for r in runs], "base": runs[0]["name"], "bootstrap": bootstrap,
               "seed": seed, "rows": table}
    (out_dir / MARKER).write_text(json.dumps(payload, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")
    (out_dir / "compare.md").write_text(format_table(runs, table, markdown=True) + "\n", encoding="utf-8")
    if all((Path(d) / "train_log.jsonl").is_file() for d in run_dirs):
        plot_compare(run_dirs, out_dir)


def parse_args(argv=None) -> argparse.Namespace:
    parser = make_parser("python -m benchmark.compare", __doc__)
    parser.add_argument("runs", nargs="+", help="run folders (the first one is the base)")
    parser.add_argument("--output-dir", help="where plots and compare.json go (default: <parent of first run>/compare)")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier compare output in --output-dir")
    parser.add_argument("--bootstrap", type=int, default=1000, help="bootstrap resamples (0 = no p-values)")
    parser.add_argument("--seed", type=int, default=0, help="seed of the paired bootstrap")
    add_common(parser)
    args = parser.parse_args(argv)
    if len(args.runs) < 2:
        parser.error("give at least two run folders")
    if args.bootstrap < 0:
        parser.error(f"--bootstrap must be >= 0, got {args.bootstrap}")
    return args


@cli_main(PredictionsError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    out_dir = args.output_dir or Path(args.runs[0]).parent / "compare"
    print(run_compare(args.runs, out_dir, bootstrap=args.bootstrap, seed=args.seed, overwrite=args.overwrite))
    return 0


if __name__ == "__main__":
    sys.exit(main())
