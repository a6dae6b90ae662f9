"""Reading and cleaning inputs, the CPU-heavy part of ingest, in worker processes.

Each input is independent, so files are parsed and cleaned in a process pool (one worker a
CPU core by default) while the parent keeps the order, the filters and de-duplication.
Small jobs stay in-process: starting workers costs more than it saves.
"""

from __future__ import annotations

import multiprocessing
import os
from collections import Counter
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat
from typing import Iterable, Iterator

from doppel.config import CleanSettings, SourceConfig
from doppel.ingest.base import Rejected
from doppel.ingest.clean import clean_document
from doppel.ingest.inputs import Item
from doppel.ingest.readers import read_input
from doppel.ingest.speakers import assign_speakers
from doppel.records import Document

PARALLEL_MIN_BYTES = 2_000_000


@dataclass
class Outcome:
    rejected: Rejected | None = None
    reader: str | None = None
    encoding: str | None = None
    repairs: list[str] = field(default_factory=list)
    docs: list[Document] = field(default_factory=list)
    cleaning: Counter = field(default_factory=Counter)


def process(item: Item, src: SourceConfig, clean: CleanSettings) -> Outcome:
    """Read one input and clean its documents; a rejection is returned, not raised."""
    if item.rejected is not None:
        return Outcome(rejected=item.rejected)
    try:
        result = read_input(item.input, "auto" if src.kind == "youtube" else src.kind)
    except Rejected as rej:
        return Outcome(rejected=Rejected(rej.reason, rej.detail))
    out = Outcome(reader=result.reader, encoding=result.encoding, repairs=result.repairs)
    out.docs = [clean_document(assign_speakers(d, src), clean, out.cleaning) for d in result.docs]
    return out


def worker_count(requested: int) -> int:
    return requested or max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)


def process_all(items: Iterable[Item], src: SourceConfig, clean: CleanSettings,
                workers: int) -> Iterator[tuple[Item, Outcome]]:
    """(item, outcome) in input order."""
    workers = worker_count(workers)
    if workers > 1:
        items = list(items)
        size = sum(len(i.input.data) for i in items if i.input is not None)
        if len(items) > 1 and size >= PARALLEL_MIN_BYTES:
            methods = multiprocessing.get_all_start_methods()
            ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
            with ProcessPoolExecutor(min(workers, len(items)), mp_context=ctx) as pool:
                yield from zip(items, pool.map(process, items, repeat(src), repeat(clean), chunksize=2))
            return
    for item in items:
        yield item, process(item, src, clean)
