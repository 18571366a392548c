"""Source formats, one file each; ``SOURCE_FORMATS`` maps a format name to its ``prepare_*`` function.

A sources file (YAML) holds a list under ``sources:``; each entry has ``name``, ``format``, ``path``
(relative paths resolve against the sources file's folder), ``tasks`` and format options. Each
``prepare_<format>(spec, ctx)`` yields `builders.items.Item` records and reports bad inputs to
``ctx.reporter``.
"""
from __future__ import annotations

import difflib
import importlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import yaml

from aramega_ssum.schema import TASKS
from builders.items import BuildError, Item, Reporter, UniqueIds

FORMATS = ("embedded", "manifest", "hf", "sada", "label_dirs", "text_pairs", "xlsum")
COMMON_KEYS = {"name", "format", "path", "tasks", "_where"}
TOP_LEVEL_KEYS = {"sources", "summarizer", "summarizer_options"}


@dataclass
class SourceContext:
    """What every source needs: the seed, the skip reporter and the build-wide id registry."""

    seed: int = 0
    reporter: Reporter = field(default_factory=Reporter)
    ids: UniqueIds = field(default_factory=UniqueIds)


def get_format(name: str) -> Callable[[dict, SourceContext], Iterator[Item]]:
    """The ``prepare_<name>`` function of a format; "did you mean" on unknown names."""
    if name not in FORMATS:
        close = difflib.get_close_matches(str(name), FORMATS, n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise BuildError(f"unknown source format {name!r}{hint} (known: {', '.join(FORMATS)})")
    module = importlib.import_module(f"builders.sources.{name}")
    return getattr(module, f"prepare_{name}")


def check_spec(spec: dict, allowed_tasks: tuple[str, ...], options: set[str], where: str) -> dict:
    """Validate one source entry (required keys, known tasks, known options); returns it."""
    missing = [k for k in ("name", "format", "path") if k not in spec]
    if missing:
        raise BuildError(f"{where}: source entry lacks {', '.join(missing)}")
    tasks = spec.get("tasks") or list(allowed_tasks)
    if isinstance(tasks, str):
        tasks = [tasks]
    bad = [t for t in tasks if t not in TASKS or t not in allowed_tasks]
    if bad:
        raise BuildError(f"{where}: source {spec['name']!r} ({spec['format']}) cannot feed task(s) "
                         f"{', '.join(map(str, bad))}; it can feed {', '.join(allowed_tasks)}")
    unknown = set(spec) - COMMON_KEYS - options
    if unknown:
        raise BuildError(f"{where}: source {spec['name']!r}: unknown option(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(options)) or 'none'}")
    return {**spec, "tasks": tuple(t for t in TASKS if t in tasks)}


def load_sources_file(path: str | Path) -> tuple[list[dict], dict]:
    """Read a sources YAML: ``(entries with resolved paths, top-level settings)``."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError) as err:
        raise BuildError(f"cannot read sources file {path}: {err}") from None
    if not isinstance(data, dict) or not isinstance(data.get("sources"), list):
        raise BuildError(f"{path}: expected a mapping with a list under 'sources:'")
    unknown = set(data) - TOP_LEVEL_KEYS
    if unknown:
        raise BuildError(f"{path}: unknown top-level key(s) {', '.join(sorted(unknown))}; "
                         f"known: {', '.join(sorted(TOP_LEVEL_KEYS))}")
    entries, names = [], set()
    for index, spec in enumerate(data["sources"]):
        where = f"{path}: sources[{index}]"
        if not isinstance(spec, dict):
            raise BuildError(f"{where}: expected a mapping")
        if spec.get("name") in names:
            raise BuildError(f"{where}: duplicate source name {spec.get('name')!r}")
        names.add(spec.get("name"))
        if "path" in spec:
            spec = {**spec, "path": str((path.parent / str(spec["path"])).resolve())}
        get_format(spec.get("format"))
        entries.append({**spec, "_where": where})
    settings = {k: v for k, v in data.items() if k != "sources"}
    return entries, settings
