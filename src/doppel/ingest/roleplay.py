"""Role-play datasets, a common source of a character's dialogue, as Documents with turns.

- RoleBench JSONL: `{"role", "question", "generated": [answers], "type"}`; each answer is a
  Document (the question by "User", the answer by the role).
- Character-LLM: interviews `{"character", "content": [{"turn_role", "turn_content":
  [{"role", "action", "content"}]}]}`, single interviews `[{"question", "reply": [...]}]`,
  experience scenes `{"dialogue": [{"role", "action", "content"}]}` and the prompted SFT form
  `{"prompt", "output": "Beethoven (speaking): ...<|eot|>"}`. Only spoken actions are kept.
- ChatHaruhi: `{"dialogue": [{"role", "text"}]}`, a JSONL file of `{"role", "text"}` turns
  (one dialogue), `{"role_A", "role_B", "query", "response"}`, and its script text lines
  `Name:「…」` (also `春日：「…」`, `ハルヒ「…」`).

Stage directions are removed and counted as repairs: text outside 「」 in a quoted line,
parentheses before the quote, wiki-italic `''…''` asides, scene and narration lines
(`'''Scene''':`, `旁白:`), and non-speaking actions such as Character-LLM's "(thinking)".
"""

from __future__ import annotations

import re

from doppel.ingest.base import UNKNOWN, Input, add_turn, transcript_doc
from doppel.records import Document, Turn

ASKER = "User"  # who asks RoleBench's and Character-LLM's single-interview questions
QUOTED = re.compile(r"「(.*?)(?:」|$)", re.DOTALL)
ITALIC_ASIDE = re.compile(r"''+[^']*?''+")
SCRIPT_LINE = re.compile(r"^(?P<name>[^\s:：「」()（）][^:：「」\n]{0,40}?)\s*(?:(?P<colon>[:：])\s*)?"
                         r"(?P<rest>(?:(?:\([^)\n]*\)|（[^）\n]*）)\s*)*「.*)$")
DIRECTION_SPEAKERS = {"scene", "setting", "stage", "narration", "narrator", "旁白", "场景", "場景", "ト書き"}
MARKERS = re.compile(r"<\|(?:eot|NONSTOP|endoftext)\|>")
SPOKEN = re.compile(r"^\(*\s*(?:speaking|says?|said|talking)?\s*\)*$", re.IGNORECASE)
OUTPUT_TURN = re.compile(r"^(?P<role>[^\n()<>]{1,60}?) \((?P<action>[^()\n]{1,30})\): ?", re.MULTILINE)


def _name(raw) -> str:
    return " ".join(str(raw or "").replace("'", " ").replace("*", " ").split()) or UNKNOWN


def spoken(text: str, repairs: list[str]) -> str:
    """The spoken words of a role-play line: quoted parts only when it quotes, asides out."""
    text = MARKERS.sub(" ", text)
    if "「" in text:
        parts = QUOTED.findall(text)
        outside = QUOTED.sub(" ", text).strip()
        if outside:
            repairs.append("stage_directions_removed")
        text = " ".join(parts)
    if "''" in text:
        text, n = ITALIC_ASIDE.subn(" ", text)
        repairs.extend(["stage_directions_removed"] * n)
    return " ".join(text.split())


def _doc(inp: Input, turns: list[Turn], index, kind: str = "roleplay", meta: dict | None = None) -> Document | None:
    if not turns:
        return None
    doc = transcript_doc(inp, kind, turns, meta=meta)
    return doc.model_copy(update={"id": f"{doc.id}-{index}"})


# -- JSON shapes -----------------------------------------------------------------------------

def rolebench(inp: Input, obj: dict, index: int) -> list[Document]:
    role, question = _name(obj.get("role")), spoken(str(obj.get("question") or ""), inp.repairs)
    answers = obj.get("generated")
    answers = answers if isinstance(answers, list) else [answers]
    kinds = obj.get("type")
    meta = {"format": "rolebench", **({"type": kinds if isinstance(kinds, list) else [kinds]} if kinds else {})}
    docs = []
    for j, answer in enumerate(answers):
        turns: list[Turn] = []
        add_turn(turns, ASKER, question)
        add_turn(turns, role, spoken(str(answer or ""), inp.repairs), new=True)
        if len(turns) == 2 or (turns and turns[0].speaker == role):
            docs.append(_doc(inp, turns, f"{index}-{j}", meta=meta))
    return [d for d in docs if d]


def _action_turns(turns: list[Turn], items, repairs: list[str], text_key: str = "content") -> None:
    for item in [items] if isinstance(items, dict) else items if isinstance(items, list) else []:
        if not isinstance(item, dict):
            continue
        if not SPOKEN.match(str(item.get("action") or "")):
            repairs.append("non_speech_action_removed")  # "(thinking)" is not said aloud
            continue
        add_turn(turns, _name(item.get("role")), spoken(str(item.get(text_key) or item.get("text") or ""), repairs))


def character_llm(inp: Input, obj: dict, index: int) -> list[Document]:
    turns: list[Turn] = []
    for turn in obj["content"]:
        if isinstance(turn, dict):
            _action_turns(turns, turn.get("turn_content"), inp.repairs)
    meta = {"format": "character-llm", **({"character": str(obj["character"])} if obj.get("character") else {})}
    return [d for d in [_doc(inp, turns, index, meta=meta)] if d]


def interview_reply(inp: Input, obj: dict, index: int) -> list[Document]:
    turns: list[Turn] = []
    add_turn(turns, ASKER, spoken(str(obj.get("question") or ""), inp.repairs))
    _action_turns(turns, obj.get("reply"), inp.repairs)
    return [d for d in [_doc(inp, turns, index, meta={"format": "character-llm"})] if d]


def dialogue(inp: Input, items: list, index: int, fmt: str = "chatharuhi") -> list[Document]:
    """A list of {role, text|content[, action]} turns: ChatHaruhi, Character-LLM scenes."""
    turns: list[Turn] = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if "action" in item:
            _action_turns(turns, [item], inp.repairs)
            continue
        text = item.get("text") if item.get("text") is not None else item.get("content")
        speaker = _name(item.get("role"))
        if speaker.casefold() in DIRECTION_SPEAKERS or item.get("if_scene") is True:
            inp.repairs.append("stage_directions_removed")
            continue
        add_turn(turns, speaker, spoken(str(text or ""), inp.repairs))
    return [d for d in [_doc(inp, turns, index, meta={"format": fmt})] if d]


def query_response(inp: Input, obj: dict, index: int) -> list[Document]:
    turns: list[Turn] = []
    add_turn(turns, _name(obj.get("role_A")), spoken(str(obj.get("query") or ""), inp.repairs))
    add_turn(turns, _name(obj.get("role_B")), spoken(str(obj.get("response") or ""), inp.repairs), new=True)
    return [d for d in [_doc(inp, turns, index, meta={"format": "chatharuhi"})] if d]


def prompted_output(inp: Input, obj: dict, index: int) -> list[Document]:
    """Character-LLM's SFT form: 'Role (action): text<|eot|>' blocks in `output`."""
    text = str(obj.get("output") or "")
    heads = list(OUTPUT_TURN.finditer(text))
    items = [{"role": h.group("role"), "action": h.group("action"),
              "content": text[h.end(): heads[k + 1].start() if k + 1 < len(heads) else len(text)]}
             for k, h in enumerate(heads)]
    turns: list[Turn] = []
    _action_turns(turns, items, inp.repairs)
    return [d for d in [_doc(inp, turns, index, meta={"format": "character-llm"})] if d]


def shape(obj: dict):
    """The reader of a role-play JSON object, or None when it is no role-play shape."""
    if "generated" in obj and "question" in obj and "role" in obj:
        return rolebench
    content = obj.get("content")
    if isinstance(content, list) and any(isinstance(c, dict) and "turn_content" in c for c in content):
        return character_llm
    if "question" in obj and isinstance(obj.get("reply"), (list, dict)):
        return interview_reply
    if isinstance(obj.get("dialogue"), list) and all(isinstance(d, dict) and "role" in d for d in obj["dialogue"]):
        return lambda inp, o, i: dialogue(inp, o["dialogue"], i)
    if {"role_A", "role_B", "query", "response"} <= obj.keys():
        return query_response
    if isinstance(obj.get("output"), str) and "prompt" in obj and OUTPUT_TURN.search(obj["output"]):
        return prompted_output
    return None


def is_turn_list(items: list) -> bool:
    """A list (or JSONL file) whose every value is one {role, text} turn of a dialogue."""
    dicts = [o for o in items if isinstance(o, dict)]
    return bool(dicts) and len(dicts) == len(items) and all(
        "role" in o and isinstance(o.get("text"), str) and "question" not in o for o in dicts)


# -- script text -----------------------------------------------------------------------------

def looks_like_script(text: str, sample_lines: int = 200) -> bool:
    """Lines such as `Name:「…」` (ChatHaruhi's scripts) on a good share of the text."""
    if "「" not in text:
        return False
    lines = [ln.strip() for ln in text.split("\n")[: sample_lines * 2] if ln.strip()][:sample_lines]
    quoted = sum(1 for ln in lines if _script_line(ln))
    return quoted >= 2 and quoted >= 0.4 * len(lines)


def _script_line(line: str):
    m = SCRIPT_LINE.match(line)
    if m is None:
        return None
    rest = m.group("rest")
    if not m.group("colon") and not rest.rstrip().endswith(("」", ")", "）")):
        return None  # 彼は「はい」と言った。 is prose, not a script line
    return m


def parse_script(text: str, repairs: list[str]) -> list[Turn]:
    turns: list[Turn] = []
    open_quote = False  # a quotation running on over a line break
    for raw in text.split("\n"):
        line = raw.strip()
        if not line:
            continue
        m = _script_line(line)
        if m is None:
            if open_quote and turns:
                add_turn(turns, None, spoken("「" + line, repairs))
                open_quote = "」" not in line
            else:  # narration ('旁白:...') or a scene line without quotes
                repairs.append("stage_directions_removed")
            continue
        speaker, rest = _name(m.group("name")), m.group("rest")
        open_quote = rest.count("「") > rest.count("」")
        if speaker.casefold() in DIRECTION_SPEAKERS:
            repairs.append("stage_directions_removed")
            continue
        add_turn(turns, speaker, spoken(rest, repairs))
    return turns
