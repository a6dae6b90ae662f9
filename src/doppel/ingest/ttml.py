"""TTML / DFXP captions and YouTube's timed-text XML (srv1 `<transcript><text>`, srv3 `<timedtext>`).

Parsed with lxml with entity resolution and network access off. Speakers come from
`ttm:agent` (named in the head's `<ttm:agent><ttm:name>`) or from `Name:` labels in the text.
Times follow TTML's time containment (a `<div begin>` offsets its paragraphs; `seq`
containers run one child after another); every time expression form is read by ttmltime.
"""

from __future__ import annotations

from doppel.ingest.base import Input, Rejected, transcript_doc
from doppel.ingest.captions import Cue, cues_to_turns
from doppel.ingest.ttmltime import TimeBase, parse_time
from doppel.records import Document

TTM = "http://www.w3.org/ns/ttml#metadata"
XML_ID = "{http://www.w3.org/XML/1998/namespace}id"


def _local(tag) -> str:
    return tag.rsplit("}", 1)[-1] if isinstance(tag, str) else ""


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


def _interval(el, timing: TimeBase, base: float, parent_end: float | None) -> tuple[float, float | None]:
    """(begin, end) of a timed element in seconds on the document's timeline; begin and end
    count from the parent's begin (par time containment), dur from the element's begin."""
    begin = parse_time(el.get("begin"), timing)
    end = parse_time(el.get("end"), timing)
    start = base + (begin or 0.0)
    if end is not None:
        return start, base + end
    dur = parse_time(el.get("dur"), timing)
    return start, (start + dur) if dur is not None else parent_end


def _paragraph(p, timing: TimeBase, base: float, parent_end: float | None, agents: dict) -> Cue:
    start, end = _interval(p, timing, base, parent_end)
    if p.get("begin") is None and p.get("end") is None and p.get("dur") is None:
        spans = [_interval(s, timing, start, None) for s in p.iter() if s is not p and s.get("begin") is not None]
        if spans:  # word- or line-timed spans inside an untimed paragraph
            start, end = min(b for b, _ in spans), max((e if e is not None else b) for b, e in spans)
    agent = p.get(f"{{{TTM}}}agent") or next(
        (s.get(f"{{{TTM}}}agent") for s in p.iter() if s.get(f"{{{TTM}}}agent")), None)
    lines = _text(p).split("\n")
    if agent and lines:  # as a voice tag, so an agent id such as Apple's 'v1' names the speaker too
        lines[0] = f"<v {agents.get(agent, agent).replace('>', ' ')}>{lines[0]}"
    return Cue(start, end if end is not None else start, lines)


def _absolute_children(el, timing: TimeBase, base: float, end: float | None) -> bool:
    """True when a timed container's children carry document times rather than offsets from
    its begin (Apple's lyric TTML: `<div begin="19.7" end="40.2"><p begin="19.7" ...>`): read
    as offsets they would start after the container ends, read as times they fall inside it."""
    if el.get("begin") is None or end is None or base <= 0:
        return False
    begins = [parse_time(c.get("begin"), timing) for c in el if isinstance(c.tag, str) and c.get("begin")]
    return bool(begins) and any(base + b > end for b in begins) and all(base <= b <= end for b in begins)


def _walk(el, timing: TimeBase, base: float, end: float | None, agents: dict, cues: list[Cue]) -> None:
    """The paragraphs under `el`, in document order; a `seq` container times its children
    one after another, a `par` one (the default) from its own begin."""
    seq = el.get("timeContainer") == "seq"
    if not seq and _absolute_children(el, timing, base, end):
        base = 0.0
    cursor = base
    for child in el:
        name = _local(child.tag)
        if name in ("head", "metadata", "styling", "layout") or not isinstance(child.tag, str):
            continue
        if name == "p":
            cue = _paragraph(child, timing, cursor if seq else base, end, agents)
            cues.append(cue)
            cursor = cue.end
            continue
        start, stop = _interval(child, timing, cursor if seq else base, end)
        _walk(child, timing, start, stop, agents, cues)
        cursor = stop if stop is not None else cursor


def _ttml_cues(root) -> list[Cue]:
    timing = TimeBase.of(root)
    cues: list[Cue] = []
    _walk(root, timing, 0.0, None, _agents(root), cues)
    if timing.base == "clock" and cues:  # times of day or wall-clock dates: count from the first
        first = min(c.start for c in cues)
        cues = [Cue(c.start - first, c.end - first, c.lines) for c in cues]
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
