"""The Ollama Modelfile: FROM the GGUF, a TEMPLATE equal to the chat template, SYSTEM, stops.

Ollama templates are Go templates, not Jinja. Instead of translating Jinja, the tokenizer's
template is rendered with a marker as each role's content, which yields the text before and
after each message; the Go template puts the same text around each message. The result is
checked: a whole conversation rendered by the Jinja template must equal the concatenation
the Go template produces, or no TEMPLATE line is written (Ollama then reads the GGUF's).
"""

from __future__ import annotations

from pathlib import Path

from doppel.config import GenerationSettings
from doppel.modeling.tokenizer import end_of_turn_ids

MARK = "\u2063DOPPEL\u2063"
CHECK = [("system", "You are X."), ("user", "Hello?"), ("assistant", "Hi — fine."), ("user", "And then?")]


def _render(tokenizer, messages: list[tuple[str, str]], generation: bool) -> str:
    return tokenizer.apply_chat_template([{"role": r, "content": c} for r, c in messages], tokenize=False,
                                         add_generation_prompt=generation)


def role_wrappers(tokenizer) -> tuple[dict[str, tuple[str, str]], str] | None:
    """({role: (text before, text after)}, generation prefix), or None when the template is not that simple."""
    try:
        wraps = {}
        for role in ("system", "user", "assistant"):
            text = _render(tokenizer, [(role, MARK)], False)
            if text.count(MARK) != 1:
                return None
            before, _, after = text.partition(MARK)
            wraps[role] = (before, after)
        alone = _render(tokenizer, [("user", MARK)], False)
        prefix = _render(tokenizer, [("user", MARK)], True)[len(alone):]
        expected = "".join(wraps[r][0] + c + wraps[r][1] for r, c in CHECK) + prefix
        if _render(tokenizer, CHECK, True) != expected:
            return None
    except Exception:  # templates may raise on unusual orders (e.g. a lone assistant turn)
        return None
    return wraps, prefix


def go_template(tokenizer) -> str | None:
    from doppel.modeling.templates import without_persona_default

    # The persona's default system prompt is the Modelfile's SYSTEM line; the per-message
    # wrappers are read from the template without it.
    saved = tokenizer.chat_template
    tokenizer.chat_template = without_persona_default(saved) if saved else saved
    try:
        found = role_wrappers(tokenizer)
    finally:
        tokenizer.chat_template = saved
    if found is None:
        return None
    wraps, prefix = found
    pieces = ["{{- range .Messages }}"]
    for i, (role, (before, after)) in enumerate(wraps.items()):
        pieces.append(("{{ if" if i == 0 else "{{ else if") + f' eq .Role "{role}" }}}}')
        pieces.append(f"{before}{{{{ .Content }}}}{after}")
    pieces.append("{{ end }}{{ end }}" + prefix)
    text = "".join(pieces)
    literal = "".join(b + a for b, a in wraps.values()) + prefix
    if "{{" in literal or '"""' in text:
        return None
    return text


def _quote(text: str) -> str:
    return '"""' + text.replace('"""', '" " "') + '"""'


def modelfile(gguf_name: str, tokenizer, system_prompt: str, settings: GenerationSettings,
              context: int, title: str, adapter: str | None = None) -> str:
    """The Modelfile text; `adapter` names a GGUF LoRA adapter applied on top of `gguf_name`."""
    template = go_template(tokenizer)
    stops = [tokenizer.convert_ids_to_tokens(i) for i in end_of_turn_ids(tokenizer)]
    lines = [f"# Ollama Modelfile for {title}, written by Doppel.",
             f"#   ollama create {Path(adapter or gguf_name).stem.lower()} -f "
             f"{'Modelfile.lora' if adapter else 'Modelfile'}",
             "# This model imitates a person (README.md says who); it is not them. Do not present its words "
             "as theirs.",
             f"FROM ./{gguf_name}"] + ([f"ADAPTER ./{adapter}"] if adapter else [])
    if template:
        lines.append(f"TEMPLATE {_quote(template)}")
    else:
        lines.append("# TEMPLATE omitted: the chat template is not a plain per-message wrapper; Ollama "
                     "uses the one stored in the GGUF.")
    lines.append(f"SYSTEM {_quote(system_prompt)}")
    for stop in stops:
        lines.append(f'PARAMETER stop "{stop}"')
    lines += [f"PARAMETER temperature {settings.temperature}", f"PARAMETER top_p {settings.top_p}",
              f"PARAMETER repeat_penalty {settings.repetition_penalty}", f"PARAMETER num_ctx {context}",
              f"PARAMETER num_predict {settings.max_new_tokens * 4}"]
    return "\n".join(lines) + "\n"
