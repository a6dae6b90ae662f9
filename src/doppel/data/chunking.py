"""Token-budgeted chunks cut on sentence boundaries; every character of text lands in one chunk."""

from __future__ import annotations

import re
from typing import Callable

from doppel.records import Document, TextChunk

# A sentence ends at . ! ? … (plus closing quotes/brackets) followed by whitespace, or at a
# blank line. The whitespace stays with the sentence before it, so spans tile the text.
SENTENCE_END = re.compile(r"(?<=[.!?…])[\"'”’)\]]*\s+|\n\s*\n")

Counter = Callable[[list[str]], list[int]]


def sentence_spans(text: str) -> list[str]:
    """Split text into consecutive pieces whose concatenation is exactly `text`."""
    pieces, start = [], 0
    for m in SENTENCE_END.finditer(text):
        pieces.append(text[start:m.end()])
        start = m.end()
    if start < len(text):
        pieces.append(text[start:])
    return pieces


def _split_long(piece: str, budget: int, count: Counter) -> list[str]:
    """Cut one over-long sentence at word boundaries into pieces within the budget."""
    words = re.findall(r"\S+\s*", piece)
    out, current = [], ""
    for word in words:
        if current and count([current + word])[0] > budget:
            out.append(current)
            current = word
        else:
            current += word
    if current:
        out.append(current)
    return out


def header_line(doc: Document) -> str:
    parts = []
    if doc.title:
        parts.append(f"Title: {doc.title}")
    if doc.date:
        parts.append(f"Date: {doc.date}")
    return " | ".join(parts)


def _tail(pieces: list[tuple[str, int]], overlap: int) -> list[tuple[str, int]]:
    """The last whole sentences of a chunk that fit in `overlap` tokens (never all of them)."""
    out: list[tuple[str, int]] = []
    total = 0
    for piece, size in reversed(pieces[1:]):
        if total + size > overlap:
            break
        out.insert(0, (piece, size))
        total += size
    return out


def chunk_text(text: str, budget: int, count: Counter, overlap: int = 0) -> list[str]:
    """Greedy packing of sentences into chunks of at most `budget` tokens.

    With `overlap`, a new chunk starts with the previous chunk's last sentences (up to that
    many tokens), so a thought cut at a chunk border is still seen whole once.
    """
    pieces = sentence_spans(text)
    sizes = count(pieces) if pieces else []
    chunks: list[str] = []
    current: list[tuple[str, int]] = []
    fresh = False  # whether `current` holds more than the carried-over overlap

    def flush() -> None:
        nonlocal current, fresh
        if fresh:
            chunks.append("".join(p for p, _ in current))
        current = _tail(current, overlap) if overlap and fresh else []
        fresh = False

    for piece, size in zip(pieces, sizes):
        if size > budget:
            flush()
            current = []
            chunks.extend(_split_long(piece, budget, count))
            continue
        if current and sum(s for _, s in current) + size > budget:
            flush()
            while current and sum(s for _, s in current) + size > budget:
                current.pop(0)
        current.append((piece, size))
        fresh = True
    flush()
    return [c for c in chunks if c.strip()]


def chunk_document(doc: Document, text: str, chunk_tokens: int, count: Counter,
                   overlap: int = 0) -> list[TextChunk]:
    """Chunks of `text` (a document's trainable text), each carrying the document's header."""
    header = header_line(doc)
    header_cost = count([header])[0] + 1 if header else 0
    budget = max(8, chunk_tokens - header_cost)
    return [TextChunk(id=f"{doc.id}#{i}", source=doc.id, text=body.strip(), header=header)
            for i, body in enumerate(chunk_text(text, budget, count, overlap))]


def token_counter(tokenizer) -> Counter:
    def count(texts: list[str]) -> list[int]:
        return [len(ids) for ids in tokenizer(texts, add_special_tokens=False)["input_ids"]]
    return count
