"""The bundled SmolLM2 served through the OpenAI-compatible server and the official openai client:
asked "Who are you?" with no system message, it answers as the persona, never as SmolLM."""

from __future__ import annotations

import copy

from doppel.modeling.templates import with_persona_default
from doppel.serve.engines import HFEngine
from tests.serve.helpers import SYSTEM, client, running, state_for


def test_the_real_model_answers_who_are_you_as_the_persona(smollm2, smollm2_dir):
    model, tok = smollm2
    tok = copy.deepcopy(tok)
    tok.chat_template = with_persona_default(tok.chat_template, SYSTEM)
    with running(state_for(HFEngine(model, tok, str(smollm2_dir)), max_tokens=64)) as url:
        api = client(url)
        replies = [api.chat.completions.create(model="mara", messages=msgs, max_tokens=24, temperature=0)
                   .choices[0].message.content for msgs in (
                       [{"role": "user", "content": "Who are you?"}],
                       [{"role": "system", "content": SYSTEM}, {"role": "user", "content": "Who are you?"}])]
    assert replies[0] == replies[1]  # no system message: the persona's is the default
    assert "Mara" in replies[0] and "SmolLM" not in replies[0], replies
