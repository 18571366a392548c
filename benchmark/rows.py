"""The rows an evaluation reads: a split as dicts, a task/limit selection, a rank's share, audio ablations."""
from __future__ import annotations

from aramega_ssum.tasks import get_task
from benchmark.prompting import estimate_length


def load_rows(data_dir, split: str = "test", config: str = "multitask") -> list[dict]:
    """Rows of a split as dicts (audio not decoded: {bytes, path})."""
    from aramega_ssum.dataset import load_split

    return [dict(row) for row in load_split(data_dir, split, config)]


ABLATIONS = ("silence",)


def ablate_audio(rows: list[dict], mode: str) -> list[dict]:
    """Copies of `rows` whose audio is replaced: "silence" = zeros of the same length and rate (16-bit WAV).

    An audio ablation shows whether a model's scores come from hearing: on silence, a model that
    hears falls to chance on dialect and emotion and fails ASR; one that only learned priors does not move.
    """
    import io

    import numpy as np
    import soundfile as sf

    from aramega_ssum.audio import decode_audio

    if mode not in ABLATIONS:
        raise ValueError(f"unknown audio ablation {mode!r}; known: {', '.join(ABLATIONS)}")
    out = []
    for row in rows:
        if row.get("audio") is None:
            out.append(row)
            continue
        samples, rate = decode_audio(row["audio"])
        buffer = io.BytesIO()
        sf.write(buffer, np.zeros(len(samples), dtype=np.float32), rate, format="WAV", subtype="PCM_16")
        out.append({**row, "audio": {"bytes": buffer.getvalue(), "path": f"silence-{row.get('id')}.wav"}})
    return out


def select_rows(rows: list[dict], tasks=None, limit: int | None = None) -> list[dict]:
    """The rows of `tasks` (all when None), at most `limit` per task, in split order.

    The `limit` rows of a task are spread evenly over its rows (a split is often sorted by label,
    so its first rows could all share one label), the same rows on every call.
    """
    if tasks:
        for task in tasks:
            get_task(task)  # unknown names fail loudly
        rows = [r for r in rows if r["task"] in tasks]
    if limit is None:
        return rows
    positions: dict[str, list[int]] = {}
    for index, row in enumerate(rows):
        positions.setdefault(row["task"], []).append(index)
    kept = set()
    for indices in positions.values():
        step = max(1.0, len(indices) / limit) if limit else 1.0
        kept.update(indices[int(i * step)] for i in range(min(limit, len(indices))))
    return [row for index, row in enumerate(rows) if index in kept]


def shard_rows(rows: list[dict], rank: int, world_size: int) -> list[dict]:
    """This rank's share of `rows`: sorted by estimated length, then dealt round-robin (balanced work)."""
    order = sorted(range(len(rows)), key=lambda i: (estimate_length(rows[i]), i))
    return [rows[i] for i in sorted(order[rank::world_size])]
