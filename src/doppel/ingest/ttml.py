"""TTML / DFXP captions and YouTube's timed-text XML (srv1 `<transcript><text>`, srv3 `<timedtext>`).

Parsed with lxml with entity resolution and network access off. Speakers come from
`ttm:agent` (named in the head's `<ttm:agent><ttm:name>`) or from `Name:` labels in the text.
"""

from __future__ import annotations

import re

from doppel.ingest.base import Input, Rejected, transcript_doc
from doppel.ingest.captions import Cue, cues_to_turns
from doppel.records import Document

TTM = "http://www.w3.org/ns/ttml#metadata"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"
CLOCK = re.compile(r"^(\d+):(\d{1,2}):(\d{1,2})(?:([.:])(\d+))?$")
OFFSET = re.compile(r"^(\d+(?:\.\d+)?)(h|m|s|ms|f|t)$")


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


def parse_time(value: str | None, frame_rate: float = 30.0, tick_rate: float = 1.0) -> float | None:
    """Seconds from a TTML time expression ('00:01:02.5', '00:01:02:12', '62.5s', '1500ms', '12t')."""
    if not value:
        return None
    value = value.strip()
    m = CLOCK.match(value)
    if m:
        h, mi, s, sep, frac = m.groups()
        secs = int(h) * 3600 + int(mi) * 60 + int(s)
        if frac:
            secs += int(frac) / frame_rate if sep == ":" else float(f"0.{frac}")
        return float(secs)
    m = OFFSET.match(value)
    if not m:
        raise ValueError(f"bad time expression '{value}'")
    n, unit = float(m.group(1)), m.group(2)
    scale = {"h": 3600, "m": 60, "s": 1, "ms": 0.001, "f": 1 / frame_rate, "t": 1 / tick_rate}[unit]
    return n * scale


def _text(el) -> str:
    parts: list[str] = [el.text or ""]
    for child in el:
        parts.append("\n" if _local(child.tag) == "br" else _text(child))
        parts.append(child.tail or "")
    return "".join(parts)


def _agents(root) -> dict[str, str]:
    names: dict[str, str] = {}
    for el in root.iter(f"{{{TTM}}}agent"):
        name = next((n.text for n in el.iter(f"{{{TTM}}}name") if n.text), None)
        if el.get(XML_ID):
            names[el.get(XML_ID)] = (name or el.get(XML_ID)).strip()
    return names


def _ttml_cues(root) -> list[Cue]:
    rate = float(root.get("{http://www.w3.org/ns/ttml#parameter}frameRate") or 30)
    ticks = float(root.get("{http://www.w3.org/ns/ttml#parameter}tickRate") or rate)
    agents = _agents(root)
    cues: list[Cue] = []
    for p in root.iter():
        if _local(p.tag) != "p":
            continue
        start = parse_time(p.get("begin"), rate, ticks) or 0.0
        end = parse_time(p.get("end"), rate, ticks)
        if end is None:
            dur = parse_time(p.get("dur"), rate, ticks)
            end = start + (dur or 0.0)
        agent = p.get(f"{{{TTM}}}agent") or next(
            (s.get(f"{{{TTM}}}agent") for s in p.iter() if s.get(f"{{{TTM}}}agent")), None)
        lines = _text(p).split("\n")
        if agent and lines:
            lines[0] = f"{agents.get(agent, agent)}: {lines[0]}"
        cues.append(Cue(start, end, lines))
    return cues


def _timedtext_cues(root) -> list[Cue]:
    cues: list[Cue] = []
    for el in root.iter():
        name = _local(el.tag)
        if name == "text" and el.get("start") is not None:  # srv1: seconds
            start = float(el.get("start"))
            cues.append(Cue(start, start + float(el.get("dur") or 0), _text(el).split("\n")))
        elif name == "p" and el.get("t") is not None:  # srv3: milliseconds
            start = int(el.get("t")) / 1000
            cues.append(Cue(start, start + int(el.get("d") or 0) / 1000, _text(el).split("\n")))
    return cues


def read_ttml(inp: Input) -> list[Document]:
    from lxml import etree

    parser = etree.XMLParser(resolve_entities=False, no_network=True, huge_tree=False, recover=False)
    try:
        root = etree.fromstring(inp.text.lstrip("\ufeff").encode("utf-8"), parser)
    except (etree.XMLSyntaxError, ValueError) as err:
        raise Rejected("bad_captions", f"not well-formed XML: {str(err)[:160]}") from None
    if root is None:
        raise Rejected("bad_captions", "empty XML document")
    kind = _local(root.tag)
    try:
        if kind == "tt":
            cues = _ttml_cues(root)
        elif kind in ("transcript", "timedtext"):
            cues = _timedtext_cues(root)
        else:
            raise Rejected("unsupported_format", f"XML root <{kind}> is neither TTML <tt> nor YouTube timed text")
    except ValueError as err:
        raise Rejected("bad_captions", str(err)[:200]) from None
    if not cues:
        raise Rejected("bad_captions", "no timed paragraph (<p begin=... end=...>) was found")
    return [transcript_doc(inp, "ttml", cues_to_turns(cues, inp.repairs))]
