"""Careful reading of submitted files: size limit, strict UTF-8, strict JSON.

Strict JSON here means: no NaN/Infinity literals, no numbers overflowing to infinity, no duplicate
keys in an object, nesting at most MAX_DEPTH levels. Problems are appended to a list as
"key.path: message"; the functions return None when the content cannot be used.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from leaderboards.checks import dotted

MAX_BYTES = 50 * 1024 * 1024
MAX_DEPTH = 32


class _NonFinite:
    """Stands for a NaN/Infinity literal while parsing, so the walk can name its key path."""

    def __init__(self, literal: str) -> None:
        self.literal = literal


class _DuplicateKey(ValueError):
    pass


def read_bytes_checked(path: Path, what: str, problems: list[str]) -> bytes | None:
    """The file's bytes, or None with a problem when missing, not a regular file, or > 50 MB."""
    try:
        if not path.is_file():
            problems.append(f"{what}: {path} does not exist or is not a regular file")
            return None
        size = path.stat().st_size
        if size > MAX_BYTES:
            problems.append(f"{what}: {path} is {size:,} bytes, over the {MAX_BYTES:,}-byte (50 MB) limit; refused")
            return None
        return path.read_bytes()
    except OSError as exc:
        problems.append(f"{what}: cannot read {path} ({exc.strerror or exc})")
        return None


def decode_utf8(raw: bytes, what: str, problems: list[str]) -> str | None:
    """Strict UTF-8 text, or None with a problem naming the byte offset and line."""
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        problems.append(f"{what}: not valid UTF-8 (byte offset {exc.start}, line {line}); files must be UTF-8")
        return None


def _pairs_hook(pairs: list[tuple[str, Any]]) -> dict:
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise _DuplicateKey(key)
        out[key] = value
    return out


def parse_json_strict(text: str, problems: list[str]) -> Any:
    """Parse JSON refusing duplicate keys, NaN/Infinity, overflowing numbers and deep nesting."""
    try:
        data = json.loads(text, object_pairs_hook=_pairs_hook, parse_constant=_NonFinite)
    except _DuplicateKey as exc:
        problems.append(f"(file): duplicate key {exc.args[0]!r} in a JSON object; every key must appear once")
        return None
    except RecursionError:
        problems.append(f"(file): JSON nested too deeply (limit {MAX_DEPTH} levels)")
        return None
    except json.JSONDecodeError as exc:
        problems.append(f"(file): not valid JSON ({exc.msg} at line {exc.lineno}, column {exc.colno})")
        return None
    before = len(problems)
    _walk_values(data, (), 0, problems)
    return data if len(problems) == before else None


def _walk_values(node: Any, path: tuple, depth: int, problems: list[str]) -> None:
    if depth > MAX_DEPTH:
        problems.append(f"{dotted(path)}: nested deeper than {MAX_DEPTH} levels; refused")
        return
    if isinstance(node, _NonFinite):
        problems.append(f"{dotted(path)}: {node.literal} is not allowed; numbers must be finite")
    elif isinstance(node, float) and not math.isfinite(node):
        problems.append(f"{dotted(path)}: number overflows to infinity; numbers must be finite")
    elif isinstance(node, dict):
        for key, value in node.items():
            _walk_values(value, (*path, key), depth + 1, problems)
    elif isinstance(node, list):
        for i, value in enumerate(node):
            _walk_values(value, (*path, i), depth + 1, problems)
