"""Build at scale: ray vs local overhead, two-process efficiency, TTS real-time factors, 1M-document estimate.

Prints measured figures (targets of issue 13):

1. ``--engine ray`` vs ``--engine local`` on the embedded build (fresh interpreters; the ray figure
   includes starting a local Ray): the overhead in seconds and as a ratio.
2. ``local --num-proc 2`` ingest speed-up as a fraction of this machine's two-process ceiling
   (target >= 90%), measured side by side in interleaved rounds, because the cores are shared:
   - compute ceiling: two copies of single-threaded numpy work vs one (perf_build.machine_ceiling);
   - workload ceiling: the build's own render function in two independent processes vs one (no pool,
     no writer): what the work itself can reach (it reads WAVs, so it is partly memory-bound);
   - the build: ``--num-proc 2`` vs ``--num-proc 1`` (render time of the report);
   and the main process's CPU share during a 2-process build (the pool's serial overhead).
3. TTS real-time factors on one CPU core (seconds of speech per second of compute): espeak-ng, and
   MMS as a VITS of the real ``facebook/mms-tts-ara`` architecture (``VitsConfig()`` defaults, ~36M
   parameters) with random weights (compute does not depend on the weights' values; no hub access
   here); ``--device cuda`` measures MMS on a GPU.
4. On paper: hours of TTS for 1M documents of ``--words`` words (XL-Sum recipe: max_words 200).

Examples::

    python perf/perf_scale.py                      # everything (a few minutes on 2 cores)
    python perf/perf_scale.py --skip-ray --rounds 5
    python perf/perf_scale.py --only-tts --device cuda
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "perf"))

from perf_build import machine_ceiling, make_corpus, run_build  # noqa: E402

ENV = {**os.environ, "HF_HUB_OFFLINE": "1", "PYTHONPATH": str(ROOT)}
_RENDER = """
import sys, time
from pathlib import Path
from builders.render import init_worker, render
init_worker("espeak", None, None, 0, True)
files = sorted(Path(sys.argv[1]).glob("*.wav"))
part, n, start = int(sys.argv[2]), int(sys.argv[3]), float(sys.argv[4])
render({"kind": "file", "path": str(files[0])}, "warm-up")
while time.time() < start:
    time.sleep(0.001)
for f in files[part::n]:
    render({"kind": "file", "path": str(f)}, str(f))
print(time.time() - start)
"""


def workload_ceiling(corpus: Path) -> float:
    """The render function over the corpus in two independent processes vs one (same start line)."""
    def run(n: int) -> float:
        start = time.time() + 1.5  # after the imports
        procs = [subprocess.Popen([sys.executable, "-c", _RENDER, str(corpus), str(i), str(n), str(start)],
                                  env=ENV, stdout=subprocess.PIPE, text=True) for i in range(n)]
        return max(float(p.communicate()[0].strip()) for p in procs)

    return run(1) / run(2)


def cpu_build(argv: list[str]) -> tuple[float, float]:
    """(render seconds of the report, CPU seconds of the whole build process and its workers)."""
    before = os.times()
    report = run_build(argv)
    after = os.times()
    cpu = (after.children_user - before.children_user) + (after.children_system - before.children_system)
    return report["timing"]["audio_s"], cpu


def efficiency(work: Path, minutes: float, rounds: int) -> None:
    sources = make_corpus(work / "corpus", max(8, int(minutes * 60 / 30)), 30.0)
    argv = ["--sources", str(sources), "--dataset-config", "multitask", "--overwrite"]  # the rounds rebuild o1, o2
    rows = []
    for index in range(rounds):  # interleaved: each round's figures share the machine's load
        ceiling, workload = machine_ceiling(), workload_ceiling(sources.parent)
        one, cpu1 = cpu_build([*argv, "--output-dir", str(work / "o1"), "--num-proc", "1"])
        two, cpu2 = cpu_build([*argv, "--output-dir", str(work / "o2"), "--num-proc", "2"])
        rows.append((ceiling, workload, one / two, cpu2 / cpu1))
        print(f"round {index + 1}: compute ceiling {ceiling:.2f}x, workload ceiling {workload:.2f}x, "
              f"build --num-proc 2 vs 1 {one / two:.2f}x ({one:.2f} s -> {two:.2f} s; CPU {cpu1:.2f} s -> "
              f"{cpu2:.2f} s), load {os.getloadavg()[0]:.1f}")
    ceiling, workload, speedup, cpu_ratio = (statistics.median(col) for col in zip(*rows))
    print(f"CPU cost of --num-proc 2 over 1 (whole build, load-independent): {cpu_ratio - 1:+.0%}; on two idle "
          f"cores that allows at most {2 / cpu_ratio:.2f}x")
    paired = statistics.median(s / c for c, _, s, _ in rows)
    print(f"[{'PASS' if paired >= 0.9 else 'FAIL'}] local --num-proc 2: speed-up {speedup:.2f}x, "
          f"{paired:.0%} of this machine's measured two-process ceiling {ceiling:.2f}x (median of {rounds} "
          f"paired rounds; target >= 90%); {speedup / workload:.0%} of the workload's own ceiling {workload:.2f}x")


def engines(work: Path) -> None:
    walls = {}
    for engine in ("local", "ray"):
        started = time.perf_counter()
        report = run_build(["--output-dir", str(work / f"emb-{engine}"), "--engine", engine, "--num-proc", "2"])
        walls[engine] = (time.perf_counter() - started, report["timing"]["audio_s"])
    (lw, la), (rw, ra) = walls["local"], walls["ray"]
    same = all(json.loads((work / f"emb-{e}" / "build_report.json").read_text())["fingerprints"]
               == json.loads((work / "emb-local" / "build_report.json").read_text())["fingerprints"]
               for e in ("ray",))
    print(f"embedded build, 2 workers: local {lw:.1f} s (audio stage {la:.1f} s), ray {rw:.1f} s (audio stage "
          f"{ra:.1f} s, incl. starting a local Ray): overhead +{rw - lw:.1f} s ({rw / lw:.2f}x); same content "
          f"fingerprint: {same}")


MMS_VOCAB = sorted(set("ءآأؤإئابةتثجحخدذرزسشصضطظعغفقكلمنهوىي")) + [" ", "–", "_"]  # the hub's vocab.json


_WARM = """
import logging, time, ray
from builders.build import _jobs, collect_items
from builders.engine_ray import ray_map
from builders.frontend import frontend_for, speak_items
from builders.pool import ordered_map
from builders.render import init_worker, render_job
from builders.sources import SourceContext
from builders.sources.embedded import default_spec
ctx = SourceContext()
items, _ = speak_items(collect_items([default_spec()], ctx), frontend_for("espeak"), ctx.reporter)
jobs, initargs = list(_jobs(items)), ("espeak", None, None, 0, True)
started = time.perf_counter()
ray.init(num_cpus=2, include_dashboard=False, log_to_driver=False, logging_level=logging.WARNING)
init_s = time.perf_counter() - started
for _ in range(2):  # the second round is the warm one
    t = time.perf_counter(); a = list(ray_map(jobs, initargs, concurrency=2)); ray_s = time.perf_counter() - t
    t = time.perf_counter(); b = list(ordered_map(render_job, jobs, num_proc=2, initializer=init_worker,
                                                  initargs=initargs)); local_s = time.perf_counter() - t
print(f"RESULT {len(jobs)} {init_s:.2f} {ray_s:.2f} {local_s:.2f} {a == b}")
"""


def warm_ray() -> None:
    """The audio stage alone, Ray already started: its per-item overhead without the start-up."""
    out = subprocess.run([sys.executable, "-c", _WARM], env=ENV, capture_output=True, text=True, check=True).stdout
    jobs, init_s, ray_s, local_s, same = next(line.split()[1:] for line in out.splitlines()
                                              if line.startswith("RESULT"))
    print(f"audio stage of the embedded build ({jobs} jobs, 2 workers), Ray already running: ray {ray_s} s vs "
          f"local pool {local_s} s ({float(ray_s) / float(local_s):.2f}x); starting the local Ray took {init_s} s; "
          f"identical results: {same}")


def sentences(count: int) -> list[str]:
    """`count` sentences of the embedded documents (numbers spelled by the front-end)."""
    from builders.sources.embedded import corpus_dir, split_sentences

    docs = [json.loads(line)["document"] for line in (corpus_dir() / "documents.jsonl").open(encoding="utf-8")]
    return [s for d in docs for s in split_sentences(d)][:count]


def rtf_espeak(texts: list[str]) -> tuple[float, float]:
    """(real-time factor on one core, seconds of speech per word); espeak-ng is single-threaded."""
    from builders.espeak import EspeakTTS, pick_voice
    from builders.frontend import frontend_for

    frontend, tts, audio, words = frontend_for("espeak"), EspeakTTS(), 0.0, 0
    started = time.perf_counter()
    for index, text in enumerate(texts):
        spoken = frontend.speak(text).text
        samples, rate = tts.synthesize(spoken, pick_voice(f"k{index}"))
        audio, words = audio + samples.size / rate, words + len(spoken.split())
    return audio / (time.perf_counter() - started), audio / words


def rtf_mms(texts: list[str], device: str) -> tuple[float, int]:
    """(real-time factor, parameters) of a VITS with the mms-tts-ara architecture (random weights)."""
    import torch
    from transformers import VitsConfig, VitsModel, VitsTokenizer

    from builders.frontend import Charset, FrontEnd

    if device == "cpu":
        torch.set_num_threads(1)  # per core
    torch.manual_seed(0)
    model = VitsModel(VitsConfig(vocab_size=len(MMS_VOCAB))).to(device).eval()
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "vocab.json").write_text(json.dumps({c: i for i, c in enumerate(MMS_VOCAB)}), encoding="utf-8")
        tokenizer = VitsTokenizer(str(Path(tmp) / "vocab.json"), add_blank=True, normalize=True, language="ara",
                                  phonemize=False, pad_token="ا", unk_token="<unk>")
    frontend = FrontEnd(Charset("mms", frozenset(MMS_VOCAB)))
    spoken = [frontend.speak(t).text for t in texts]
    audio = 0.0
    with torch.no_grad():
        model(**tokenizer(spoken[0], return_tensors="pt").to(device))  # warm-up
        started = time.perf_counter()
        for text in spoken:
            audio += model(**tokenizer(text, return_tensors="pt").to(device)).waveform.shape[-1] / 16000
        if device.startswith("cuda"):
            torch.cuda.synchronize()
    return audio / (time.perf_counter() - started), sum(p.numel() for p in model.parameters())


def tts_estimate(count: int, device: str, documents: float, words: int) -> None:
    texts = sentences(count)
    espeak_rtf, seconds_per_word = rtf_espeak(texts)
    mms_rtf, params = rtf_mms(texts, "cpu")
    print(f"espeak-ng: {espeak_rtf:.0f}x real time on one core ({len(texts)} sentences; "
          f"{seconds_per_word:.2f} s of speech per word)")
    print(f"mms (VITS, mms-tts-ara architecture, {params / 1e6:.1f}M parameters, random weights): "
          f"{mms_rtf:.1f}x real time on one CPU core")
    gpu_rtf = rtf_mms(texts, device)[0] if device != "cpu" else None
    if gpu_rtf is not None:
        print(f"mms on {device}: {gpu_rtf:.0f}x real time (one utterance at a time)")
    speech_h = documents * words * seconds_per_word / 3600
    print(f"on paper: {documents:,.0f} documents x {words} words x {seconds_per_word:.2f} s/word = "
          f"{speech_h:,.0f} h of speech")
    print(f"  espeak-ng: {speech_h / espeak_rtf:,.0f} CPU-core hours; mms: {speech_h / mms_rtf:,.0f} CPU-core hours"
          + (f", {speech_h / gpu_rtf:,.0f} GPU hours" if gpu_rtf else " (GPU: run with --device cuda)"))


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--minutes", type=float, default=60.0, help="audio for the efficiency rounds")
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sentences", type=int, default=40, help="sentences for the TTS real-time factors")
    parser.add_argument("--device", default="cpu", help="also measure MMS here (cuda)")
    parser.add_argument("--documents", type=float, default=1e6)
    parser.add_argument("--words", type=int, default=200, help="spoken words per document (xlsum max_words)")
    parser.add_argument("--skip-ray", action="store_true")
    parser.add_argument("--only-tts", action="store_true")
    args = parser.parse_args(argv)
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} (shared cores: figures vary)")
    with tempfile.TemporaryDirectory(prefix="perf_scale_") as tmp:
        work = Path(tmp)
        if not args.only_tts:
            if not args.skip_ray:
                engines(work)
                warm_ray()
            efficiency(work, args.minutes, args.rounds)
        tts_estimate(args.sentences, args.device, args.documents, args.words)
    return 0


if __name__ == "__main__":
    sys.exit(main())
