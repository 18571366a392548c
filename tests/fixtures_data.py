"""Data fixtures (owned by the builders work).

- ``embedded_dataset``: path of the embedded default (seed 0, espeak-ng), built with
  ``python -m builders.build``'s own code path at most once per test session. The build is cached
  under ``.cache/test-data/embedded-<key>/`` where the key hashes the corpus text and every source
  file that shapes the output (builders/**, aramega_ssum/{audio,schema,tasks,text}.py), so a
  session reuses an identical earlier build and any change rebuilds. ``ARAMEGA_TEST_NO_CACHE=1``
  builds into the session's tmp dir instead. Treat the folder as read-only.
- ``mini_corpus_dir``: that small corpus (5 documents, 15 dialect, 15 emotion, 4 code-switched).
- ``mini_dataset``: a build of the small corpus (fast; for tests that need any valid build).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MINI_CORPUS = ROOT / "tests" / "data" / "builders" / "mini_corpus"


def _input_key(corpus: Path) -> str:
    """Hash of everything that determines the embedded build's bytes."""
    files = sorted(corpus.glob("*.jsonl")) + sorted((ROOT / "builders").rglob("*.py"))
    files += [ROOT / "aramega_ssum" / name for name in ("audio.py", "dataset.py", "schema.py", "tasks.py", "text.py")]
    digest = hashlib.sha256()
    for path in files:
        digest.update(path.name.encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:16]


def _build(output: Path, corpus_dir: Path | None = None, num_proc: int = 2) -> Path:
    from builders.build import build, parse_args

    argv = ["--output", str(output), "--seed", "0", "--no-progress", "--num-proc", str(num_proc)]
    if corpus_dir is not None:
        argv += ["--corpus-dir", str(corpus_dir)]
    build(parse_args(argv))
    return output


@pytest.fixture(scope="session")
def mini_corpus_dir() -> Path:
    return MINI_CORPUS


@pytest.fixture(scope="session")
def embedded_dataset(tmp_path_factory) -> Path:
    """The embedded default dataset folder (seed 0), built once per session."""
    from builders.sources.embedded import FILES, corpus_dir

    from builders.build import ensure_dataset

    shipped = corpus_dir()
    corpus = shipped if all((shipped / name).exists() for name in FILES) else MINI_CORPUS
    options = {"num_proc": int(os.environ.get("ARAMEGA_TEST_NUM_PROC", "2"))}
    if corpus == MINI_CORPUS:
        options["corpus_dir"] = str(MINI_CORPUS)
    if os.environ.get("ARAMEGA_TEST_NO_CACHE"):
        target = tmp_path_factory.mktemp("embedded") / "aramega-ssum"
    else:
        target = ROOT / ".cache" / "test-data" / f"embedded-{_input_key(corpus)}" / "aramega-ssum"
        _remove_stale(target.parent)
    return ensure_dataset(target, seed=0, **options)


def _remove_stale(current: Path, max_age_s: float = 3600) -> None:
    """Delete cached embedded builds of other inputs untouched for an hour."""
    import shutil
    import time

    for other in current.parent.glob("embedded-*"):
        if other != current and time.time() - other.stat().st_mtime > max_age_s:
            shutil.rmtree(other, ignore_errors=True)


@pytest.fixture(scope="session")
def mini_dataset(tmp_path_factory) -> Path:
    """A build of the small test corpus (seed 0)."""
    return _build(tmp_path_factory.mktemp("mini") / "aramega-ssum", MINI_CORPUS, 1)


@pytest.fixture(scope="session")
def ray_local():
    """A local 2-CPU Ray, started once per test session (the builds reuse it) and shut down after."""
    ray = pytest.importorskip("ray")
    if not ray.is_initialized():
        ray.init(num_cpus=2, object_store_memory=256 << 20, include_dashboard=False, log_to_driver=False)
    yield ray
    ray.shutdown()


# --- real-source fixtures (tiny files written into a tmp dir) ---------------------------------

ARABIC = ["ذهب الطالب إلى المكتبة", "الجو بارد اليوم في المدينة", "قرأت الخبر في الجريدة",
          "وصل الضيوف إلى المطار مساء", "افتتحت البلدية حديقة جديدة", "ارتفعت أسعار الخضار هذا الأسبوع"]


def tone(seconds: float, rate: int, channels: int = 1, freq: float = 220.0, seed: int = 0):
    """A deterministic test signal (tone + a little noise), [frames, channels] float32."""
    import numpy as np

    t = np.arange(int(seconds * rate)) / rate
    rng = np.random.default_rng(seed)
    mono = 0.3 * np.sin(2 * np.pi * freq * t) + 0.01 * rng.standard_normal(t.size)
    return np.stack([mono * (1 - 0.2 * c) for c in range(channels)], axis=1).astype("float32")


def write_wav(path: Path, seconds: float, rate: int = 44100, channels: int = 2, subtype: str = "PCM_16",
              seed: int = 0) -> Path:
    import soundfile as sf

    path.parent.mkdir(parents=True, exist_ok=True)
    sf.write(str(path), tone(seconds, rate, channels, seed=seed), rate, subtype=subtype)
    return path


def write_jsonl(path: Path, records) -> Path:
    import json

    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records), encoding="utf-8")
    return path


def make_manifest_source(root: Path) -> Path:
    """manifest.jsonl with 4 good rows (44.1 kHz stereo, 22.05 kHz mono, 8 kHz, FLAC)."""
    write_wav(root / "audio" / "a.wav", 1.5, 44100, 2, seed=1)
    write_wav(root / "audio" / "b.wav", 1.0, 22050, 1, seed=2)
    write_wav(root / "audio" / "c.wav", 1.2, 8000, 1, seed=3)
    write_wav(root / "audio" / "d.flac", 0.8, 48000, 1, seed=4)
    return write_jsonl(root / "manifest.jsonl", [
        {"id": "a", "audio": "audio/a.wav", "text": ARABIC[0], "summary": ARABIC[1], "dialect": "Egyptian",
         "speaker": "s1"},
        {"id": "b", "audio": "audio/b.wav", "text": ARABIC[1], "summary": ARABIC[2], "dialect": "GLF", "speaker": "s2"},
        {"id": "c", "audio": "audio/c.wav", "text": ARABIC[2], "emotion": "فرح", "speaker": "s3"},
        {"id": "d", "audio": "audio/d.flac", "text": ARABIC[3], "summary": ARABIC[4], "speaker": "s4"},
    ])


def make_sada_source(root: Path) -> Path:
    """A SADA-layout root: two 20 s episodes (16 kHz) and train.csv with 6 timed segments."""
    import csv

    write_wav(root / "batch_1" / "ep1.wav", 20.0, 16000, 1, seed=5)
    write_wav(root / "batch_1" / "ep2.wav", 20.0, 16000, 1, seed=6)
    header = ["FileName", "ShowName", "SegmentID", "SegmentLength", "SegmentStart", "SegmentEnd", "SpeakerAge",
              "SpeakerGender", "SpeakerDialect", "Speaker", "Environment", "GroundTruthText", "ProcessedText"]
    rows = [("batch_1/ep1", "s-1", 0.5, 4.0, "Najdi", "spk-a", ARABIC[0]),
            ("batch_1/ep1", "s-2", 4.5, 9.0, "Najdi", "spk-a", ARABIC[1]),
            ("batch_1/ep1", "s-3", 10.0, 14.0, "Hijazi", "spk-b", ARABIC[2]),
            ("batch_1/ep2", "s-4", 1.0, 5.0, "Egyptian", "spk-c", ARABIC[3]),
            ("batch_1/ep2", "s-5", 6.0, 8.0, "Levantine", "spk-c", ARABIC[4]),
            ("batch_1/ep2", "s-6", 9.0, 12.0, "More than 1 speaker اكثر من متحدث", "spk-d", ARABIC[5])]
    root.mkdir(parents=True, exist_ok=True)
    with open(root / "train.csv", "w", newline="", encoding="utf-8") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        for name, seg, start, end, dialect, speaker, text in rows:
            writer.writerow([name, "show", seg, end - start, start, end, "Adult", "Male", dialect, speaker, "Clean",
                             text, text])
    return root


def make_label_dirs_source(root: Path) -> Path:
    """root/<label>/<speaker>/*.wav for dialect: Egyptian, GLF (+ an unknown 'Martian' folder)."""
    for label, speaker, seed in (("Egyptian", "spk1", 7), ("Egyptian", "spk2", 8), ("GLF", "spk3", 9),
                                 ("GLF", "spk4", 10), ("levantine", "spk5", 11)):
        write_wav(root / label / speaker / f"utt{seed}.wav", 0.7, 16000, 1, seed=seed)
    write_wav(root / "Martian" / "spk9" / "x.wav", 0.5, 16000, 1)
    return root


def make_text_pairs_source(root: Path) -> Path:
    return write_jsonl(root / "pairs.jsonl", [
        {"id": "p1", "document": "أعلنت الشركة عن منتج جديد. وسيطرح في الأسواق قريبا.", "summary": "منتج جديد قريبا."},
        {"id": "p2", "document": "هطلت أمطار غزيرة على العاصمة. وتعطلت حركة المرور.", "summary": "أمطار تعطل المرور."},
    ])


def make_mixed_sources(root: Path) -> Path:
    """A sources.yaml mixing manifest, sada, label_dirs and text_pairs (relative paths)."""
    make_manifest_source(root / "manifest")
    make_sada_source(root / "sada")
    make_label_dirs_source(root / "adi")
    make_text_pairs_source(root / "pairs")
    (root / "sources.yaml").write_text(
        "sources:\n"
        "  - {name: man, format: manifest, path: manifest/manifest.jsonl, tasks: [asr, ssum, dialect, emotion]}\n"
        "  - {name: sada, format: sada, path: sada, tasks: [asr, dialect, ssum, tsum], chunk_seconds: 10}\n"
        "  - {name: adi, format: label_dirs, path: adi, tasks: [dialect]}\n"
        "  - {name: pairs, format: text_pairs, path: pairs/pairs.jsonl, tasks: [tsum, ssum, asr]}\n",
        encoding="utf-8")
    return root / "sources.yaml"


def make_bad_inputs(root: Path) -> tuple[Path, dict]:
    """A manifest with 3 good rows and one row per bad-input case; returns (sources.yaml, expected).

    `expected` maps a row id (or line) to the reason the build must report. Build with --max-seconds 2.
    """
    import json

    import numpy as np
    import soundfile as sf

    audio = root / "audio"
    for name, seed in (("good1", 1), ("good2", 2), ("good3", 3), ("dup", 4)):
        write_wav(audio / f"{name}.wav", 1.0, 44100, 2, seed=seed)
    (audio / "corrupt.wav").write_bytes(b"RIFF\x00\x01garbage-not-audio" * 10)
    (audio / "empty.wav").write_bytes(b"")
    sf.write(str(audio / "zero.wav"), np.zeros((0, 1), dtype="float32"), 16000)
    (audio / "dir.wav").mkdir()
    nan = tone(1.0, 16000, 1)
    nan[100:110] = np.nan
    sf.write(str(audio / "nan.wav"), nan, 16000, subtype="FLOAT")
    write_wav(audio / "long.wav", 3.0, 16000, 1)
    rows = [
        ("good1", "good1.wav", ARABIC[0], "EGY", None), ("corrupt", "corrupt.wav", ARABIC[1], None, "corrupt_audio"),
        ("empty", "empty.wav", ARABIC[1], None, "empty_file"), ("zero", "zero.wav", ARABIC[1], None, "empty_audio"),
        ("dir", "dir.wav", ARABIC[1], None, "unreadable_audio"), ("nan", "nan.wav", ARABIC[1], None, "nan_samples"),
        ("long", "long.wav", ARABIC[1], None, "too_long"), ("missing", "missing.wav", ARABIC[1], None, "missing_file"),
        ("blank", "good2.wav", "   ", None, "empty_text"), ("english", "good2.wav", "hello world", None, "non_arabic_text"),
        ("good2", "good2.wav", ARABIC[2], "LEV", None), ("dup", "dup.wav", ARABIC[3], None, None),
        ("dup", "dup.wav", ARABIC[4], None, "duplicate_id"), ("klingon", "good3.wav", ARABIC[4], "Klingon", "unknown_label"),
        ("good3", "good3.wav", ARABIC[5], "NOR", None),
    ]
    lines = [json.dumps({"id": i, "audio": f"audio/{a}", "text": t, **({"dialect": d} if d else {})},
                        ensure_ascii=False).encode() for i, a, t, d, _ in rows]
    lines.insert(3, '{"id": "latin", "audio": "audio/good1.wav", "text": "caf\xe9"}'.encode("latin-1"))
    (root / "manifest.jsonl").write_bytes(b"\n".join(lines) + b"\n")
    expected = {i: r for i, _, _, _, r in rows if r}
    expected["line 4"] = "non_utf8_text"
    (root / "sources.yaml").write_text(
        "sources:\n  - {name: bad, format: manifest, path: manifest.jsonl, tasks: [asr, dialect]}\n", encoding="utf-8")
    return root / "sources.yaml", expected


@pytest.fixture()
def bad_inputs(tmp_path) -> tuple[Path, dict]:
    return make_bad_inputs(tmp_path / "bad")


@pytest.fixture()
def mixed_sources(tmp_path) -> Path:
    return make_mixed_sources(tmp_path / "mixed")
