"""The one JSON Lines reader: every record with its line number, errors naming the file and line.

Used for predictions (`aramega_ssum.predictions`), source tables (`builders.tables`), the training
log, the tokenizer corpus and the loss plots. Strict by default; `on_error` makes it lenient (a
builder reports and skips a bad line of a source).
"""
from __future__ import annotations

import codecs
import json
import os
from pathlib import Path
from typing import Any, Callable, Iterator


class JSONLError(ValueError):
    """A line that is not UTF-8 (`kind` "utf8") or not JSON (`kind` "json"): ``path:line: reason``."""

    def __init__(self, path: Path, line: int, kind: str, detail: str) -> None:
        self.path, self.line, self.kind, self.detail = path, line, kind, detail
        self.reason = f"{'not valid UTF-8' if kind == 'utf8' else 'invalid JSON'} ({detail})"
        super().__init__(f"{path}:{line}: {self.reason}")


def iter_jsonl(path: str | os.PathLike, *, on_error: Callable[[JSONLError], None] | None = None
               ) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line, streaming the file.

    Lines end at "\\n" only: ``str.splitlines`` would also split at U+2028/U+2029, which a JSON
    string may hold unescaped. A UTF-8 byte-order mark before the first line is skipped. A line that
    is not UTF-8 or not JSON raises `JSONLError`, or, with `on_error`, is handed to it and skipped.
    """
    path = Path(path)
    with open(path, "rb") as handle:
        for number, raw in enumerate(handle, start=1):  # binary lines end at b"\n" only
            if number == 1 and raw.startswith(codecs.BOM_UTF8):
                raw = raw[len(codecs.BOM_UTF8):]
            try:
                text = raw.decode("utf-8")
            except UnicodeDecodeError as err:
                error = JSONLError(path, number, "utf8", str(err))
            else:
                if not text.strip():
                    continue
                try:
                    value = json.loads(text)
                except json.JSONDecodeError as err:
                    error = JSONLError(path, number, "json", f"{err.msg} at column {err.colno}")
                else:
                    yield number, value
                    continue
            if on_error is None:
                raise error
            on_error(error)
