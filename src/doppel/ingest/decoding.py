"""Bytes → text: byte-order marks, UTF-16/32 without BOM, UTF-8, the charset an HTML
<meta> or XML declaration names, then legacy encodings detected by charset-normalizer
(Windows-1252, GB2312, Shift-JIS, ...); CRLF and CR become LF.

Binary data, empty files and text in no recognisable encoding are rejected with a reason.
"""

from __future__ import annotations

import codecs
import re

from doppel.ingest.rejected import Rejected

BOMS = (  # longest first: the UTF-32-LE mark begins with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"), (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"), (codecs.BOM_UTF16_LE, "utf-16-le"), (codecs.BOM_UTF16_BE, "utf-16-be"),
)
BINARY_MAGIC = (b"\x89PNG", b"\xff\xd8\xff", b"GIF8", b"PK\x03\x04", b"\x1f\x8b", b"BZh", b"\x7fELF",
                b"ID3", b"OggS", b"fLaC", b"RIFF", b"\x00\x00\x00\x18ftyp", b"\x00\x00\x00\x20ftyp",
                b"7z\xbc\xaf", b"Rar!", b"\xd0\xcf\x11\xe0", b"SQLite format")


def looks_binary(data: bytes) -> bool:
    """True for data that no text encoding explains (images, archives, executables)."""
    if any(data.startswith(m) for m in BINARY_MAGIC):
        return True
    if any(data.startswith(bom) for bom, _ in BOMS):
        return False
    return b"\0" in data[:8192] and _nul_pattern(data) is None


def _nul_pattern(data: bytes) -> str | None:
    """The UTF-16/32 byte order whose NUL pattern the data shows, if any (text without a BOM)."""
    head = data[:4096]
    n = len(head)
    if n < 4:
        return None
    def zero_share(offset: int, step: int) -> float:
        cells = head[offset::step]
        return cells.count(0) / max(1, len(cells))
    if n % 4 == 0 or len(data) % 4 == 0:
        if zero_share(1, 4) > 0.9 and zero_share(2, 4) > 0.9 and zero_share(3, 4) > 0.9:
            return "utf-32-le"
        if zero_share(0, 4) > 0.9 and zero_share(1, 4) > 0.9 and zero_share(2, 4) > 0.9:
            return "utf-32-be"
    if len(data) % 2 == 0:
        if zero_share(1, 2) > 0.6 and zero_share(0, 2) < 0.1:
            return "utf-16-le"
        if zero_share(0, 2) > 0.6 and zero_share(1, 2) < 0.1:
            return "utf-16-be"
    return None


INLINE_CHARSET = re.compile(rb"""<meta[^>]{0,200}?charset\s*=\s*["']?([A-Za-z0-9_.:-]{2,40})|"""
                            rb"""<\?xml[^>]{0,100}?encoding\s*=\s*["']([A-Za-z0-9_.:-]{2,40})""", re.IGNORECASE)


def _inline_charset(data: bytes) -> str | None:
    """The encoding an HTML <meta charset> or an XML declaration names, if Python knows it."""
    m = INLINE_CHARSET.search(data[:4096])
    if not m:
        return None
    name = (m.group(1) or m.group(2)).decode("ascii").lower()
    try:
        codecs.lookup(name)
    except LookupError:
        return None
    return name


CONTROLS = re.compile("[\x00-\x08\x0b\x0e-\x1f\x7f-\x9f]")


def _control_share(text: str) -> float:
    sample = text[:20000]
    return len(CONTROLS.findall(sample)) / max(1, len(sample))


def _strict(data: bytes, encoding: str, repairs: list[str]) -> str | None:
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as err:
        # A file cut off in the middle of its last character: drop the partial character.
        if err.reason in ("unexpected end of data", "truncated data") and err.start >= len(data) - 4:
            repairs.append("truncated_character")
            return data[:err.start].decode(encoding)
        return None


def decode(data: bytes, declared: str | None = None, repairs: list[str] | None = None) -> tuple[str, str]:
    """(text, encoding name); raises Rejected('empty' | 'binary' | 'unknown_encoding')."""
    repairs = repairs if repairs is not None else []
    if not data.strip(b" \t\r\n\x00\xef\xbb\xbf\xff\xfe"):
        raise Rejected("empty")
    if looks_binary(data):
        raise Rejected("binary", "the file holds bytes no text encoding produces (NUL or a binary "
                                 "file signature)")
    text = encoding = None
    for bom, name in BOMS:
        if data.startswith(bom):
            encoding, text = name, _strict(data[len(bom):], name, repairs)
            break
    if encoding is None:
        encoding = _nul_pattern(data) if b"\0" in data[:4096] else None
        if encoding:
            text = _strict(data, encoding, repairs)
    if encoding is None and declared:
        try:
            codecs.lookup(declared)
            encoding, text = declared.lower(), _strict(data, declared, repairs)
        except LookupError:
            pass
    if text is None:
        encoding, text = "utf-8", _strict(data, "utf-8", repairs)
    if text is None and (inline := _inline_charset(data)):
        encoding, text = inline, _strict(data, inline, repairs)
    if text is None:
        text, encoding = _detect(data)
    if _control_share(text) > 0.05:
        raise Rejected("binary", f"decoded as {encoding}, it is mostly control characters")
    text = text.replace("\r\n", "\n").replace("\r", "\n").replace("\0", "")
    if not text.strip():
        raise Rejected("empty")
    return text, encoding


# When several code pages explain the bytes equally well (Western text often decodes
# cleanly in cp1250, cp1252 and cp1257 alike), the most widely used one wins.
PREFERRED = ("utf_8", "cp1252", "latin_1", "iso8859_15", "gb2312", "gb18030", "gbk", "big5", "shift_jis",
             "cp932", "euc_jp", "euc_kr", "cp949", "cp1251", "koi8_r", "cp1250", "iso8859_2", "cp1253", "cp1254")


def _detect(data: bytes) -> tuple[str, str]:
    from charset_normalizer import from_bytes

    results = list(from_bytes(data))
    if not results:
        raise Rejected("unknown_encoding", "no text encoding fits these bytes; re-save the file as UTF-8")
    best = results[0]
    tied = [r for r in results if (r.chaos, r.coherence) == (best.chaos, best.coherence)]
    rank = {name: i for i, name in enumerate(PREFERRED)}
    best = min(tied, key=lambda r: rank.get(r.encoding, len(rank)))
    return str(best), best.encoding
