"""Build determinism: K builds of the embedded corpus, byte for byte, and espeak-ng on its known
uninitialized-read input with and without address randomization.

Examples::

    python perf/perf_determinism.py                 # 10 builds (--num-proc 2, fork and spawn alternating)
    python perf/perf_determinism.py --builds 3 --espeak-runs 20

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


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--builds", type=int, default=10)
    parser.add_argument("--num-proc", type=int, default=2)
    parser.add_argument("--espeak-runs", type=int, default=20)
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    fixed, randomized = espeak_distinct(args.espeak_runs)
    print(f"espeak-ng on a raw decimal, {args.espeak_runs} runs: {fixed} distinct WAV(s) with ASLR off "
          f"(the build's setting), {randomized} with ASLR on")
    from aramega_ssum.dataset import fingerprint

    with tempfile.TemporaryDirectory() as tmp:
        builds = run_builds(args.builds, args.num_proc, Path(tmp))
        same = sum(b == builds[0] for b in builds)
        prints = {fingerprint(Path(tmp) / f"b{i}" / "aramega-ssum", "multitask") for i in range(args.builds)}
    print(f"builds byte-identical to the first (parquet + card): {same}/{args.builds}; "
          f"distinct multitask fingerprints: {len(prints)} ({', '.join(p[:12] for p in prints)})")
    return 0 if same == args.builds else 1


if __name__ == "__main__":
    raise SystemExit(main())
