"""SFT examples from transcripts: other speakers' turns become the question, the person's the answer."""

from __future__ import annotations

import re
from collections import Counter

from doppel.config import DataConfig, PersonaConfig
from doppel.records import Document, Example, Message


def exchanges(doc: Document, persona: PersonaConfig) -> tuple[list[tuple[str, str]], Counter]:
    """(question, answer) pairs in order, and the count of turns left out with reasons.

    Consecutive turns of other speakers are merged into one question (several people may
    ask); consecutive turns of the person are merged into one answer.
    """
    pairs: list[tuple[str, str]] = []
    dropped: Counter = Counter()
    question: list[str] = []
    answer: list[str] = []

    def close() -> None:
        if answer:
            if question:
                pairs.append((" ".join(question), " ".join(answer)))
            else:
                dropped["answer_without_question"] += 1
            question.clear()
            answer.clear()

    for turn in doc.turns or []:
        if persona.matches(turn.speaker):
            answer.append(turn.text)
        else:
            close()
            question.append(f"{turn.text}")
    close()
    return pairs, dropped


# Small talk that carries nothing of the person's views: greetings, thanks, audio checks.
CHATTER = re.compile(r"^\W*(thanks?( you)?( so much)?|hi|hello|hey|good (morning|afternoon|evening)|bye|goodbye|"
                     r"see you|cheers|can you hear me|you'?re on mute|is this (thing )?on|(it'?s )?(great|good|nice|"
                     r"happy|glad) to be here|my pleasure|thanks for having me|sure|okay|ok|yeah|yes|no|right|mm+|"
                     r"uh+|um+)\b", re.IGNORECASE)
CUT_OFF = re.compile(r"(--|[-—–]|\.\.\.|…)\s*$")


def answer_problem(question: str, answer: str, cfg: DataConfig) -> str | None:
    """Why an exchange should not be trained on, or None."""
    words = answer.split()
    if len(words) < cfg.min_answer_words:
        return "answer_too_short"
    if cfg.drop_fragments and (CUT_OFF.search(answer) or (len(words) < 8 and not re.search(r"[.!?\"')]\s*$", answer))):
        return "interrupted_fragment"
    if cfg.drop_chatter and len(words) < 12 and CHATTER.match(answer):
        return "off_topic_chatter"
    return None


def build_examples(doc: Document, persona: PersonaConfig, cfg: DataConfig) -> tuple[list[Example], Counter]:
    pairs, dropped = exchanges(doc, persona)
    examples: list[Example] = []
    history: list[Message] = []
    for i, (q, a) in enumerate(pairs):
        reason = answer_problem(q, a, cfg)
        if reason:
            dropped[reason] += 1
            continue
        context = history[-2 * cfg.context_turns:] if cfg.context_turns else []
        messages = [Message(role="system", content=persona.prompt()), *context,
                    Message(role="user", content=q), Message(role="assistant", content=a)]
        examples.append(Example(id=f"{doc.id}@{i}", messages=messages, source=doc.id))
        history += [Message(role="user", content=q), Message(role="assistant", content=a)]
    return examples, dropped


def background_dialogue(doc: Document) -> list[dict]:
    """A background transcript as chat messages: the speaker with most words answers."""
    words: Counter = Counter()
    for t in doc.turns or []:
        words[t.speaker] += len(t.text.split())
    if not words:
        return []
    answerer = words.most_common(1)[0][0]
    messages: list[dict] = []
    for t in doc.turns or []:
        role = "assistant" if t.speaker == answerer else "user"
        if messages and messages[-1]["role"] == role:
            messages[-1]["content"] += " " + t.text
        else:
            messages.append({"role": role, "content": t.text})
    return messages
