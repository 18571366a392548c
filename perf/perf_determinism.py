"""Build determinism: K builds of the embedded corpus, byte for byte, and espeak-ng on its known
uninitialized-read input with and without address randomization.

Examples::

    python perf/perf_determinism.py                 # 10 builds (--num-proc 2, fork and spawn alternating)
    python perf/perf_determinism.py --builds 3 --espeak-runs 20
    python perf/perf_determinism.py --builds 0 --valgrind     # which corpus texts read uninitialised memory

Prints how many builds have parquet files and card byte-identical to the first, their content
fingerprints, and the number of distinct WAVs espeak-ng gave for one input in N runs.
"""
from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TRIGGER = "<speak>ارتفعت الحرارة إلى 99.6 درجة</speak>"


def _digests(folder: Path) -> dict[str, str]:
    files = sorted(folder.rglob("*.parquet")) + [folder / "README.md"]
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest() for p in files}


def run_builds(count: int, num_proc: int, work: Path) -> list[dict[str, str]]:
    out = []
    for index in range(count):
        env = dict(os.environ, PYTHONPATH=str(ROOT), ARAMEGA_MP_START="spawn" if index % 2 else "fork")
        target = work / f"b{index}" / "aramega-ssum"
        subprocess.run([sys.executable, "-m", "builders.build", "--output", str(target), "--num-proc",
                        str(num_proc), "--no-progress"], check=True, env=env, cwd=ROOT, capture_output=True)
        out.append(_digests(target))
    return out


def espeak_distinct(runs: int) -> tuple[int, int]:
    from builders.espeak import EspeakTTS, pick_voice

    tts, voice = EspeakTTS(), pick_voice("doc-001")
    fixed = {tts.speak_ssml(TRIGGER, voice)[0].tobytes() for _ in range(runs)}
    tts.prefix = ()
    randomized = set()
    for _ in range(runs):
        try:
            randomized.add(tts.speak_ssml(TRIGGER, voice)[0].tobytes())
        except RuntimeError:
            randomized.add(b"failed")
    return len(fixed), len(randomized)


def corpus_calls() -> list[tuple[str, str, object]]:
    """(id, SSML, voice) of every espeak-ng call of the embedded build that holds a digit or Latin text."""
    import json
    import re
    from xml.sax.saxutils import escape

    from builders.espeak import EMOTION_PROSODY, pick_voice, speakable
    from builders.sources.embedded import corpus_dir, split_sentences

    calls = []
    for name in ("documents", "dialect", "emotion", "codeswitch"):
        for line in (corpus_dir() / f"{name}.jsonl").read_text(encoding="utf-8").splitlines():
            rec = json.loads(line)
            texts = split_sentences(rec["document"]) if name == "documents" else [rec["text"]]
            for text in texts:
                body = escape(speakable(text))
                if name == "emotion":
                    attrs = " ".join(f'{k}="{v}"' for k, v in EMOTION_PROSODY[rec["emotion"]].items())
                    body = f"<prosody {attrs}>{body}</prosody>"
                if re.search(r"[0-9A-Za-z]", text):
                    calls.append((rec["id"], f"<speak>{body}</speak>", pick_voice(rec["id"], 0)))
    return calls


def valgrind_flags() -> tuple[list[str], int]:
    """Ids whose espeak-ng call valgrind reports as depending on uninitialised values."""
    from builders.espeak import EspeakTTS

    tts, flagged = EspeakTTS(), []
    calls = corpus_calls()
    for key, ssml, voice in calls:
        command = ["valgrind", "-q", tts.executable, "-m", "-v", f"ar+{voice.variant}", "-p", str(voice.pitch),
                   "-s", str(voice.rate), "--stdout", "--stdin"]
        run = subprocess.run(command, input=ssml.encode(), capture_output=True, check=False)
        if b"uninitialised" in run.stderr:
            flagged.append(key)
    return flagged, len(calls)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--espeak-runs", type=int, default=20)
    parser.add_argument("--valgrind", action="store_true", help="also run the corpus's digit/Latin texts under valgrind")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.valgrind:
        flagged, total = valgrind_flags()
        print(f"valgrind: {len(flagged)} of {total} espeak-ng calls with digits or Latin text read uninitialised "
              f"memory: {', '.join(flagged) or 'none'}")
    fixed, randomized = espeak_distinct(args.espeak_runs)
    print(f"espeak-ng on a raw decimal, {args.espeak_runs} runs: {fixed} distinct WAV(s) with ASLR off "
          f"(the build's setting), {randomized} with ASLR on")
    from aramega_ssum.dataset import fingerprint

    if args.builds < 1:
        return 0
    with tempfile.TemporaryDirectory() as tmp:
        builds = run_builds(args.builds, args.num_proc, Path(tmp))
        same = sum(b == builds[0] for b in builds)
        prints = {fingerprint(Path(tmp) / f"b{i}" / "aramega-ssum", "multitask") for i in range(args.builds)}
    print(f"builds byte-identical to the first (parquet + card): {same}/{args.builds}; "
          f"distinct multitask fingerprints: {len(prints)} ({', '.join(p[:12] for p in prints)})")
    return 0 if same == args.builds else 1


if __name__ == "__main__":
    raise SystemExit(main())
