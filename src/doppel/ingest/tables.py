"""Whisper's tables: `whisper --output_format tsv` and whisper-timestamped's CSV and TSV.

whisper writes a `start<TAB>end<TAB>text` header, then start and end in integer
milliseconds. whisper-timestamped writes its TSV the same way, and its CSV (`.csv`,
`.words.csv`) without a header as `text,start,end` with times in seconds (csv quoting for
commas in the text); `header=True` adds `text,start,end`. Any other CSV or TSV is not a
transcript and is rejected as an unsupported format.
"""

from __future__ import annotations

import csv
import io

from doppel.ingest.base import Input, Rejected, add_turn, transcript_doc
from doppel.ingest.labels import split_label
from doppel.records import Document, Turn

NOT_A_TRANSCRIPT = ("a table that is not a Whisper transcript; expected start, end and text columns "
                    "(whisper --output_format tsv, or whisper-timestamped's csv)")


def _number(cell: str) -> float | None:
    try:
        value = float(cell.strip())
    except ValueError:
        return None
    return value if value == value and value >= 0 else None  # NaN and negative times are no times


def _columns(rows: list[list[str]], tabs: bool) -> tuple[int, int, int, float, bool]:
    """(start, end, text column, seconds per unit, whether the first row is a header)."""
    header = [c.strip().lower() for c in rows[0]]
    if {"start", "end", "text"} <= set(header):
        scale = 0.001 if tabs else 1.0  # the TSV writers use milliseconds, the CSV writer seconds
        return header.index("start"), header.index("end"), header.index("text"), scale, True
    numeric = [i for i, c in enumerate(rows[0]) if _number(c) is not None]
    if len(rows[0]) >= 3 and numeric[:2] == [1, 2]:
        return 1, 2, 0, 0.001 if tabs else 1.0, False
    if len(rows[0]) >= 3 and numeric[:2] == [0, 1]:
        return 0, 1, 2, 0.001 if tabs else 1.0, False
    raise Rejected("unsupported_format", NOT_A_TRANSCRIPT)


def read_table(inp: Input) -> list[Document]:
    text = inp.text.lstrip("\ufeff")
    first = text.split("\n", 1)[0]
    tabs = "\t" in first or (inp.suffix == ".tsv" and "," not in first)
    rows = [r for r in csv.reader(io.StringIO(text), delimiter="\t" if tabs else ",") if any(c.strip() for c in r)]
    if not rows:
        raise Rejected("empty")
    start_col, end_col, text_col, scale, header = _columns(rows, tabs)
    turns: list[Turn] = []
    bad = 0
    for row in rows[1:] if header else rows:
        if len(row) <= max(start_col, end_col, text_col):
            bad += 1
            continue
        start, end = _number(row[start_col]), _number(row[end_col])
        if start is None or end is None or end < start:
            bad += 1
            continue
        speaker, rest, changed = split_label(row[text_col])
        add_turn(turns, speaker, rest, start * scale, end * scale, new=changed and speaker is None)
    if bad > max(2, len(rows) // 5):
        raise Rejected("unsupported_format", NOT_A_TRANSCRIPT)
    if bad:
        inp.repairs.extend(["skipped_bad_rows"] * bad)
    kind = "whisper_tsv" if tabs else "whisper_csv"
    return [transcript_doc(inp, kind, turns, meta={"format": kind})]
