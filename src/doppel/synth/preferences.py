"""Preference pairs: the person's voice (chosen) against a generic or catch-phrase answer (rejected)."""

from __future__ import annotations

from doppel.records import Message, PreferencePair


def pair(pid: str, system: str, question: str, chosen: str, rejected: str, source: str,
         chosen_from: str, rejected_from: str, **meta) -> PreferencePair:
    return PreferencePair(id=pid, source=source,
                          prompt=[Message(role="system", content=system), Message(role="user", content=question)],
                          chosen=chosen, rejected=rejected,
                          meta={"chosen_from": chosen_from, "rejected_from": rejected_from, **meta})


def usable(chosen: str, rejected: str | None) -> str | None:
    """The reason a candidate pair is unusable, or None."""
    if not rejected or not rejected.strip():
        return "no_rejected_answer"
    if " ".join(chosen.split()) == " ".join(rejected.split()):
        return "chosen_equals_rejected"
    return None
