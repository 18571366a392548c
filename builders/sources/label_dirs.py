"""Audio files sorted into one folder per label (dialect or emotion corpora).

Corpus: dialect-identification releases in ADI style (e.g. ADI-5/ADI-17 wav folders per
country/region) and emotion corpora distributed as per-emotion folders (e.g. KSUEmotions,
EYASE-style layouts).
Layout: ``root/<label>/**/*.wav|flac`` (``path`` is ``root``). The label is the top folder's name,
mapped to the task's inventory through ``label_map: {folder_name: label}`` and the task's declared
aliases; a deeper folder (``root/<label>/<speaker>/x.wav``) is taken as the speaker and the split
group. ``tasks`` must be exactly one of ``dialect`` or ``emotion``.
Licence: that of the corpus; ADI releases come through QCRI/MGB challenge terms, many emotion
corpora are research-only (NC) — check before publishing a build.
Homepage: https://arabicspeech.org (ADI / MGB challenges).
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from builders.items import BuildError, Item, map_label
from builders.sources import SourceContext, check_spec

TASKS_FED = ("dialect", "emotion")
OPTIONS = {"label_map", "extensions"}
EXTENSIONS = (".wav", ".flac")


def prepare_label_dirs(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield one classification item per audio file under ``root/<label>/``."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "label_dirs")))
    if len(spec["tasks"]) != 1:
        raise BuildError(f"source {spec['name']!r} (label_dirs): give exactly one task, dialect or emotion")
    task, root = spec["tasks"][0], Path(spec["path"])
    if not root.is_dir():
        raise BuildError(f"source {spec['name']!r}: {root} is not a folder")
    extensions = tuple(e.lower() for e in spec.get("extensions", EXTENSIONS))
    for folder in sorted(p for p in root.iterdir() if p.is_dir()):
        label = map_label(task, folder.name, spec.get("label_map"))
        files = sorted(p for p in folder.rglob("*") if p.is_file() and p.suffix.lower() in extensions)
        for path in files:
            relative = path.relative_to(root)
            uid = f"{spec['name']}-{relative.with_suffix('').as_posix().replace('/', '-')}"
            if label is None:
                ctx.reporter.skip(spec["name"], str(path), "unknown_label",
                                  f"folder {folder.name!r} is not a {task} label (add it to label_map)", uid)
                continue
            if not ctx.ids.claim(uid, str(path), spec["name"], ctx.reporter):
                continue
            speaker = relative.parts[1] if len(relative.parts) > 2 else None
            yield Item(uid=uid, source=spec["name"], group=f"{label}/{speaker}" if speaker else uid,
                       tasks=(task,), origin=str(path), audio={"kind": "file", "path": str(path)},
                       speaker=speaker, stratum=f"{task}:{label}", **{task: label})
