"""Time the whole demo from an empty run folder: wall time per stage, total, and peak memory.

Usage: .venv/bin/python bench/demo.py [--out /tmp/doppel-bench-demo]
Prints a Markdown table for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--out", type=Path, default=Path("/tmp/doppel-bench-demo"))
    args = parser.parse_args()
    shutil.rmtree(args.out, ignore_errors=True)
    start = time.time()
    proc = subprocess.run([sys.executable, "-m", "doppel", "demo", "--out", str(args.out)],
                          capture_output=True, text=True)
    wall = time.time() - start
    if proc.returncode != 0:
        sys.exit(proc.stderr[-3000:])
    peak_mb = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    stages = json.loads((args.out / "manifest.json").read_text())["stages"]
    results = json.loads((args.out / "eval" / "results.json").read_text())["models"]
    print("| stage | seconds |\n|---|---|")
    for name, entry in stages.items():
        print(f"| {name} | {entry['seconds']} |")
    print(f"| **total wall (incl. start-up)** | **{wall:.1f}** |")
    print(f"\npeak RSS of the demo process: {peak_mb:.0f} MB\n")
    print("| model | held-out ppl | answer ppl | catchphrases /1k words |\n|---|---|---|---|")
    for label, row in results.items():
        print(f"| {label} | {row['heldout_perplexity']} | {row['heldout_answer_perplexity']} | "
              f"{row['catchphrases_per_1k_words']} |")


if __name__ == "__main__":
    main()
