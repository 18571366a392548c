"""Predictions JSONL: read and validate (errors name the line), write, and atomic JSON output.

One UTF-8 JSON object per line::

    {"id": str, "task": "asr"|"ssum"|"tsum"|"dialect"|"emotion", "prediction": str, "reference": str}

plus optional fields kept as they are (e.g. ``"dialect"`` for per-dialect ASR WER,
``"raw_prediction"``). Blank lines are skipped.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any, Iterable

from aramega_ssum.jsonl import JSONLError, iter_jsonl
from aramega_ssum.schema import TASKS

REQUIRED_FIELDS = ("id", "task", "prediction", "reference")


class PredictionsError(ValueError):
    """A predictions file that cannot be scored; the message names the file and line.

    Errors found after reading (e.g. a reference that is not a label) carry `record_id`, so a
    caller holding the file can name the line with `line_of`.
    """

    def __init__(self, message: str, *, record_id: str | None = None) -> None:
        super().__init__(message)
        self.record_id = record_id


def line_of(path: str | os.PathLike, record_id: str) -> int | None:
    """The line number of the record with `record_id` in a JSONL file, or None (bad lines are passed over)."""
    for lineno, rec in iter_jsonl(path, on_error=lambda error: None):
        if isinstance(rec, dict) and rec.get("id") == record_id:
            return lineno
    return None


def _check_record(rec: Any, where: str) -> None:
    if not isinstance(rec, dict):
        raise PredictionsError(f"{where}: expected a JSON object, got {type(rec).__name__}")
    missing = [f for f in REQUIRED_FIELDS if f not in rec]
    if missing:
        raise PredictionsError(f"{where}: missing field(s) {', '.join(missing)} (required: {', '.join(REQUIRED_FIELDS)})")
    for name in REQUIRED_FIELDS:
        if not isinstance(rec[name], str):
            raise PredictionsError(f"{where}: field {name!r} must be a string, got {type(rec[name]).__name__}")
    if rec["task"] not in TASKS:
        raise PredictionsError(f"{where}: unknown task {rec['task']!r}; expected one of {', '.join(TASKS)}")
    if not rec["reference"].strip():
        raise PredictionsError(f"{where}: empty reference (id {rec['id']!r}); every example needs its reference "
                               "text or label")


def _validate(numbered: Iterable[tuple[int, Any]], source: str) -> list[dict]:
    out, seen = [], {}
    for lineno, rec in numbered:
        _check_record(rec, f"{source}:{lineno}")
        if rec["id"] in seen:
            raise PredictionsError(f"{source}:{lineno}: duplicate id {rec['id']!r} (first on line {seen[rec['id']]})")
        seen[rec["id"]] = lineno
        out.append(rec)
    if not out:
        raise PredictionsError(f"{source}: no predictions (empty file)")
    return out


def validate_predictions(records: Iterable[Any], source: str = "<records>") -> list[dict]:
    """Check in-memory records like a file (record N stands for line N); return them as a list."""
    return _validate(enumerate(records, start=1), source)


def read_predictions(path: str | os.PathLike) -> list[dict]:
    """Read and validate a predictions JSONL file (`iter_jsonl`); raise `PredictionsError` naming the line."""
    path = Path(path)
    try:
        return _validate(iter_jsonl(path), str(path))
    except OSError as exc:
        raise PredictionsError(f"{path}: cannot read ({exc.strerror or exc})") from None
    except JSONLError as exc:
        what = "not valid UTF-8" if exc.kind == "utf8" else f"malformed JSON ({exc.detail})"
        raise PredictionsError(f"{path}:{exc.line}: {what}") from None


def write_predictions(path: str | os.PathLike, records: Iterable[dict]) -> Path:
    """Write records as UTF-8 JSONL (``ensure_ascii=False``), atomically."""
    body = "".join(json.dumps(rec, ensure_ascii=False) + "\n" for rec in records)
    return _write_text_atomic(Path(path), body)


def write_json_atomic(path: str | os.PathLike, obj: Any, *, indent: int | None = 2) -> Path:
    """Write `obj` as UTF-8 JSON to `path` atomically: the file is complete or untouched."""
    body = json.dumps(obj, ensure_ascii=False, indent=indent, allow_nan=False) + "\n"
    return _write_text_atomic(Path(path), body)


def _write_text_atomic(path: Path, body: str) -> Path:
    return write_bytes_atomic(path, body.encode("utf-8"))


def write_bytes_atomic(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically (complete or untouched), with the usual umask permissions."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask
