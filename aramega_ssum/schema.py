"""The record schema, declared once: field names, types and docs for both dataset configs.

`datasets.Features`, record validation and the dataset card's schema table are all derived from
`FIELDS`. The `ssum` config follows Mega-SSum (`id, audio, transcription, summary`) plus provenance;
the `multitask` config carries every field.
"""
from __future__ import annotations

from dataclasses import dataclass

SAMPLING_RATE = 16_000
TASKS = ("asr", "ssum", "tsum", "dialect", "emotion")
SPLITS = ("train", "validation", "test")
CONFIGS = ("ssum", "multitask")


@dataclass(frozen=True)
class Field:
    name: str
    dtype: str  # "string" | "float32" | "audio"
    nullable: bool
    doc: str


FIELDS: tuple[Field, ...] = (
    Field("id", "string", False, "Unique, stable example id (deterministic for a given build)."),
    Field("task", "string", False, "One of asr, ssum, tsum, dialect, emotion."),
    Field("audio", "audio", True, "16 kHz mono speech, FLAC bytes; null for tsum."),
    Field("text", "string", True, "Input text for tsum; null for audio tasks."),
    Field("instruction", "string", False, "The prompt given to the model (Arabic or English)."),
    Field("target", "string", False, "Exactly what the model must output."),
    Field("label", "string", True, "Canonical label for dialect/emotion; null otherwise."),
    Field("transcription", "string", True, "Verbatim transcription of the audio: for synthesized speech, "
          "exactly the text the TTS voice spoke (numbers spelled out, unsayable characters removed)."),
    Field("source_text", "string", True, "The source's untouched text (before the TTS front-end); equals "
          "`transcription` for recorded speech. Score against either."),
    Field("summary", "string", True, "Reference summary (ssum, tsum)."),
    Field("dialect", "string", True, "Dialect of the speech or text, when known."),
    Field("emotion", "string", True, "Emotion of the speech, when known."),
    Field("speaker", "string", True, "Speaker id (TTS voice for synthesized speech)."),
    Field("source", "string", False, "Name of the source the example came from."),
    Field("duration", "float32", True, "Audio duration in seconds; null for tsum."),
)

CONFIG_FIELDS: dict[str, tuple[str, ...]] = {
    "ssum": ("id", "audio", "transcription", "source_text", "summary", "speaker", "source", "duration"),
    "multitask": tuple(f.name for f in FIELDS),
}

_BY_NAME = {f.name: f for f in FIELDS}


def fields_for(config: str) -> tuple[Field, ...]:
    """The ordered fields of a dataset config."""
    if config not in CONFIG_FIELDS:
        raise ValueError(f"unknown config {config!r}; expected one of {', '.join(CONFIGS)}")
    return tuple(_BY_NAME[name] for name in CONFIG_FIELDS[config])


def features(config: str):
    """`datasets.Features` for a config (audio as the `Audio` feature at 16 kHz)."""
    import datasets

    def to_feature(f: Field):
        if f.dtype == "audio":
            return datasets.Audio(sampling_rate=SAMPLING_RATE)
        return datasets.Value(f.dtype)

    return datasets.Features({f.name: to_feature(f) for f in fields_for(config)})


def arrow_schema(config: str):
    """The pyarrow schema of a config's parquet shards (audio as {bytes, path})."""
    import pyarrow as pa

    audio_type = pa.struct([("bytes", pa.binary()), ("path", pa.string())])
    types = {"string": pa.string(), "float32": pa.float32(), "audio": audio_type}
    return pa.schema([pa.field(f.name, types[f.dtype], nullable=f.nullable) for f in fields_for(config)])


def validate_record(record: dict, config: str = "multitask") -> list[str]:
    """Problems with one record (missing keys, nulls where not allowed, unknown task); [] if valid."""
    problems = []
    for f in fields_for(config):
        if f.name not in record:
            problems.append(f"missing field {f.name!r}")
        elif record[f.name] is None and not f.nullable:
            problems.append(f"field {f.name!r} is null")
    task = record.get("task")
    if "task" in CONFIG_FIELDS[config] and task is not None and task not in TASKS:
        problems.append(f"unknown task {task!r}")
    return problems


def markdown_table(config: str = "multitask") -> str:
    """The schema as a Markdown table, for the dataset card."""
    rows = ["| field | type | nullable | description |", "|---|---|---|---|"]
    for f in fields_for(config):
        rows.append(f"| `{f.name}` | {f.dtype} | {'yes' if f.nullable else 'no'} | {f.doc} |")
    return "\n".join(rows)
