"""The server and chat REPL on the llama.cpp backend: the exported Q8_0 GGUF answers and stops."""

from __future__ import annotations

import io

from doppel.config import GenerationSettings
from doppel.serve.chat import repl
from doppel.serve.engines import GGUFEngine
from tests.export.models import ANSWERS, QUESTIONS, SYSTEM
from tests.serve.helpers import client, running, state_for


def test_server_on_gguf_backend_streams_and_stops_at_end_of_turn(llama_ggufs):
    engine = GGUFEngine(llama_ggufs["q8_0"])
    assert engine.backend == "gguf" and engine.context_length == 512
    with running(state_for(engine, max_tokens=64)) as url:
        api = client(url)
        messages = [{"role": "system", "content": SYSTEM}, {"role": "user", "content": QUESTIONS[0]}]
        done = api.chat.completions.create(model="mara", messages=messages, max_tokens=60, temperature=0)
        assert done.choices[0].finish_reason == "stop"  # the end-of-turn token, long before 60 tokens
        assert done.choices[0].message.content.strip() == ANSWERS[0]
        chunks = list(api.chat.completions.create(model="mara", messages=messages, max_tokens=60, temperature=0,
                                                  stream=True))
        text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
        assert text == done.choices[0].message.content
        assert [c.choices[0].finish_reason for c in chunks if c.choices[0].finish_reason] == ["stop"]


def test_chat_repl_on_gguf_backend(llama_ggufs):
    engine = GGUFEngine(llama_ggufs["q8_0"])
    out = io.StringIO()
    n = repl(engine, SYSTEM, GenerationSettings(do_sample=False, max_new_tokens=60, repetition_penalty=1.0), "Mara",
             stdin=io.StringIO(QUESTIONS[1] + "\n/exit\n"), stdout=out)
    assert n == 1 and ANSWERS[1] in out.getvalue()
