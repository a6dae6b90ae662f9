"""Prompt templates (files under synth/prompts/) rendered into chat messages.

A template has a `[system]` and a `[user]` section; `${name}` placeholders are filled with
`string.Template`, so a stray `$` in a passage cannot break rendering.
"""

from __future__ import annotations

import functools
import re
from pathlib import Path
from string import Template

PROMPTS = Path(__file__).with_name("prompts")
SECTION = re.compile(r"^\[(system|user)\]\s*$", re.MULTILINE)


@functools.lru_cache(maxsize=None)
def load(name: str) -> dict[str, Template]:
    text = (PROMPTS / f"{name}.txt").read_text(encoding="utf-8")
    parts = SECTION.split(text)
    # split gives ["", "system", body, "user", body]
    return {role: Template(body.strip("\n")) for role, body in zip(parts[1::2], parts[2::2])}


def render(template: str, **values: object) -> list[dict]:
    """Chat messages for `template`; every placeholder must be given."""
    out = []
    for role, tpl in load(template).items():
        out.append({"role": role, "content": tpl.substitute({k: str(v) for k, v in values.items()}).strip()})
    return out
