"""Streaming parquet writer: one ParquetWriter per (config, split), small row groups, size-capped shards.

Rows are buffered only up to a row group (100 rows or 8 MiB), so memory does not grow with the
corpus. A shard is closed before a row group would take it past ``max_shard_bytes`` (500 MiB by
default; counted as row payload, the FLAC and text bytes), so shard boundaries depend only on the rows
in order, never on the engine or the number of workers. Shards are renamed ``{split}-{i:05d}-of-{n:05d}.parquet`` on close. The arrow schema carries
the ``datasets`` features in its ``huggingface`` metadata so the Audio feature survives any loader.
"""
from __future__ import annotations

import json
import logging
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq

from aramega_ssum.schema import SAMPLING_RATE, arrow_schema, fields_for

logger = logging.getLogger(__name__)

ROW_GROUP_ROWS = 100
ROW_GROUP_BYTES = 8 << 20
SHARD_BYTES = 500 << 20


def features_dict(config: str) -> dict:
    """``datasets.Features(...).to_dict()`` of a config, without importing datasets (seconds)."""
    return {f.name: ({"sampling_rate": SAMPLING_RATE, "_type": "Audio"} if f.dtype == "audio"
                     else {"dtype": f.dtype, "_type": "Value"}) for f in fields_for(config)}


def features_yaml(config: str) -> list[dict]:
    """``datasets.Features(...)._to_yaml_list()`` of a config, for the card's dataset_info."""
    return [{"name": f.name, "dtype": {"audio": {"sampling_rate": SAMPLING_RATE}} if f.dtype == "audio"
             else f.dtype} for f in fields_for(config)]


def _schema(config: str) -> pa.Schema:
    meta = {"info": {"features": features_dict(config)}}
    return arrow_schema(config).with_metadata({"huggingface": json.dumps(meta, sort_keys=True)})


def _row_bytes(row: dict) -> int:
    audio = row.get("audio")
    text = sum(len(v) for v in row.values() if isinstance(v, str))
    return text + (len(audio["bytes"]) if audio and audio.get("bytes") else 0)


class _SplitWriter:
    def __init__(self, folder: Path, split: str, schema: pa.Schema, max_shard_bytes: int = SHARD_BYTES):
        self.folder, self.split, self.schema, self.max_shard_bytes = folder, split, schema, max_shard_bytes
        self.group_bytes = min(ROW_GROUP_BYTES, max(1, max_shard_bytes // 4))  # several groups per shard
        self.shards: list[Path] = []
        self.writer: pq.ParquetWriter | None = None
        self.buffer: list[dict] = []
        self.buffered = self.shard_bytes = 0

    def add(self, row: dict) -> None:
        self.buffer.append(row)
        self.buffered += _row_bytes(row)
        if len(self.buffer) >= ROW_GROUP_ROWS or self.buffered >= self.group_bytes:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        if self.writer is None or self.shard_bytes + self.buffered > self.max_shard_bytes and self.shard_bytes:
            self._open_shard()
        table = pa.Table.from_pylist(self.buffer, schema=self.schema)
        self.writer.write_table(table, row_group_size=len(self.buffer))
        self.shard_bytes += self.buffered
        self.buffer, self.buffered = [], 0
        del table
        pa.default_memory_pool().release_unused()  # give the encoder's buffers back between groups

    def _open_shard(self) -> None:
        if self.writer is not None:
            self.writer.close()
        path = self.folder / f"{self.split}-{len(self.shards):05d}.parquet"
        self.shards.append(path)
        columns = [f"{f.name}.{child.name}" if pa.types.is_struct(f.type) else f.name
                   for f in self.schema for child in (f.type if pa.types.is_struct(f.type) else [None])]
        plain = [c for c in columns if c != "audio.bytes"]  # FLAC: neither compress nor dictionary-encode
        self.writer = pq.ParquetWriter(path, self.schema, use_dictionary=plain,
                                       compression={c: ("none" if c == "audio.bytes" else "zstd") for c in columns})
        self.shard_bytes = 0

    def close(self) -> list[Path]:
        self.flush()
        if self.writer is None:  # an empty split still gets one (empty) shard
            self._open_shard()
        self.writer.close()
        final = []
        for index, path in enumerate(self.shards):
            target = path.with_name(f"{self.split}-{index:05d}-of-{len(self.shards):05d}.parquet")
            path.rename(target)
            final.append(target)
        return final


class DatasetWriter:
    """Writes rows of several configs and splits under ``root/<config>/``."""

    def __init__(self, root: Path, configs: tuple[str, ...], splits: tuple[str, ...],
                 max_shard_bytes: int = SHARD_BYTES):
        # pyarrow's first conversion from Python objects imports pandas (~50 MB, once): pay it up
        # front so the peak memory of a build does not depend on when the first row group flushes.
        pa.array([b""], type=pa.binary())
        self.writers = {}
        for config in configs:
            (root / config).mkdir(parents=True, exist_ok=True)
            schema = _schema(config)
            for split in splits:
                self.writers[config, split] = _SplitWriter(root / config, split, schema, max_shard_bytes)

    def add(self, config: str, split: str, row: dict) -> None:
        self.writers[config, split].add(row)

    def close(self) -> dict[str, dict[str, list[str]]]:
        files: dict[str, dict[str, list[str]]] = {}
        for (config, split), writer in self.writers.items():
            files.setdefault(config, {})[split] = [p.name for p in writer.close()]
        return files
