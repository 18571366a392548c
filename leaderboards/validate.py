"""Validate leaderboard results files; every number is recomputed from its predictions.

Examples::

    python -m leaderboards.validate leaderboards/results/my-system.json
    python -m leaderboards.validate runs/hybrid-seed0/results.json --results-dir leaderboards/results

Checks, in order: the file itself (size <= 50 MB, UTF-8, strict JSON: no NaN/Infinity, no duplicate
keys, bounded nesting), the schema (`leaderboards/schema.json`), value ranges and consistency
between fields (tasks, counts, intervals, strategy, split), duplicates of entries already in
`--results-dir` (same identity: model id, revision, adapter, strategy, seed, steps, data), the
answer key of the data fingerprint (`--keys-dir`, see `leaderboards.keys`: every id in the key with
its task, every id of each reported task present, every reference matching its hash), the
predictions file (inside the results folder, sha256, readable), and agreement within 1e-6 of every
metric, interval and breakdown with `aramega_ssum.metrics.score_predictions` run on it with the
recorded scoring settings. One message per problem, naming the key path.
Exit status 0 when every file is valid, 1 otherwise. Nothing is written and nothing from a
submission is imported or executed.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import logging
import os
import sys
import unicodedata
from aramega_ssum.cli import add_common, cli_main, deprecated, make_parser, setup_logging
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from leaderboards.checks import check_consistency, dotted
from leaderboards.files import MAX_BYTES, decode_utf8, parse_json_strict, read_bytes_checked  # noqa: F401 (re-exported)
from leaderboards.identity import arrival, describe, identity
from leaderboards.keys import DEFAULT_KEYS_DIR

logger = logging.getLogger(__name__)

HERE = Path(__file__).resolve().parent
SCHEMA_PATH = HERE / "schema.json"
DEFAULT_RESULTS_DIR = HERE / "results"
MAX_MESSAGES = 50
IDENTITY_WHERE = "identity (model.id, model.revision, model.adapter.sha256, training.strategy/seed/steps, data.fingerprint)"
PATTERN_HINTS = {
    "^[0-9a-f]{64}$": "is not a sha256 (64 lowercase hex digits)",
    "^(?!/)(?!.*(^|/)\\.\\.(/|$))[A-Za-z0-9._/\\-]+$": "is not a relative path inside the results folder "
    "(no leading '/', no '..', only A-Z a-z 0-9 . _ - /)",
    "^[^\\u0000-\\u001f\\u007f\\u202a-\\u202e\\u2066-\\u2069]+$": "contains control or bidirectional-override characters",
}


@dataclass
class Report:
    """The outcome for one file: problems (empty = valid) and whether metrics were recomputed."""

    path: Path
    problems: list[str] = field(default_factory=list)
    verified: bool = False
    data: dict | None = None

    @property
    def ok(self) -> bool:
        return not self.problems


def load_schema() -> dict:
    """The results JSON Schema (leaderboards/schema.json)."""
    return json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))


def _short(value: Any, limit: int = 60) -> str:
    """JSON of a value for a message: short, with control and format characters escaped."""
    text = "".join(f"\\u{ord(c):04x}" if unicodedata.category(c) in ("Cc", "Cf") else c
                   for c in json.dumps(value, ensure_ascii=False))
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _schema_message(error: Any) -> tuple[str, str]:
    path = tuple(error.absolute_path)
    kind, inst = error.validator, error.instance
    if kind == "required":
        missing = [k for k in error.validator_value if isinstance(inst, dict) and k not in inst]
        return dotted((*path, missing[0]) if missing else path), "required key is missing"
    if kind == "additionalProperties" and isinstance(inst, dict):
        allowed = sorted(error.schema.get("properties", {}))
        extra = [k for k in inst if k not in allowed]
        where = dotted((*path, extra[0])) if extra else dotted(path)
        return where, f"unknown key (allowed here: {', '.join(allowed) or 'none'})"
    if kind == "type":
        wanted = error.validator_value
        wanted = " or ".join(wanted) if isinstance(wanted, list) else wanted
        return dotted(path), f"expected {wanted}, got {_json_type(inst)} {_short(inst)}"
    if kind == "const":
        return dotted(path), f"must be {_short(error.validator_value)}, got {_short(inst)}"
    if kind == "pattern":
        hint = PATTERN_HINTS.get(error.validator_value, f"must match {error.validator_value}")
        return dotted(path), f"{_short(inst)} {hint}"
    if kind == "enum":
        options = ", ".join(str(v) for v in error.validator_value)
        return dotted(path), f"{_short(inst)} is not one of: {options}"
    return dotted(path), error.message if len(error.message) <= 200 else error.message[:197] + "..."


def _json_type(value: Any) -> str:
    if value is None:
        return "null"
    return {bool: "boolean", int: "integer", float: "number", str: "string",
            list: "array", dict: "object"}.get(type(value), type(value).__name__)


def check_schema(data: Any, problems: list[str]) -> None:
    """Append one message per schema violation (key path: what is wrong), at most MAX_MESSAGES."""
    import jsonschema

    validator = jsonschema.Draft202012Validator(load_schema())
    seen: set[str] = set()
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(p) for p in e.absolute_path])
    for error in errors:
        where, message = _schema_message(error)
        line = f"{where}: {message}"
        if line not in seen:
            seen.add(line)
            problems.append(line)
        if len(seen) >= MAX_MESSAGES:
            problems.append(f"(file): more than {MAX_MESSAGES} schema problems; stopped listing")
            break


def _inside(path: Path, folder: Path) -> bool:
    try:
        return path.resolve().parent == folder.resolve()
    except OSError:
        return False


def _read_other(path: Path) -> dict | None:
    scratch: list[str] = []
    raw = read_bytes_checked(path, "(other)", scratch)
    text = decode_utf8(raw, "(other)", scratch) if raw is not None else None
    entry = parse_json_strict(text, scratch) if text is not None else None
    return entry if isinstance(entry, dict) else None


def check_duplicates(data: dict, path: Path, results_dir: Path, problems: list[str],
                     new: bool | None = None) -> None:
    """Flag an earlier entry of results_dir with the same identity (`leaderboards.identity`).

    A `new` file (default: one from outside results_dir, a submission) comes after every entry in
    it; for an entry of results_dir only an earlier arrival counts, so the first of two duplicates
    stays valid.
    """
    if not results_dir.is_dir():
        return
    mine = identity(data)
    new = not _inside(path, results_dir) if new is None else new
    my_arrival = None if new else arrival(path, data)
    for other in sorted(results_dir.glob("*.json")):
        if _same_file(other, path):
            continue
        entry = _read_other(other)
        try:
            theirs = identity(entry)
        except (KeyError, TypeError, AttributeError):
            continue
        if theirs == mine and (new or arrival(other, entry) < my_arrival):
            problems.append(f"{IDENTITY_WHERE}: duplicate of {other} ({describe(mine)}); a re-run with another "
                            "seed, step count or adapter is a new entry, the same run is not")


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or os.path.samefile(a, b)
    except OSError:
        return False


def validate_file(path: str | os.PathLike, *, results_dir: str | os.PathLike | None = DEFAULT_RESULTS_DIR,
                  keys_dir: str | os.PathLike | None = DEFAULT_KEYS_DIR, recompute: bool = True,
                  now: dt.datetime | None = None, new: bool | None = None) -> Report:
    """Validate one results file; never writes. `results_dir=None` skips the duplicate check;
    `keys_dir=None` skips the answer-key check (a local run on unregistered data: never verified);
    `new=True` treats the file as the latest arrival even inside results_dir (just prepared)."""
    report = Report(Path(path))
    problems = report.problems
    raw = read_bytes_checked(report.path, "(file)", problems)
    text = decode_utf8(raw, "(file)", problems) if raw is not None else None
    data = parse_json_strict(text, problems) if text is not None else None
    if data is None:
        return report
    check_schema(data, problems)
    if problems:
        return report
    report.data = data
    check_consistency(data, problems, now=now)
    if results_dir is not None:
        check_duplicates(data, report.path, Path(results_dir), problems, new)
    key = None
    if keys_dir is not None:
        from leaderboards.keys import load_key

        key = load_key(data["data"]["fingerprint"], keys_dir, problems)
        if key is None:
            return report
    if recompute:
        from leaderboards.recompute import check_predictions

        recomputed = check_predictions(data, report.path, problems, key=key)
        report.verified = recomputed and key is not None and not problems
    return report


def _parser() -> argparse.ArgumentParser:
    parser = make_parser("python -m leaderboards.validate", __doc__)
    parser.add_argument("files", nargs="+", metavar="FILE", help="results JSON files")
    parser.add_argument("--results-dir", default=str(DEFAULT_RESULTS_DIR),
                        help="existing leaderboard entries to check duplicates against (default: %(default)s)")
    parser.add_argument("--keys-dir", default=str(DEFAULT_KEYS_DIR),
                        help="answer keys, one <fingerprint>.json per registered dataset (default: %(default)s)")
    add_common(parser)
    return parser


@cli_main()
def main(argv: list[str] | None = None) -> int:
    """CLI: print OK/INVALID per file with one line per problem; 0 when all are valid, else 1."""
    args = _parser().parse_args(argv)
    setup_logging(args, default=logging.WARNING)
    status, seen = 0, {}
    for name in args.files:
        report = validate_file(name, results_dir=args.results_dir, keys_dir=args.keys_dir)
        if report.ok and report.data is not None:
            key = identity(report.data)
            if key in seen:
                report.problems.append(f"{IDENTITY_WHERE}: duplicate of {seen[key]} given on the same "
                                       f"command line ({describe(key)})")
            seen.setdefault(key, name)
        if report.ok:
            what = ("ids and references match the answer key, every metric recomputed from the predictions "
                    "(verified)" if report.verified else "valid")
            print(f"OK {name}: valid; {what}")
        else:
            status = 1
            print(f"INVALID {name}: {len(report.problems)} problem(s)")
            for problem in report.problems:
                print(f"  - {problem}")
    return status


if __name__ == "__main__":
    sys.exit(main())
