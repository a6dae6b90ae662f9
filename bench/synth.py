"""Teacher throughput: 1,000 requests at concurrency 16 to a local server adding 200 ms latency.

The ideal is 1000 × 0.2 s / 16 = 12.5 s; the target is within 1.25× of it (15.6 s).
Run: .venv/bin/python bench/synth.py [--requests 1000] [--concurrency 16] [--latency 0.2]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from doppel.config import TeacherConfig  # noqa: E402
from doppel.teacher import Teacher  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


def start_server(latency: float) -> tuple[subprocess.Popen, str]:
    """The fake server in its own process, so it does not share the client's interpreter lock."""
    proc = subprocess.Popen([sys.executable, "-m", "tests.synth.server", "--latency", str(latency)],
                            cwd=ROOT, stdout=subprocess.PIPE, text=True)
    return proc, proc.stdout.readline().strip()


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of another process so far (Linux /proc); None elsewhere."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--requests", type=int, default=1000)
    ap.add_argument("--concurrency", type=int, default=16)
    ap.add_argument("--latency", type=float, default=0.2)
    args = ap.parse_args()
    reqs = [[{"role": "user", "content": f"bench question {i}"}] for i in range(args.requests)]
    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    server, url = start_server(args.latency)
    try:
        with tempfile.TemporaryDirectory() as tmp:
            cfg = TeacherConfig(base_url=url, api_key="sk-bench", concurrency=args.concurrency)
            teacher = Teacher(cfg, Path(tmp) / "cache.sqlite")
            server_cpu = cpu_seconds(server.pid)
            start, cpu = time.perf_counter(), time.process_time()
            replies = teacher.chat_many(reqs)
            seconds, cpu = time.perf_counter() - start, time.process_time() - cpu
            after = cpu_seconds(server.pid)
            server_cpu = after - server_cpu if after is not None and server_cpu is not None else None
            failed = sum(r.text is None for r in replies)
            again = time.perf_counter()
            teacher.chat_many(reqs)
            cached_seconds = time.perf_counter() - again
            sent = teacher.summary()["requests_sent"]
            teacher.close()
    finally:
        server.terminate()
        server.wait()
    ideal = args.requests * args.latency / args.concurrency
    ratio = seconds / ideal if ideal else float("inf")
    per = 1000 / args.requests
    server_note = f"server CPU {server_cpu * per:.2f} ms/request" if server_cpu is not None else "server CPU n/a"
    print(f"{args.requests} requests, concurrency {args.concurrency}, {args.latency * 1000:.0f} ms latency "
          f"(load average {load:.1f} at start): "
          f"{seconds:.2f} s (ideal {ideal:.2f} s, {ratio:.3f}× ideal, target ≤ 1.25×); "
          f"client CPU {cpu * per:.2f} ms/request, {server_note}; "
          f"{'PASS' if ratio <= 1.25 and not failed else 'FAIL'}; failed {failed}; "
          f"re-run from cache {cached_seconds:.2f} s, {sent} requests sent in all")
    return 0 if ratio <= 1.25 and not failed else 1


if __name__ == "__main__":
    raise SystemExit(main())
