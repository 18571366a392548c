"""Read JSONL and CSV/TSV tables row by row, reporting undecodable and malformed lines by number."""
from __future__ import annotations

import csv
import io
import logging
from pathlib import Path
from typing import Iterator

from aramega_ssum.jsonl import JSONLError, iter_jsonl
from builders.items import BuildError, Reporter

logger = logging.getLogger(__name__)


def _has_surrogates(value) -> bool:
    return isinstance(value, str) and any("\udc80" <= ch <= "\udcff" for ch in value)


def read_jsonl(path: Path, source: str, reporter: Reporter) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, record)`` (`iter_jsonl`); bad UTF-8 and bad JSON lines are reported and skipped."""
    def skip(error: JSONLError) -> None:
        reason = "non_utf8_text" if error.kind == "utf8" else "bad_record"
        reporter.skip(source, f"{path}:{error.line}", reason, error.reason)

    for number, record in iter_jsonl(path, on_error=skip):
        if not isinstance(record, dict):
            reporter.skip(source, f"{path}:{number}", "bad_record", "a JSON object per line is expected")
            continue
        yield number, record


def read_csv(path: Path, source: str, reporter: Reporter, delimiter: str | None = None
             ) -> Iterator[tuple[int, dict]]:
    """Yield ``(line_number, row)`` of a CSV/TSV with a header; rows with bad UTF-8 are reported."""
    text = path.read_bytes().decode("utf-8", errors="surrogateescape")
    if text.startswith("\ufeff"):
        text = text[1:]
    if delimiter is None:
        delimiter = "\t" if path.suffix.lower() == ".tsv" else ","
    reader = csv.DictReader(io.StringIO(text, newline=""), delimiter=delimiter)
    if reader.fieldnames is None:
        return
    while True:
        number = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            return
        except csv.Error as err:
            reporter.skip(source, f"{path}:{number}", "bad_record", str(err))
            continue
        if any(_has_surrogates(v) for v in row.values()):
            reporter.skip(source, f"{path}:{number}", "non_utf8_text", "bytes that are not UTF-8")
            continue
        yield number, {k: (v if v != "" else None) for k, v in row.items() if k is not None}


def read_table(path: Path, source: str, reporter: Reporter) -> Iterator[tuple[int, dict]]:
    """Dispatch on the suffix: .jsonl/.json -> JSON lines, .csv/.tsv -> delimited."""
    suffix = path.suffix.lower()
    if not path.exists():
        raise BuildError(f"source {source!r}: {path} does not exist")
    if suffix in (".jsonl", ".json"):
        return read_jsonl(path, source, reporter)
    if suffix in (".csv", ".tsv"):
        return read_csv(path, source, reporter)
    raise BuildError(f"source {source!r}: {path}: expected a .jsonl, .csv or .tsv file")


def rename_columns(record: dict, columns: dict | None) -> dict:
    """Apply a ``{source_column: our_column}`` map; unmapped columns are kept unless a renamed one
    takes their name."""
    if not columns:
        return record
    renamed = {k: v for k, v in record.items() if k not in columns and k not in columns.values()}
    renamed.update({columns[k]: v for k, v in record.items() if k in columns})
    return renamed
