"""Cost of the content fingerprint: seconds per config and audio decoded per second.

Examples::

    python perf/perf_fingerprint.py --data aramega-ssum

Prints, for each config, the fingerprint, its wall time, the audio hours it covers (from the build
report) and the speed in hours of audio per second, beside the time to merely read the parquet bytes.
"""
from __future__ import annotations

import argparse
import hashlib
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--data", type=Path, default=Path("aramega-ssum"))
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from aramega_ssum.dataset import fingerprint, read_build_report

    report = read_build_report(args.data)
    for config in report["configs_built"]:
        started = time.perf_counter()
        value = fingerprint(args.data, config)
        seconds = time.perf_counter() - started
        started = time.perf_counter()
        for path in sorted((args.data / config).glob("*.parquet")):
            hashlib.sha256(path.read_bytes()).hexdigest()
        raw = time.perf_counter() - started
        hours = report["configs"][config]["hours"]
        print(f"{config}: {value[:16]}… in {seconds:.2f} s for {hours:.3f} h of rows' audio "
              f"({hours / seconds:.2f} h/s; hashing the parquet bytes alone: {raw:.3f} s)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
