"""Ingest throughput: ten years of a weekly podcast (~34 MB of transcripts) through read +
clean + exact and near de-duplication, timed end to end, with the process's peak memory.

Usage: .venv/bin/python bench/ingest.py [--mb 34] [--seed 0] [--keep DIR]
The corpus mixes SRT, WebVTT (half of it YouTube-style rolling auto-captions), labelled
plain-text transcripts and WhisperX JSON; a few episodes are re-uploads or clips of others,
so the de-duplication has real work to do. Prints a Markdown table row for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import resource
import shutil
import tempfile
import time
from pathlib import Path

WORDS = ("the a and to of I you it that we in is was for on with as but so just like know think really "
         "lighthouse keeper lamp tide harbour fog boat net rope storm night light sea shore wave gull "
         "village people always never years morning evening town old new water wind rock bell anchor "
         "because when then there here what why how who would could should about after before again "
         "keep kept keeping mend mended work working stubborn quiet weather forecast radio listen story").split()


def sentence(rng: random.Random) -> str:
    words = [rng.choice(WORDS) for _ in range(rng.randint(6, 18))]
    return " ".join(words).capitalize() + rng.choice([".", ".", ".", "?", "!"])


def turns(rng: random.Random, n_words: int) -> list[tuple[str, str]]:
    out, total, i = [], 0, 0
    while total < n_words:
        who = "Host" if i % 2 == 0 else "Mara Quell"
        text = " ".join(sentence(rng) for _ in range(rng.randint(1, 3) if who == "Host" else rng.randint(3, 9)))
        out.append((who, text))
        total += len(text.split())
        i += 1
    return out


def ts(sec: float, sep: str = ",") -> str:
    h, rest = divmod(int(sec * 1000), 3_600_000)
    m, rest = divmod(rest, 60_000)
    s, ms = divmod(rest, 1000)
    return f"{h:02d}:{m:02d}:{s:02d}{sep}{ms:03d}"


def chunks(text: str, size: int = 8):
    words = text.split()
    for i in range(0, len(words), size):
        yield " ".join(words[i:i + size])


def as_srt(tt) -> str:
    out, n, t = [], 1, 0.0
    for who, text in tt:
        for j, piece in enumerate(chunks(text)):
            label = f"{who}: " if j == 0 else ""
            out.append(f"{n}\n{ts(t)} --> {ts(t + 2.5)}\n{label}{piece}\n")
            n, t = n + 1, t + 2.5
    return "\n".join(out)


def as_rolling_vtt(tt) -> str:
    out, t, prev = ["WEBVTT\nKind: captions\nLanguage: en\n"], 0.0, ""
    for who, text in tt:
        for j, piece in enumerate(chunks(f">> {who.upper()}: {text}")):
            words = piece.split()
            karaoke = words[0] + "".join(f"<{ts(t + 0.3 * (k + 1), '.')}><c> {w}</c>" for k, w in enumerate(words[1:]))
            out.append(f"{ts(t, '.')} --> {ts(t + 2.5, '.')} align:start position:0%\n{prev}\n{karaoke}\n")
            out.append(f"{ts(t + 2.5, '.')} --> {ts(t + 2.51, '.')} align:start position:0%\n{piece}\n \n")
            prev, t = piece, t + 2.51
    return "\n".join(out)


def as_text(tt) -> str:
    out, t = [], 0.0
    for who, text in tt:
        out.append(f"{who} ({ts(t)[:8]}):\n{text}\n")
        t += len(text.split()) / 2.5
    return "\n".join(out)


def as_whisperx(tt) -> str:
    segs, t = [], 0.0
    for who, text in tt:
        label = "SPEAKER_00" if who == "Host" else "SPEAKER_01"
        for piece in chunks(text, 20):
            segs.append({"start": round(t, 2), "end": round(t + 6, 2), "text": piece, "speaker": label})
            t += 6
    return json.dumps({"segments": segs, "language": "en"})


FORMATS = [(".srt", as_srt), (".vtt", as_rolling_vtt), (".txt", as_text), (".json", as_whisperx)]


def generate(folder: Path, megabytes: float, seed: int) -> int:
    rng = random.Random(seed)
    folder.mkdir(parents=True, exist_ok=True)
    total, i, episodes = 0, 0, []
    while total < megabytes * 1_000_000:
        ext, fmt = FORMATS[i % len(FORMATS)]
        tt = turns(rng, rng.randint(6000, 10000))
        if i % 50 == 49:  # a re-upload of an earlier episode in another format
            tt = episodes[rng.randrange(len(episodes))]
        elif i % 50 == 24:  # a clip cut from an earlier episode
            src = episodes[rng.randrange(len(episodes))]
            start = rng.randrange(max(1, len(src) - 20))
            tt = src[start:start + 20]
        episodes.append(tt)
        data = fmt(tt).encode("utf-8")
        (folder / f"episode-{i:04d}{ext}").write_bytes(data)
        total, i = total + len(data), i + 1
    return total


def cpu_seconds() -> float:
    """CPU time of this process and of its finished worker processes."""
    own, kids = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + kids.ru_utime + kids.ru_stime


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=float, default=34.0)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--keep", type=Path, default=None, help="write the corpus and run here (kept)")
    args = parser.parse_args()

    from doppel.config import IngestConfig, PersonaConfig, SourceConfig
    from doppel.ingest import language, stage
    from doppel.ingest.work import worker_count
    from doppel.workspace import Workspace

    root = args.keep or Path(tempfile.mkdtemp(prefix="doppel-bench-ingest-"))
    try:
        size = generate(root / "sources", args.mb, args.seed)
        files = len(list((root / "sources").iterdir()))
        language.detect("warm up the language model once, as every real run does")
        base_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        started, cpu_started = time.perf_counter(), cpu_seconds()
        result = stage.run([SourceConfig(path=root / "sources", speakers={"SPEAKER_01": "Mara Quell"})], [],
                           PersonaConfig(name="Mara Quell", aliases=["Mara"]), Workspace(root / "run"),
                           IngestConfig())
        seconds, cpu = time.perf_counter() - started, cpu_seconds() - cpu_started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        # Worker processes: the largest one's peak, counted once per worker (an upper bound).
        child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
        workers = worker_count(0)
    finally:
        if args.keep is None:
            shutil.rmtree(root, ignore_errors=True)
    s = result.summary
    # Wall time depends on what else the machine runs; CPU time is this process's own work.
    print(json.dumps({"input_mb": round(size / 1e6, 1), "files": files, "seconds": round(seconds, 1),
                      "mb_per_s": round(size / 1e6 / seconds, 2), "cpu_seconds": round(cpu, 1),
                      "mb_per_cpu_s": round(size / 1e6 / cpu, 2), "workers": workers,
                      "peak_rss_mb": round(peak), "worker_peak_rss_mb": round(child),
                      "peak_total_bound_mb": round(peak + workers * child),
                      "load_average": [round(x, 1) for x in os.getloadavg()],
                      "rss_before_mb": round(base_rss), "documents": s["documents"], "words": s["words"],
                      "duplicates_removed": s["duplicates_removed"], "rejected": s["rejected"]}, indent=1))
    print(f"| {size / 1e6:.1f} MB, {files} files | {seconds:.1f} s wall, {cpu:.1f} s CPU | "
          f"{size / 1e6 / seconds:.2f} MB/s wall, {size / 1e6 / cpu:.2f} MB/s CPU | "
          f"{peak + workers * child:.0f} MB ({peak:.0f} MB main + {workers} × {child:.0f} MB workers) |")


if __name__ == "__main__":
    main()
