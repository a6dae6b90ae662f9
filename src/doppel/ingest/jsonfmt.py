"""JSON and JSONL readers, by shape: documents, chat logs (OpenAI `messages`, ShareGPT
`conversations`), YouTube `json3` captions and youtube-transcript-api snippets (also its
get_transcripts() output), Whisper / faster-whisper / WhisperX output (segments, words,
`SPEAKER_00` labels), role-play datasets (roleplay) and Oyez hearings and `{seconds: text}`
maps (timedjson).
"""

from __future__ import annotations

import json

from doppel.ingest import roleplay, timedjson
from doppel.ingest.base import UNKNOWN, Input, Rejected, add_turn, date_text, doc_id, text_doc, transcript_doc
from doppel.ingest.captions import Cue, cues_to_turns
from doppel.records import Document, Turn

TEXT_KEYS = ("text", "content", "body", "article")
LIST_KEYS = ("documents", "docs", "data", "items", "records", "entries")


def _num(value, default: float = 0.0) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float, str)):
        raise ValueError(f"expected a number, got {type(value).__name__}")
    return float(value)


def _content(value) -> str:
    """Message content: a string, or a list of parts ({'type': 'text', 'text': ...})."""
    if isinstance(value, str):
        return value
    if isinstance(value, list):
        return " ".join(_content(p.get("text") if isinstance(p, dict) else p) for p in value)
    return "" if value is None else str(value)


def _json3(inp: Input, obj: dict) -> Document:
    cues = []
    for ev in obj.get("events") or []:
        segs = ev.get("segs") if isinstance(ev, dict) else None
        if not segs:
            continue
        start = _num(ev.get("tStartMs")) / 1000
        text = "".join(_content(s.get("utf8")) for s in segs if isinstance(s, dict))
        cues.append(Cue(start, start + _num(ev.get("dDurationMs")) / 1000, text.split("\n")))
    return transcript_doc(inp, "json3", cues_to_turns(cues, inp.repairs))


def _snippets(inp: Input, items: list) -> Document:
    cues = [Cue(_num(s.get("start")), _num(s.get("start")) + _num(s.get("duration")),
                _content(s.get("text")).split("\n")) for s in items if isinstance(s, dict)]
    return transcript_doc(inp, "youtube_transcript", cues_to_turns(cues, inp.repairs))


def _whisper(inp: Input, segments: list, language: str | None = None) -> Document:
    turns: list[Turn] = []
    for seg in segments:
        if not isinstance(seg, dict):
            continue
        words = [w for w in seg.get("words") or [] if isinstance(w, dict)]
        if words and any("speaker" in w for w in words):
            # WhisperX: speakers are assigned per word; a segment may hold two of them.
            current = seg.get("speaker") or UNKNOWN
            for w in words:
                current = w.get("speaker") or current
                add_turn(turns, str(current), _content(w.get("word") or w.get("text")),
                         w.get("start") if isinstance(w.get("start"), (int, float)) else None,
                         w.get("end") if isinstance(w.get("end"), (int, float)) else None)
            continue
        add_turn(turns, str(seg.get("speaker") or UNKNOWN), _content(seg.get("text")),
                 _num(seg.get("start"), None), _num(seg.get("end"), None))
    return transcript_doc(inp, "whisper", turns, meta={"language": language} if language else {})


def _chat(inp: Input, messages: list, index: int, role_key: str, text_key: str) -> Document | None:
    turns: list[Turn] = []
    system = []
    for msg in messages:
        if not isinstance(msg, dict):
            continue
        role, text = str(msg.get(role_key) or UNKNOWN), _content(msg.get(text_key))
        if role == "system":
            system.append(text)
            continue
        # Every message is its own turn: two user messages in a row are two questions.
        add_turn(turns, str(msg.get("name") or role), text, new=True)
    if not turns:
        return None
    doc = transcript_doc(inp, "chat", turns, meta={"system": " ".join(system)} if system else {})
    return doc.model_copy(update={"id": f"{doc.id}-{index}"})


def _document(inp: Input, obj: dict, index: int) -> Document | None:
    if isinstance(obj.get("turns"), list):  # Doppel's own Document records
        turns = [Turn(speaker=str(t.get("speaker") or UNKNOWN), text=" ".join(_content(t.get("text")).split()),
                      start=_num(t.get("start"), None), end=_num(t.get("end"), None))
                 for t in obj["turns"] if isinstance(t, dict)]
        turns = [t for t in turns if t.text]
        if turns:
            return transcript_doc(inp, "json", turns, obj.get("title") and str(obj["title"]), date_text(obj.get("date")))
    text = next((_content(obj[k]) for k in TEXT_KEYS if isinstance(obj.get(k), (str, list))), "")
    if not text.strip():
        return None
    doc = text_doc(inp, "json", text, str(obj["title"]) if obj.get("title") else None, date_text(obj.get("date")))
    source = obj.get("url") or obj.get("source")
    return doc.model_copy(update={"id": f"{doc.id}-{index}",
                                  "meta": {"source": str(source)} if source else {}})


def _other_shape(inp: Input, obj: dict, index: int) -> list[Document] | None:
    """Role-play datasets, court hearings and timed-text maps, or None for none of them."""
    reader = roleplay.shape(obj)
    if reader is not None:
        return reader(inp, obj, index)
    if timedjson.is_oyez(obj):
        return [timedjson.oyez(inp, obj)]
    if timedjson.is_video_map(obj):  # youtube-transcript-api get_transcripts()
        docs = []
        for video, snippets in obj.items():
            doc = _snippets(inp, snippets)
            docs.append(doc.model_copy(update={"id": f"{doc.id}-{video}", "meta": {**doc.meta, "video_id": video}}))
        return docs
    if timedjson.is_seconds_map(obj):
        return [timedjson.seconds_map(inp, obj)]
    return None


def from_value(inp: Input, obj, index: int = 0) -> list[Document]:
    """Documents from one parsed JSON value, whatever shape it has."""
    if isinstance(obj, dict):
        if isinstance(obj.get("events"), list):
            return [_json3(inp, obj)]
        if isinstance(obj.get("segments"), list):
            return [_whisper(inp, obj["segments"], obj.get("language"))]
        if isinstance(obj.get("snippets"), list):
            return [_snippets(inp, obj["snippets"])]
        if isinstance(obj.get("messages"), list):
            return [d for d in [_chat(inp, obj["messages"], index, "role", "content")] if d]
        if isinstance(obj.get("conversations"), list):
            return [d for d in [_chat(inp, obj["conversations"], index, "from", "value")] if d]
        if (found := _other_shape(inp, obj, index)) is not None:
            return found
        for key in LIST_KEYS:
            if isinstance(obj.get(key), list):
                return from_value(inp, obj[key], index)
        return [d for d in [_document(inp, obj, index)] if d]
    if isinstance(obj, list):
        dicts = [o for o in obj if isinstance(o, dict)]
        if roleplay.is_turn_list(obj):  # ChatHaruhi: {role, text} turns of one dialogue
            return roleplay.dialogue(inp, obj, index)
        if dicts and all("role" in o and "content" in o for o in dicts):
            return [d for d in [_chat(inp, dicts, index, "role", "content")] if d]
        if dicts and all("text" in o and "start" in o for o in dicts):
            if all("duration" in o for o in dicts):
                return [_snippets(inp, dicts)]
            if all("end" in o for o in dicts):
                return [_whisper(inp, dicts)]
        out: list[Document] = []
        for i, item in enumerate(obj):
            out.extend(from_value(inp, item, i))
        return out
    return []


def read_json(inp: Input) -> list[Document]:
    text = inp.text.lstrip("\ufeff").strip()
    try:
        values = [json.loads(text)]
        lines = False
    except (json.JSONDecodeError, RecursionError):
        values, lines = _json_lines(inp, text), True
    if lines and roleplay.is_turn_list(values):  # JSONL whose lines are the turns of one dialogue
        values, lines = [values], False
    try:
        docs: list[Document] = []
        for i, value in enumerate(values):
            docs.extend(from_value(inp, value, i) if lines else from_value(inp, value))
    except Rejected:
        raise
    except (TypeError, ValueError, AttributeError, KeyError, RecursionError) as err:
        raise Rejected("bad_json", f"unexpected value types: {str(err)[:160]}") from None
    if not docs:
        raise Rejected("unknown_json_shape", "no documents, messages, conversations, segments, caption "
                                             "events, role-play dialogue or hearing turns with text were "
                                             "found in the JSON")
    seen: dict[str, int] = {}
    for i, d in enumerate(docs):  # ids unique within the file
        if d.id in seen:
            docs[i] = d.model_copy(update={"id": doc_id(f"{d.id}-{i}", d.text)})
        seen[docs[i].id] = i
    return docs


def _json_lines(inp: Input, text: str) -> list:
    values, bad = [], 0
    for line in text.split("\n"):
        if not line.strip():
            continue
        try:
            values.append(json.loads(line))
        except (json.JSONDecodeError, RecursionError):
            bad += 1
    if not values:
        raise Rejected("bad_json", "neither one JSON value nor JSON lines")
    if bad:
        inp.repairs.extend(["skipped_bad_json_lines"] * bad)
    return values
