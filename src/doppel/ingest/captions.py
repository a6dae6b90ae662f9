"""Caption readers: SRT (srt), WebVTT and SBV (webvtt-py), TTML and YouTube timed-text XML.

Every format becomes a list of cues that `cues_to_turns` turns into speaker turns: styling
tags go, `<v Name>` voice tags and `Name:` / `>> NAME:` labels name the speaker, and lines
that a rolling caption repeats from the cue before (YouTube auto-captions) are emitted once.
"""

from __future__ import annotations

import html
import io
import logging
import re
from dataclasses import dataclass

from doppel.ingest.base import Input, Rejected, add_turn, transcript_doc
from doppel.ingest.labels import split_label
from doppel.records import Document, Turn

TAG = re.compile(r"<[^>]*>|\{\\[^}]*\}")  # HTML/VTT tags, karaoke timestamps, ASS overrides
VOICE = re.compile(r"^\s*<v(?:\.[\w-]+)*\s+([^>]+)>")
ARROW = re.compile(r"-->")
logging.getLogger("srt").setLevel(logging.ERROR)  # we count skipped cues ourselves


@dataclass
class Cue:
    start: float
    end: float
    lines: list[str]


def clean_line(line: str) -> tuple[str | None, str]:
    """(voice or None, the line without tags and entities, whitespace collapsed)."""
    if "<" not in line and "&" not in line and "{" not in line:
        return None, " ".join(line.split())
    voice = VOICE.match(line)
    text = " ".join(html.unescape(TAG.sub("", line)).split())
    return (voice.group(1).strip() if voice else None), text


def _overlap(tail: list[str], lines: list[str]) -> int:
    """How many leading lines of a cue repeat the previous cue's last lines."""
    for k in range(min(len(tail), len(lines)), 0, -1):
        if [t.casefold() for t in tail[-k:]] == [t.casefold() for t in lines[:k]]:
            return k
    return 0


def cues_to_turns(cues: list[Cue], repairs: list[str]) -> list[Turn]:
    turns: list[Turn] = []
    tail: list[str] = []
    for cue in cues:
        start, end = cue.start, cue.end
        if end < start:
            repairs.append("cue_end_before_start")
            end = start
        cleaned = [clean_line(line) for line in cue.lines]
        cleaned = [(v, t) for v, t in cleaned if t]
        texts = [t for _, t in cleaned]
        skip = _overlap(tail, texts)
        if texts:
            tail = texts
        for voice, text in cleaned[skip:]:
            if voice:
                add_turn(turns, voice, text, start, end)
                continue
            speaker, rest, changed = split_label(text)
            add_turn(turns, speaker, rest, start, end, new=changed and speaker is None)
    return turns


def _skipped(text: str, parsed: int, repairs: list[str]) -> None:
    if len(ARROW.findall(text)) > parsed:
        repairs.append("skipped_malformed_cues")


def read_srt(inp: Input) -> list[Document]:
    import srt

    text = inp.text
    try:
        subs = list(srt.parse(text))
    except (srt.SRTParseError, ValueError, OverflowError):
        try:
            subs = list(srt.parse(text, ignore_errors=True))
        except (srt.SRTParseError, ValueError, OverflowError) as err:
            raise Rejected("bad_captions", str(err).splitlines()[0][:200]) from None
        _skipped(text, len(subs), inp.repairs)
    if not subs:
        raise Rejected("bad_captions", "no SRT cue (number, 'start --> end' line, text) was found")
    cues = [Cue(s.start.total_seconds(), s.end.total_seconds(), s.content.split("\n")) for s in subs]
    return [transcript_doc(inp, "srt", cues_to_turns(cues, inp.repairs))]


def _webvtt_cues(captions) -> list[Cue]:
    return [Cue(c.start_time.in_milliseconds() / 1000, c.end_time.in_milliseconds() / 1000, list(c.lines))
            for c in captions]


def read_vtt(inp: Input) -> list[Document]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    text = inp.text.lstrip("\ufeff")
    if not text.lstrip().startswith("WEBVTT"):
        inp.repairs.append("missing_webvtt_header")
        text = "WEBVTT\n\n" + text
    try:
        vtt = webvtt.from_string(text)
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError) as err:
        raise Rejected("bad_captions", str(err)[:200] or type(err).__name__) from None
    _skipped(text, len(vtt.captions), inp.repairs)
    if not vtt.captions:
        raise Rejected("bad_captions", "no WebVTT cue ('start --> end' line and text) was found")
    title = None
    for line in vtt.metadata:
        if line.lower().startswith("title:"):
            title = line.split(":", 1)[1].strip() or None
    return [transcript_doc(inp, "vtt", cues_to_turns(_webvtt_cues(vtt.captions), inp.repairs), title=title)]


def read_sbv(inp: Input) -> list[Document]:
    import webvtt
    from webvtt.errors import MalformedCaptionError, MalformedFileError

    try:
        sbv = webvtt.from_buffer(io.StringIO(inp.text), format="sbv")
    except (MalformedFileError, MalformedCaptionError, ValueError, IndexError) as err:
        raise Rejected("bad_captions", str(err)[:200] or type(err).__name__) from None
    if not sbv.captions:
        raise Rejected("bad_captions", "no SBV cue ('start,end' line and text) was found")
    return [transcript_doc(inp, "sbv", cues_to_turns(_webvtt_cues(sbv.captions), inp.repairs))]
