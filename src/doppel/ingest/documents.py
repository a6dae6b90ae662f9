"""Prose readers: plain text, Markdown with front matter, HTML (main text via trafilatura, with
fallbacks for fragments: see htmltext), PDF (text layer via pypdf). Text that reads as a
labelled transcript, or as a role-play script (`Name:「…」`), gets turns.
"""

from __future__ import annotations

import io
import logging
import re

from doppel.ingest.base import Input, Rejected, date_text, text_doc, transcript_doc
from doppel.ingest.roleplay import looks_like_script, parse_script
from doppel.ingest.transcript import label_verdict, parse_transcript
from doppel.records import Document

logging.getLogger("pypdf").setLevel(logging.ERROR)
logging.getLogger("trafilatura").setLevel(logging.CRITICAL)
logging.getLogger("htmldate").setLevel(logging.CRITICAL)


def _prose_or_transcript(inp: Input, kind: str, body: str, title=None, date_=None) -> Document:
    if looks_like_script(body):
        turns = parse_script(body, inp.repairs)
        if turns:
            return transcript_doc(inp, kind, turns, title=title, date_=date_, meta={"format": "script"})
    verdict = label_verdict(body)
    if verdict.transcript:
        turns = parse_transcript(body)
        if turns:
            return transcript_doc(inp, kind, turns, title=title, date_=date_, meta={"format": "transcript"})
    # Labels that are not turns (a list of 'Algol: ...' items) leave the text the author's own;
    # the report lists such documents so a real transcript can be forced with kind: transcript.
    meta = {"labels_not_turns": {"labels": verdict.labels[:12], "why": verdict.why}} if verdict.why else {}
    return text_doc(inp, kind, body, title=title, date_=date_, meta=meta)


def read_text(inp: Input) -> list[Document]:
    return [_prose_or_transcript(inp, "text", inp.text)]


def read_transcript(inp: Input) -> list[Document]:
    turns = parse_transcript(inp.text)
    return [transcript_doc(inp, "transcript", turns)]


def read_markdown(inp: Input) -> list[Document]:
    import frontmatter

    try:
        post = frontmatter.loads(inp.text)
    except Exception as err:  # the YAML parser raises many types for broken front matter
        raise Rejected("bad_front_matter", str(err).splitlines()[0][:200] if str(err) else "") from None
    body = post.content.strip()
    if not body:
        raise Rejected("empty")
    meta = post.metadata if isinstance(post.metadata, dict) else {}
    title = meta.get("title")
    if title is None:
        heading = re.search(r"^#\s+(.+)$", body, re.MULTILINE)
        title = heading.group(1).strip() if heading else None
    return [_prose_or_transcript(inp, "markdown", body, str(title) if title is not None else None,
                                 date_text(meta.get("date")))]


def read_html(inp: Input) -> list[Document]:
    from doppel.ingest.htmltext import extract

    found = extract(inp.text, inp.name if inp.is_url else None)
    text = found.text.strip()
    if not text:
        raise Rejected("no_main_text", "no article text found in the page (navigation only, or a "
                                       "page built by JavaScript)")
    title = found.title
    first, _, rest = text.partition("\n")
    if title and first.strip() == title.strip() and rest.strip():
        text = rest.strip()  # the page heading repeats the title
    meta = {k: v for k, v in (("author", found.author), ("url", found.url)) if v}
    doc = _prose_or_transcript(inp, "html", text, title, date_text(found.date))
    return [doc.model_copy(update={"meta": {**doc.meta, **meta, "extractor": found.extractor}})]


def _pdf_date(value) -> str | None:
    m = re.match(r"^(?:D:)?(\d{4})(\d{2})?(\d{2})?", str(value or ""))
    if not m:
        return None
    return "-".join(g for g in m.groups() if g)


def read_pdf(inp: Input) -> list[Document]:
    from pypdf import PdfReader
    from pypdf.errors import FileNotDecryptedError, PyPdfError

    try:
        reader = PdfReader(io.BytesIO(inp.data), strict=False)
        if reader.is_encrypted and not reader.decrypt(""):
            raise Rejected("encrypted_pdf", "the PDF needs a password; save an unlocked copy")
        pages = [(page.extract_text() or "") for page in reader.pages]
        info = reader.metadata or {}
        title, created = info.get("/Title"), info.get("/CreationDate")
    except Rejected:
        raise
    except FileNotDecryptedError:
        raise Rejected("encrypted_pdf", "the PDF needs a password; save an unlocked copy") from None
    except (PyPdfError, ValueError, KeyError, TypeError, AttributeError, IndexError, OSError,
            RecursionError, AssertionError, ZeroDivisionError, OverflowError, UnicodeError) as err:
        raise Rejected("bad_pdf", f"{type(err).__name__}: {str(err)[:160]}") from None
    inp.encoding = "pdf"
    # Words hyphenated across a line end are joined; single line breaks inside a paragraph go.
    text = "\n\n".join(p.strip() for p in pages if p.strip())
    text = re.sub(r"(\w)-\n(\w)", r"\1\2", text)
    text = re.sub(r"(?<!\n)\n(?!\n)", " ", text)
    if not text.strip():
        raise Rejected("no_text_layer", "the PDF has no text layer (a scan?); run OCR on it first")
    return [text_doc(inp, "pdf", text, str(title).strip() if title else None, _pdf_date(created),
                     meta={"pages": len(pages)})]
