"""The Ollama TEMPLATE reproduces the chat template exactly, or is left out when it cannot."""

from __future__ import annotations

import copy
import re

from doppel.config import GenerationSettings
from doppel.export.ollama import go_template, modelfile, role_wrappers

CONVERSATION = [("system", "Be brief."), ("user", "Hi there"), ("assistant", "Hello — you."), ("user", "Again?")]


def render_go(template: str, messages: list[tuple[str, str]]) -> str:
    """Expand the three-role Go template Doppel writes (range over messages, if/else on role)."""
    head, _, rest = template.partition("{{- range .Messages }}")
    body, _, tail = rest.rpartition("{{ end }}{{ end }}")
    found = re.findall(r'\{\{ (?:if|else if) eq \.Role "(\w+)" \}\}(.*?)(?=\{\{ else if|\Z)', body, re.S)
    branches = {role: text.replace("{{ .Content }}", "\0") for role, text in found}
    return head + "".join(branches[r].replace("\0", c) for r, c in messages) + tail


def test_go_template_renders_like_the_jinja_template(tokenizer):
    template = go_template(tokenizer)
    expected = tokenizer.apply_chat_template([{"role": r, "content": c} for r, c in CONVERSATION], tokenize=False,
                                             add_generation_prompt=True)
    assert render_go(template, CONVERSATION) == expected


def test_template_that_is_not_a_per_message_wrapper_is_left_out(tokenizer):
    odd = copy.deepcopy(tokenizer)
    # Numbers each turn: no fixed text around a message reproduces it.
    odd.chat_template = ("{% for m in messages %}[{{ loop.index }}] {{ m['role'] }}: {{ m['content'] }}\n"
                         "{% endfor %}{% if add_generation_prompt %}assistant:{% endif %}")
    assert role_wrappers(odd) is None and go_template(odd) is None
    text = modelfile("m-q8_0.gguf", odd, "You are X.", GenerationSettings(), 512, "m")
    assert "TEMPLATE" not in text.replace("# TEMPLATE omitted", "") and "FROM ./m-q8_0.gguf" in text


def test_modelfile_has_system_stops_and_parameters(tokenizer):
    text = modelfile("m-q4_k_m.gguf", tokenizer, "You are Mara Quell.", GenerationSettings(temperature=0.6), 1024, "m")
    assert 'SYSTEM """You are Mara Quell."""' in text
    assert 'PARAMETER stop "<|im_end|>"' in text and "PARAMETER temperature 0.6" in text
    assert "PARAMETER num_ctx 1024" in text
