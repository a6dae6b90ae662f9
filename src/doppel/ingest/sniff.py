"""Which reader reads an input: decided by content first, then extension or HTTP type.

Content with a clear signature (a PDF header, `WEBVTT`, SRT or SBV timing lines, a TTML
root, an HTML document or article fragment, JSON) wins over a misleading extension. A file with an unknown
extension and no signature is rejected rather than guessed at.
"""

from __future__ import annotations

import json
import re

from doppel.ingest.base import Input, Rejected
from doppel.ingest.decoding import looks_binary
from doppel.ingest.htmltext import is_fragment

EXTENSIONS = {
    ".md": "markdown", ".markdown": "markdown", ".mdown": "markdown", ".txt": "text", ".text": "text",
    ".srt": "srt", ".vtt": "vtt", ".webvtt": "vtt", ".sbv": "sbv", ".ttml": "ttml", ".dfxp": "ttml",
    ".xml": "ttml", ".srv1": "ttml", ".srv3": "ttml", ".html": "html", ".htm": "html", ".xhtml": "html",
    ".pdf": "pdf", ".json": "json", ".json3": "json", ".jsonl": "json", ".ndjson": "json",
    ".tsv": "table", ".csv": "table",
}
CONTENT_TYPES = {
    "text/html": "html", "application/xhtml+xml": "html", "text/plain": "text", "text/markdown": "markdown",
    "application/pdf": "pdf", "text/vtt": "vtt", "application/x-subrip": "srt", "application/json": "json",
    "application/x-ndjson": "json", "application/ttml+xml": "ttml",
    "text/tab-separated-values": "table", "text/csv": "table",
}
SRT_TIMING = re.compile(r"^\s*\d+\s*\n\s*\d+:\d{1,2}:\d{1,2}[,.]\d+\s*-->", re.MULTILINE)
SBV_TIMING = re.compile(r"^\s*\d+:\d{1,2}:\d{1,2}\.\d{3},\d+:\d{1,2}:\d{1,2}\.\d{3}\s*$", re.MULTILINE)
HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>]|head[\s>]|body[\s>])", re.IGNORECASE | re.DOTALL)
XML_CAPTIONS = re.compile(r"^\s*(<\?xml[^>]*>\s*)?(<!--.*?-->\s*)*<(tt|transcript|timedtext)[\s>]", re.DOTALL)


def _content_kind(text: str) -> str | None:
    head = text[:4096].lstrip("\ufeff \t\n")
    if head.startswith("WEBVTT"):
        return "vtt"
    if SRT_TIMING.match(head):
        return "srt"
    if SBV_TIMING.match(head):
        return "sbv"
    if XML_CAPTIONS.match(head):
        return "ttml"
    if HTML_START.match(head):
        return "html"
    if is_fragment(head):
        return "fragment"
    if head[:1] in "{[":
        first = head.split("\n", 1)[0]
        for candidate in (text, first):
            try:
                json.loads(candidate)
                return "json"
            except (json.JSONDecodeError, RecursionError):
                continue
    return None


def choose_reader(inp: Input) -> str:
    """The reader kind for an input whose kind was left as 'auto'; raises Rejected."""
    declared = EXTENSIONS.get(inp.suffix) or CONTENT_TYPES.get(inp.content_type or "")
    if inp.data[:1024].lstrip().startswith(b"%PDF-"):
        return "pdf"
    if declared == "pdf":
        raise Rejected("bad_pdf", "the file has a .pdf name but no PDF header")
    if declared is None and looks_binary(inp.data):
        raise Rejected("unsupported_format", f"no reader for '{inp.suffix or inp.name}' files (binary content)")
    try:
        found = _content_kind(inp.text)
    except Rejected as rej:
        if declared is None and rej.reason in ("binary", "unknown_encoding"):
            raise Rejected("unsupported_format", f"no reader for '{inp.suffix or inp.name}' files") from None
        raise
    if found == "json" and declared not in (None, "json", "text"):
        found = None  # JSON-looking captions or markdown are still read as declared
    if found == "fragment":  # Markdown or text may open with an HTML block; an unnamed file is HTML
        found = "html" if declared in (None, "html") else None
    if found is not None:
        return found
    if declared is None:
        raise Rejected("unsupported_format", f"no reader for '{inp.suffix or inp.name}' files; "
                                             f"rename it (.txt, .md, .srt, .vtt, .json, ...) or set kind:")
    return declared
