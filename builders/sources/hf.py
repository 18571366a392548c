"""Any dataset that ``datasets.load_dataset`` can open locally (a Hub-layout folder or parquet files).

Corpus: e.g. a local copy of a Hub speech dataset (MASC, QASR exports, an earlier AraMega-SSum
build) or any parquet/arrow export with an audio column.
Layout: ``path`` is a folder (``load_dataset(path, name)``) or a ``.parquet`` file/glob
(``load_dataset("parquet", data_files=path)``); options ``name`` (config), ``split`` (default
``train``), ``columns: {their_name: our_name}`` onto ``audio``, ``text``, ``summary``, ``dialect``,
``emotion``, ``speaker``, ``id``; ``label_map`` for label aliases. Audio is read undecoded
(``Audio(decode=False)``: FLAC/WAV bytes or a path) and decoded with soundfile by the workers.
Licence: that of the dataset (see its card); nothing is fetched from the Hub (offline).
Homepage: https://huggingface.co/docs/datasets
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterator

from aramega_ssum.tasks import AUDIO_TASKS
from builders.items import BuildError, Item
from builders.sources import SourceContext, check_spec
from builders.sources.manifest import record_item

TASKS_FED = ("asr", "ssum", "tsum", "dialect", "emotion")
OPTIONS = {"name", "split", "columns", "label_map", "require_arabic"}
_CACHE: dict = {}


def open_dataset(path: str, name: str | None, split: str, columns: dict | None = None):
    """Load (cached per process) with audio undecoded and columns renamed."""
    key = (path, name, split)
    if key not in _CACHE:
        import datasets

        try:
            if path.endswith(".parquet") or "*" in path:
                table = datasets.load_dataset("parquet", data_files=path, split=split)
            else:
                table = datasets.load_dataset(path, name, split=split)
        except Exception as err:  # noqa: BLE001 - any loader failure names the source
            raise BuildError(f"cannot open {path} (name={name}, split={split}) with datasets: {err}") from err
        renames = {k: v for k, v in (columns or {}).items() if k in table.column_names and k != v}
        shadowed = [v for v in renames.values() if v in table.column_names and v not in renames]
        table = table.remove_columns(shadowed) if shadowed else table
        table = table.rename_columns(renames) if renames else table
        if "audio" in table.column_names and isinstance(table.features["audio"], datasets.Audio):
            table = table.cast_column("audio", datasets.Audio(decode=False))
        _CACHE[key] = table
    return _CACHE[key]


def load_row_audio(ref: dict, where: str):
    """Worker side: decode the audio of row `index` with soundfile."""
    from aramega_ssum.audio import AudioError, decode_audio, read_audio_file

    value = open_dataset(ref["path"], ref.get("name"), ref["split"], ref.get("columns"))[ref["index"]]["audio"]
    if isinstance(value, dict) and value.get("bytes") is None and value.get("path"):
        return read_audio_file(Path(ref["path"]).parent / value["path"] if not Path(value["path"]).is_absolute()
                               else value["path"])
    try:
        return decode_audio(value)
    except Exception as err:  # noqa: BLE001 - any decoder failure is a corrupt input
        raise AudioError("corrupt_audio", f"{where}: {err}") from None


def prepare_hf(spec: dict, ctx: SourceContext) -> Iterator[Item]:
    """Yield one item per row; audio stays in the dataset and is decoded by the workers."""
    spec = check_spec(spec, TASKS_FED, OPTIONS, spec.get("_where", spec.get("name", "hf")))
    split = spec.get("split", "train")
    table = open_dataset(spec["path"], spec.get("name"), split, spec.get("columns"))
    meta = table.remove_columns([c for c in table.column_names if c == "audio"])
    for index, record in enumerate(meta):
        origin, uid = f"{spec['path']}[{split}][{index}]", f"{spec['name']}-{record.get('id') or f'{index:06d}'}"
        audio = None if "audio" not in table.column_names else {
            "kind": "hf", "path": spec["path"], "name": spec.get("name"), "split": split, "index": index,
            "columns": spec.get("columns")}
        item = record_item(spec, ctx, record, origin, uid, "column 'text'", audio)
        if item is None:
            continue
        if audio is None and set(item.tasks) & set(AUDIO_TASKS):
            raise BuildError(f"source {spec['name']!r}: {spec['path']} has no 'audio' column (map one with columns)")
        yield item
