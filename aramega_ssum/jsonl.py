"""Strict JSON Lines reading: every record with its line number, errors naming the file and line."""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any, Iterator


def iter_jsonl(path: str | os.PathLike) -> Iterator[tuple[int, Any]]:
    """Yield ``(line_number, value)`` for each non-blank line; ValueError names ``path:line``.

    Lines end at "\n" only: ``str.splitlines`` would also split at U+2028/U+2029, which a JSON
    string may hold unescaped.
    """
    path = Path(path)
    for n, line in enumerate(path.read_text(encoding="utf-8").split("\n"), 1):
        if not line.strip():
            continue
        try:
            yield n, json.loads(line)
        except json.JSONDecodeError as err:
            raise ValueError(f"{path}:{n}: invalid JSON ({err})") from None
