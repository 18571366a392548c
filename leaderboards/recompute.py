"""Recompute a results file's metrics from its predictions and compare (tolerance 1e-6).

The predictions file must lie inside the results file's folder (symlinks resolved), be at most
50 MB of UTF-8 and match the recorded sha256; it is read as data only.
"""
from __future__ import annotations

import hashlib
import logging
import math
from pathlib import Path
from typing import Any

from leaderboards.checks import dotted
from leaderboards.files import decode_utf8, read_bytes_checked

logger = logging.getLogger(__name__)

TOLERANCE = 1e-6
MAX_TEXT_CHARS = 20_000
IGNORED_KEYS = {"bertscore_error"}  # free text that may differ between machines


def resolve_predictions(data: dict, results_path: Path, problems: list[str]) -> Path | None:
    """The predictions path inside the results folder, or None with a problem."""
    base = results_path.resolve().parent
    candidate = (base / data["predictions"]["path"]).resolve()
    if base != candidate and base not in candidate.parents:
        problems.append(f"predictions.path: {data['predictions']['path']!r} points outside the results "
                        f"file's folder {base}; refused")
        return None
    return candidate


def _numbers_differ(recorded: float, recomputed: float) -> bool:
    return not math.isclose(recorded, recomputed, rel_tol=0.0, abs_tol=TOLERANCE)


def compare(recorded: Any, recomputed: Any, path: tuple, problems: list[str]) -> None:
    """Append a problem for every leaf where recorded and recomputed values disagree."""
    where = dotted(path)
    if isinstance(recorded, dict) and isinstance(recomputed, dict):
        for key in sorted(set(recorded) | set(recomputed), key=str):
            if key in IGNORED_KEYS:
                continue
            if key not in recomputed:
                problems.append(f"{dotted((*path, key))}: recorded but not produced when recomputing "
                                "from the predictions")
            elif key not in recorded:
                problems.append(f"{dotted((*path, key))}: missing; recomputing from the predictions "
                                f"gives {_brief(recomputed[key])}")
            else:
                compare(recorded[key], recomputed[key], (*path, key), problems)
    elif isinstance(recorded, list) and isinstance(recomputed, list) and len(recorded) == len(recomputed):
        for i, (a, b) in enumerate(zip(recorded, recomputed)):
            compare(a, b, (*path, i), problems)
    elif _is_number(recorded) and _is_number(recomputed):
        if _numbers_differ(float(recorded), float(recomputed)):
            problems.append(f"{where}: recorded {recorded!r} but the predictions give {recomputed!r} "
                            f"(tolerance {TOLERANCE:g})")
    elif recorded != recomputed:
        problems.append(f"{where}: recorded {_brief(recorded)} but the predictions give {_brief(recomputed)}")


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def _brief(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _score(records: list[dict], scoring: dict) -> dict:
    from aramega_ssum.metrics import score_predictions

    kwargs = {"bootstrap": scoring["bootstrap"], "seed": scoring["seed"],
              "bertscore_model": scoring["bertscore_model"]}
    if scoring.get("bertscore_layer") is not None:
        kwargs["bertscore_layer"] = scoring["bertscore_layer"]
    return score_predictions(records, **kwargs)


def _read_records(path: Path, expected_sha: str, problems: list[str]) -> list[dict] | None:
    """The predictions records (sha256 checked; parsed as data only), or None with a problem."""
    from aramega_ssum.predictions import PredictionsError, read_predictions

    raw = read_bytes_checked(path, "predictions.path", problems)
    if raw is None:
        return None
    actual = hashlib.sha256(raw).hexdigest()
    if actual != expected_sha:
        problems.append(f"predictions.sha256: recorded {expected_sha} but {path.name} has sha256 {actual} "
                        "(predictions changed after scoring?)")
    text = decode_utf8(raw, "predictions.path", problems)
    if text is None:
        return None
    try:
        records = read_predictions(path)
    except PredictionsError as exc:
        problems.append(f"predictions.path: {exc}")
        return None
    except RecursionError:
        problems.append(f"predictions.path: {path.name} holds JSON nested too deeply")
        return None
    return records if _texts_bounded(records, path, problems) else None


def _texts_bounded(records: list[dict], path: Path, problems: list[str]) -> bool:
    """Refuse texts longer than MAX_TEXT_CHARS (ROUGE-L is quadratic in length)."""
    for number, rec in enumerate(records, start=1):
        for key in ("prediction", "reference"):
            if len(rec[key]) > MAX_TEXT_CHARS:
                problems.append(f"predictions.path: {path.name} record {number} (id {rec['id']!r}): {key} is "
                                f"{len(rec[key]):,} characters, over the {MAX_TEXT_CHARS:,} limit")
                return False
    return True


def _bertscore_model_allowed(data: dict, results_path: Path, problems: list[str]) -> bool:
    """A BERTScore model shipped inside the submission's folder is never loaded."""
    model = data["scoring"]["bertscore_model"]
    if model is None:
        return True
    folder = results_path.resolve().parent
    candidate = Path(model).resolve()
    if candidate == folder or folder in candidate.parents:
        problems.append(f"scoring.bertscore_model: {model!r} lies inside the submission's folder; "
                        "BERTScore must use a model the maintainers already hold (a hub id or a local "
                        "directory outside the submission)")
        return False
    return True


def check_predictions(data: dict, results_path: Path, problems: list[str], key: dict | None = None) -> bool:
    """Check the records against the answer `key` (when given), then recompute every metric,
    interval and breakdown; True when all agree (the entry is verified)."""
    from aramega_ssum.results import split_scores

    path = resolve_predictions(data, results_path, problems)
    if path is None:
        return False
    before = len(problems)
    records = _read_records(path, data["predictions"]["sha256"], problems)
    if records is None:
        return False
    if key is not None:
        from leaderboards.keys import check_against_key

        check_against_key(records, key, data, problems)
        if len(problems) > before:
            return False
    if not _bertscore_model_allowed(data, results_path, problems):
        return False
    try:
        scores = _score(records, data["scoring"])
    except Exception as exc:  # noqa: BLE001 - any scoring failure is a problem of this entry
        problems.append(f"predictions.path: scoring the predictions failed: {type(exc).__name__}: {exc}")
        return False
    if scores.get("normalizer") != data["normalizer"]["version"]:
        problems.append(f"normalizer.version: recorded {data['normalizer']['version']!r} but scoring "
                        f"now uses {scores.get('normalizer')!r}; re-score the predictions")
    metrics, breakdown = split_scores(scores)
    compare(data["metrics"], metrics, ("metrics",), problems)
    compare(data["breakdown"], breakdown, ("breakdown",), problems)
    return len(problems) == before
