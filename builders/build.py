"""Build AraMega-SSum and the multitask mix into a Hub-layout folder.

Examples::

    python -m builders.build                                   # embedded corpus -> ./aramega-ssum
    python -m builders.build --output-dir /data/aramega-ssum --sources sources.yaml --num-proc 8
    python -m builders.build --tts mms --tts-model facebook/mms-tts-ara --max-audio-seconds 120 --strict
    python -m builders.build --dataset-config ssum --seed 1
    python -m builders.build --output-dir aramega-ssum --overwrite          # replace an earlier build
    python -m builders.build --sources recipes/xlsum.yaml --tts mms --engine ray --ray-num-gpus 0.25 --num-proc 8

Then, from the output's parent folder: ``load_dataset("aramega-ssum")`` (the ssum config) or
``load_dataset("aramega-ssum", "multitask")``.

A sources file (relative paths resolve against its folder; formats in builders/sources/)::

    summarizer: Qwen/Qwen2.5-7B-Instruct          # optional, for sources without summaries
    summarizer_options: {max_new_tokens: 96, device: cuda}
    sources:
      - {name: sada, format: sada, path: /corpora/sada2022, tasks: [asr, dialect, ssum], chunk_seconds: 60}
      - {name: adi, format: label_dirs, path: /corpora/adi17/wav, tasks: [dialect],
         label_map: {Egypt: EGY, Saudi: GLF, Syria: LEV, Morocco: NOR}}
      - {name: pairs, format: text_pairs, path: pairs.jsonl, tasks: [tsum, ssum]}
      - {name: xlsum, format: xlsum, path: /corpora/xlsum, max_words: 200, truncate: sentence}
      - {name: mine, format: manifest, path: manifest.csv, tasks: [asr, emotion]}

Outputs: <output-dir>/{ssum,multitask}/{train,validation,test}-NNNNN-of-NNNNN.parquet, README.md (the
card), build_report.json (rows per config/split/task/label, hours, every skipped input and why).
The output folder must be new, empty, or an earlier build (it holds build_report.json) with
--overwrite; it is replaced atomically once the new build is complete.
"""
from __future__ import annotations

import argparse
import contextlib
import logging
import re
import shutil
import sys
import time
from pathlib import Path

from tqdm import tqdm

from aramega_ssum.cli import cli_main, setup_logging
from aramega_ssum.schema import CONFIGS, SPLITS
from aramega_ssum.tasks import AUDIO_TASKS
from aramega_ssum.text import NORMALIZER_VERSION
from builders.frontend import frontend_for, speak_items
from builders.items import BuildError, Item
from builders.pool import ordered_map
from builders.render import BackendError, init_worker, render_job, single_thread_blas
from builders.report import Stats, write_report
from builders.rows import rows_for, ssum_record
from builders.sources import SourceContext, get_format, load_sources_file
from builders.sources.embedded import default_spec
from builders.splits import DEFAULT_RATIOS, assign_splits
from builders.writer import DatasetWriter

logger = logging.getLogger(__name__)

BUILDER_VERSION = "1.0"


def collect_items(entries: list[dict], ctx: SourceContext) -> list[Item]:
    """Enumerate every source (metadata only: audio stays on disk or as a TTS request)."""
    items: list[Item] = []
    for spec in entries:
        before = len(items)
        items.extend(get_format(spec["format"])(spec, ctx))
        logger.info("source %s (%s): %d items", spec["name"], spec["format"], len(items) - before)
    return items


def add_summaries(items: list[Item], summarizer, ctx: SourceContext) -> list[Item]:
    """Fill missing summaries with the summarizer; items without a usable one lose ssum/tsum (reported:
    ``missing_summary``, or the summarizer's ``summary_cut`` / ``summary_empty``)."""
    needing = [it for it in items if it.summary is None and {"ssum", "tsum"} & set(it.tasks)]
    problems: dict[str, str] = {}
    if needing and summarizer is not None:
        texts = [it.document or it.transcription for it in needing]
        for item, result in zip(needing, summarizer.generate(texts)):
            if result.problem is None:
                item.summary = result.text
            else:
                problems[item.uid] = result.problem
    kept = []
    for item in items:
        if item.summary is None and {"ssum", "tsum"} & set(item.tasks):
            reason = problems.get(item.uid, "missing_summary")
            detail = {"summary_cut": "the summarizer stopped at max_new_tokens (a continuation, not a summary)",
                      "summary_empty": "the summarizer returned an empty summary",
                      "missing_summary": "no summary column and no --summarizer"}[reason]
            ctx.reporter.skip(item.source, item.origin, reason, f"{detail}; ssum/tsum rows dropped", item.uid)
            item.tasks = tuple(t for t in item.tasks if t not in ("ssum", "tsum"))
        if item.tasks:
            kept.append(item)
    return kept


def _jobs(items: list[Item]):
    for item in items:
        needs_audio = item.audio is not None and set(item.tasks) & set(AUDIO_TASKS)
        parts = "asr" in item.tasks and len(item.parts) > 1
        yield (item.audio if needs_audio else None, item.origin, parts)


def write_rows(items, splits, root: Path, configs, args, ctx: SourceContext) -> tuple[Stats, dict]:
    """Render audio in `num_proc` processes (in order) and stream rows into parquet shards."""
    writer, stats = DatasetWriter(root, configs, SPLITS, max_shard_bytes=args.max_shard_size), Stats()
    initargs = (args.tts, args.tts_model, args.max_seconds, args.seed, args.num_proc > 1 or args.engine == "ray",
                args.min_seconds)
    if args.engine == "ray":
        from builders.engine_ray import ray_map

        results = ray_map(_jobs(items), initargs, concurrency=args.num_proc, num_gpus=args.ray_num_gpus,
                          address=args.ray_address)
    else:
        results = ordered_map(render_job, _jobs(items), num_proc=args.num_proc, initializer=init_worker,
                              initargs=initargs)
    with single_thread_blas() if args.num_proc == 1 else contextlib.nullcontext():  # one process, one core
        _consume(items, results, splits, writer, stats, configs, args, ctx)
    return stats, writer.close()


def _consume(items, results, splits, writer, stats, configs, args, ctx: SourceContext) -> None:
    for item, result in tqdm(zip(items, results), total=len(items), desc="audio", unit="item",
                             disable=not args.progress):
        if result is not None and not result["ok"]:
            ctx.reporter.skip(item.source, item.origin, result["reason"], result["detail"], item.uid)
            continue
        if result is not None and result.get("speaker") and item.speaker is None:
            item.speaker = result["speaker"]
        stats.add_item(result["duration"] if result else None)
        split = splits[f"{item.source}:{item.group}"]
        for row in rows_for(item, result):
            if "multitask" in configs:
                writer.add("multitask", split, row)
                stats.add("multitask", split, row)
            if "ssum" in configs and row["task"] == "ssum":
                writer.add("ssum", split, ssum_record(row))
                stats.add("ssum", split, row)


def _speak(items: list[Item], args, ctx: SourceContext) -> tuple[list[Item], dict]:
    """The text front-end of the chosen TTS voice over every TTS item (see builders/frontend.py)."""
    if not any(it.audio and it.audio.get("kind") == "tts" for it in items):
        return items, {"charset": None, "items_changed": 0, "by_kind": {}, "items": []}
    try:
        frontend = frontend_for(args.tts, args.tts_model)
    except Exception as err:  # noqa: BLE001 - a missing model or file is one clear build error
        raise BuildError(f"TTS backend {args.tts!r} unavailable: {err}") from None
    return speak_items(items, frontend, ctx.reporter)


def _entries(args) -> tuple[list[dict], dict]:
    if args.sources:
        return load_sources_file(args.sources)
    return [default_spec(args.corpus_dir)], {}


def _summarizer(args, settings):
    model = args.summarizer or settings.get("summarizer")
    if not model:
        return None
    from builders.summarize import Summarizer

    options = settings.get("summarizer_options") or {}
    if args.engine == "ray":
        from builders.engine_ray import RaySummarizer

        options = {k: v for k, v in options.items() if k != "progress"}
        return RaySummarizer(str(model), batch_size=args.summarizer_batch_size, num_gpus=args.ray_num_gpus,
                             concurrency=args.summarizer_concurrency, address=args.ray_address, **options)
    try:
        return Summarizer(str(model), batch_size=args.summarizer_batch_size, **options)
    except OSError as err:  # transformers' "not a folder / not in the cache / not a repo id"
        raise BuildError(f"--summarizer {model}: cannot load it ({' '.join(str(err).split())[:300]})") from err


def run_build(args, root: Path) -> dict:
    """The build proper, into `root` (a temporary folder); returns the report."""
    started = time.perf_counter()
    configs = CONFIGS if args.config == "all" else (args.config,)
    entries, settings = _entries(args)
    ctx = SourceContext(seed=args.seed)
    ctx.reporter.strict = args.strict
    summarizer = _summarizer(args, settings)
    items = add_summaries(collect_items(entries, ctx), summarizer, ctx)
    items, spoken = _speak(items, args, ctx)
    if not items:
        raise BuildError("no usable examples in the sources (see the skipped list above)")
    splits = assign_splits(((it.source, it.stratum, f"{it.source}:{it.group}") for it in items if not it.split),
                           args.seed, tuple(args.split_ratios),
                           {e["name"]: tuple(e["split_ratios"]) for e in entries if e.get("split_ratios")})
    splits.update({f"{it.source}:{it.group}": it.split for it in items if it.split})  # a release's own split
    enumerated = time.perf_counter()
    stats, files = write_rows(items, splits, root, configs, args, ctx)
    audio_s = time.perf_counter() - enumerated
    from builders.card import write_card

    report = {
        "dataset": "aramega-ssum", "builder_version": BUILDER_VERSION, "seed": args.seed,
        "normalizer": NORMALIZER_VERSION, "configs_built": list(configs),
        "tts": {"backend": args.tts, "model": args.tts_model if args.tts == "mms" else None},
        "summarizer": args.summarizer or settings.get("summarizer"),
        "summaries": dict(sorted(summarizer.stats.items())) if summarizer is not None else {}, "max_seconds": args.max_seconds,
        "split_ratios": list(args.split_ratios),
        "sources": [{k: v for k, v in e.items() if not k.startswith("_")} for e in entries],
        "configs": stats.configs(configs, files), "frontend": spoken,
        "audio": {"items": stats.items, "hours": round(stats.item_seconds / 3600, 4)},
        "rows_per_source": dict(sorted(stats.source_rows.items())),
        "skipped": {"total": len(ctx.reporter.skipped), "by_reason": ctx.reporter.counts(),
                    "items": ctx.reporter.skipped},
        "adjusted": ctx.reporter.noted(),
        "timing": {"enumerate_s": round(enumerated - started, 3), "audio_s": round(audio_s, 3),
                   "wall_s": round(time.perf_counter() - started, 3), "num_proc": args.num_proc,
                   "engine": args.engine},
    }
    for config, info in report["configs"].items():
        for split, entry in info["splits"].items():
            entry["bytes"] = sum((root / config / name).stat().st_size for name in entry["files"])
    write_report(root / "build_report.json", report)
    write_card(root / "README.md", report)
    return report


def build(args: argparse.Namespace, replace: bool = True) -> dict:
    """Build into a hidden sibling of ``args.output``; move it into place only when complete.

    The output folder rule is `aramega_ssum.outputs` (a previous build is replaced only with
    --overwrite). `replace=False` (ensure_dataset) keeps an existing complete build.
    """
    from aramega_ssum.outputs import check_output_dir, staging_dir, swap_into_place

    output = check_output_dir(args.output, "build_report.json", tool="builders.build",
                              overwrite=getattr(args, "overwrite", False) or not replace)
    tmp = staging_dir(output)
    try:
        report = run_build(args, tmp)
        check_splits(report, args)
        if output.exists() and any(output.iterdir()) and not replace:
            shutil.rmtree(tmp, ignore_errors=True)
        else:
            swap_into_place(tmp, output)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    logger.info("wrote %s", output)
    return report


def check_splits(report: dict, args: argparse.Namespace) -> None:
    """A split of the default config left empty fails the build (warns with --allow-empty-splits)."""
    from builders.card import default_config

    configs = report["configs"]
    default = default_config(report)
    empty = [s for s in SPLITS if not configs[default]["splits"].get(s, {}).get("rows")]
    if not empty:
        return
    message = (f"config {default!r}: split(s) {', '.join(empty)} got no rows ({configs[default]['rows']} rows in "
               f"all; split ratios {list(args.split_ratios)}): give more source examples")
    if not getattr(args, "allow_empty_splits", False):
        raise BuildError(message + ", or pass --allow-empty-splits")
    logger.warning("%s; written anyway (--allow-empty-splits)", message)


def _size(text: str) -> int:
    """'500MB' -> bytes (KB/MB/GB, or KiB/MiB/GiB: powers of 1024; a bare number is bytes)."""
    match = re.fullmatch(r"\s*(\d+(?:\.\d+)?)\s*([KMG]?)(?:I?B)?\s*", text.upper())
    if not match or float(match.group(1)) <= 0:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 500MB)")
    return int(float(match.group(1)) * {"": 1, "K": 1 << 10, "M": 1 << 20, "G": 1 << 30}[match.group(2)])


def _ratio_check(ratios) -> str | None:
    if any(r < 0 for r in ratios) or abs(sum(ratios) - 1.0) > 1e-6:
        return f"--split-ratios {' '.join(f'{r:g}' for r in ratios)}: each must be >= 0 and they must sum to 1"
    return None


def parse_args(argv=None) -> argparse.Namespace:
    from aramega_ssum.cli import add_common, deprecated, make_parser

    parser = make_parser("python -m builders.build", __doc__)
    parser.add_argument("--output-dir", dest="output", default="aramega-ssum", help="output folder")
    deprecated(parser, "--output", "--output-dir", "output")
    parser.add_argument("--overwrite", action="store_true", help="replace an earlier build in --output-dir")
    parser.add_argument("--sources", help="sources YAML; default: the embedded mini corpus")
    parser.add_argument("--corpus-dir", help="folder of the embedded corpus JSONL files (default: shipped)")
    parser.add_argument("--dataset-config", dest="config", choices=(*CONFIGS, "all"), default="all",
                        help="which dataset config(s) to build")
    deprecated(parser, "--config", "--dataset-config", "config", choices=(*CONFIGS, "all"))
    parser.add_argument("--tts", choices=("espeak", "mms"), default="espeak")
    parser.add_argument("--tts-model", default="facebook/mms-tts-ara", help="mms: hub id or local path")
    parser.add_argument("--summarizer", help="causal LM (hub id or local path) for missing summaries")
    parser.add_argument("--summarizer-batch-size", type=int, default=8)
    parser.add_argument("--num-proc", type=int, default=1,
                        help="processes (local) or render actors (ray) for audio work")
    parser.add_argument("--engine", choices=("local", "ray"), default="local",
                        help="local: this machine's process pool; ray: a Ray Data pipeline (pip install "
                             "'aramega-ssum[ray]')")
    parser.add_argument("--ray-address", help="ray: join this cluster (default: start a local Ray for the build)")
    parser.add_argument("--ray-num-gpus", type=float, default=0, help="ray: GPUs per TTS/summarizer actor")
    parser.add_argument("--summarizer-concurrency", type=int, default=1, help="ray: summarizer actors")
    parser.add_argument("--max-shard-size", type=_size, default="500MB",
                        help="cap of one parquet shard, e.g. 500MB (the Hub's habit), 2GB, 64KB")
    parser.add_argument("--max-audio-seconds", dest="max_seconds", type=float, help="skip (and report) longer audio")
    deprecated(parser, "--max-seconds", "--max-audio-seconds", "max_seconds", type=float)
    parser.add_argument("--min-audio-seconds", dest="min_seconds", type=float, default=0.1,
                        help="skip (and report) shorter audio (e.g. a WAV truncated to its header)")
    parser.add_argument("--split-ratios", type=float, nargs=3, default=list(DEFAULT_RATIOS),
                        metavar=("TRAIN", "VAL", "TEST"), help="must be >= 0 and sum to 1")
    parser.add_argument("--allow-empty-splits", action="store_true",
                        help="warn (instead of failing) when a split of the default config gets no rows")
    parser.add_argument("--strict", action="store_true", help="stop at the first bad input")
    parser.add_argument("--seed", type=int, default=0, help="seed of the split assignment and TTS")
    parser.add_argument("--no-progress", dest="progress", action="store_false")
    add_common(parser)
    args = parser.parse_args(argv)
    if args.num_proc < 1:
        parser.error("--num-proc must be >= 1")
    if args.max_seconds is not None and args.max_seconds <= 0:
        parser.error(f"--max-audio-seconds must be > 0, got {args.max_seconds:g}")
    if args.min_seconds < 0:
        parser.error(f"--min-audio-seconds must be >= 0, got {args.min_seconds:g}")
    if _ratio_check(args.split_ratios):
        parser.error(_ratio_check(args.split_ratios))
    if args.engine == "ray":
        try:
            import ray.data  # noqa: F401
        except ImportError:
            parser.error("--engine ray needs Ray: pip install 'aramega-ssum[ray]'")
    return args


def ensure_dataset(path: str | Path = "aramega-ssum", seed: int = 0, **options) -> Path:
    """Build the embedded default at `path` unless a complete build is already there; returns it.

    Concurrent callers (e.g. parallel test sessions) wait on a lock file next to `path`, and a
    complete build is never replaced under a reader. `options` are build flags (``num_proc=2``).
    """
    import fcntl

    path = Path(path)
    if (path / "build_report.json").exists() and (path / "README.md").exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    argv = ["--output-dir", str(path), "--seed", str(seed), "--no-progress"]
    for key, value in options.items():
        argv += [f"--{key.replace('_', '-')}", str(value)]
    with open(path.parent / f".{path.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if not (path / "build_report.json").exists():
            build(parse_args(argv), replace=False)
    return path


@cli_main(BuildError, BackendError)
def main(argv=None) -> int:
    args = parse_args(argv)
    setup_logging(args)
    report = build(args)
    for config, info in report["configs"].items():
        sizes = ", ".join(f"{s} {info['splits'][s]['rows']}" for s in SPLITS)
        print(f"{config}: {info['rows']} rows ({sizes}), {info['hours']:.3f} h")
    print(f"skipped: {report['skipped']['total']} {report['skipped']['by_reason']}")
    print(f"wall time: {report['timing']['wall_s']:.1f} s -> {Path(args.output).resolve()}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
