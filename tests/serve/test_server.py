"""The OpenAI-compatible server, driven by the official `openai` client against a real uvicorn server."""

from __future__ import annotations

import threading
import time

import httpx
import openai
import pytest

from doppel.modeling.loading import ModelSource, load_model
from doppel.serve.engines import HFEngine
from tests.serve.helpers import SYSTEM, client, running, state_for

QUESTION = [{"role": "user", "content": "Tell me about the tides."}]


@pytest.fixture(scope="module")
def engine(tiny_model_dir):
    model, tok = load_model(ModelSource("tiny", str(tiny_model_dir)))
    return HFEngine(model, tok, str(tiny_model_dir))


@pytest.fixture(scope="module")
def url(engine):
    with running(state_for(engine, max_tokens=64)) as base:
        yield base


def _stream_text(stream) -> tuple[str, list]:
    chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    return text, chunks


def test_chat_non_streaming_and_streaming_agree(url, engine):
    api = client(url)
    plain = api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=12, temperature=0)
    choice = plain.choices[0]
    assert plain.object == "chat.completion" and choice.message.role == "assistant"
    assert choice.finish_reason in ("stop", "length") and choice.message.content
    # The server added the persona's system prompt: the prompt is the system + user conversation.
    expected_ids = engine.chat_ids([{"role": "system", "content": SYSTEM}, *QUESTION])
    assert plain.usage.prompt_tokens == len(expected_ids)
    assert 1 <= plain.usage.completion_tokens <= 12
    text, chunks = _stream_text(api.chat.completions.create(
        model="mara", messages=QUESTION, max_tokens=12, temperature=0, stream=True,
        stream_options={"include_usage": True}))
    assert chunks[0].choices[0].delta.role == "assistant"
    assert len([c for c in chunks if c.choices and c.choices[0].delta.content]) >= 2  # really streamed
    assert text == choice.message.content  # greedy: the same reply either way
    finishes = [c.choices[0].finish_reason for c in chunks if c.choices and c.choices[0].finish_reason]
    assert finishes == [choice.finish_reason]
    assert chunks[-1].usage.completion_tokens == plain.usage.completion_tokens


def test_completions_and_models(url):
    api = client(url)
    assert [m.id for m in api.models.list().data] == ["mara"]
    done = api.completions.create(model="mara", prompt="The tide", max_tokens=8, temperature=0)
    assert done.choices[0].text and done.usage.completion_tokens <= 8
    pieces = [c.choices[0].text for c in api.completions.create(model="mara", prompt="The tide", max_tokens=8,
                                                                temperature=0, stream=True)]
    assert "".join(pieces) == done.choices[0].text


def test_stop_strings_cut_the_reply(url):
    api = client(url)
    full = api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=20, temperature=0)
    text = full.choices[0].message.content
    stop = text.split()[1] if len(text.split()) > 1 else text[1:3]
    cut = api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=20, temperature=0, stop=[stop])
    assert cut.choices[0].message.content == text[: text.index(stop)]
    assert cut.choices[0].finish_reason == "stop"


def test_every_bad_request_gets_its_4xx(url):
    api = client(url)
    with pytest.raises(openai.NotFoundError) as err:
        api.chat.completions.create(model="nobody", messages=QUESTION)
    assert err.value.body["code"] == "model_not_found"
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=10_000)
    assert err.value.body["code"] == "max_tokens_too_large"
    long = [{"role": "user", "content": "tide " * 600}]
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="mara", messages=long, max_tokens=32)
    assert err.value.body["code"] == "context_length_exceeded"
    cases = [(b"{not json", "invalid_json"), (b"[1, 2]", "invalid_json"),
             (b'{"model": "mara", "messages": "hello"}', "invalid_value"),
             (b'{"model": "mara", "messages": [{"role": "user", "content": "hi"}], "temperature": "hot"}', "invalid_value"),
             (b'{"model": "mara", "messages": [{"role": "user", "content": "hi"}], "max_tokens": "ten"}', "invalid_value"),
             (b'{"model": "mara", "messages": [{"role": "wizard", "content": "hi"}]}', "invalid_value"),
             (b'{"model": "mara", "messages": [{"role": "user", "content": "hi"}], "stream": "yes"}', "invalid_value"),
             (b'{"messages": [{"role": "user", "content": "hi"}]}', "missing_field"),
             (b'{"model": "mara", "messages": []}', "invalid_value")]
    for body, code in cases:
        r = httpx.post(url + "/v1/chat/completions", content=body, headers={"Content-Type": "application/json"})
        assert r.status_code == 400, (body, r.text)
        assert r.json()["error"]["code"] == code, (body, r.json())
    # Structured output is the gguf backend's (llama.cpp grammars); this one says so.
    schema = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "object"}}}
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="mara", messages=QUESTION, response_format=schema)
    assert err.value.body["code"] == "unsupported_response_format" and "--backend gguf" in err.value.body["message"]
    with pytest.raises(openai.BadRequestError) as err:
        api.chat.completions.create(model="mara", messages=QUESTION, response_format={"type": "json_schema"})
    assert err.value.body["code"] == "invalid_response_format"
    r = httpx.post(url + "/v1/completions", json={"model": "mara", "prompt": ["a", "b"]})
    assert r.status_code == 400 and r.json()["error"]["param"] == "prompt"
    assert httpx.post(url + "/v1/chat/completions", content=b"x" * 1_000_001).status_code == 413
    assert httpx.get(url + "/v1/nothing").status_code == 404
    assert httpx.get(url + "/v1/chat/completions").status_code == 405
    assert httpx.get(url + "/v1/nothing").json()["error"]["code"] == "not_found"


def test_api_key_is_required_when_set(engine):
    with running(state_for(engine, api_key="s3cret")) as base:
        with pytest.raises(openai.AuthenticationError):
            client(base, key="wrong").chat.completions.create(model="mara", messages=QUESTION, max_tokens=2)
        r = httpx.get(base + "/v1/models")
        assert r.status_code == 401 and r.json()["error"]["type"] == "authentication_error"
        ok = client(base, key="s3cret").chat.completions.create(model="mara", messages=QUESTION, max_tokens=2)
        assert ok.choices[0].message.content is not None
        assert httpx.get(base + "/health").json()["status"] == "ok"  # health needs no key


def test_a_full_queue_answers_429(engine):
    with running(state_for(engine, max_queue=0, max_tokens=200)) as base:
        api = client(base)
        stream = api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=200, stream=True,
                                             temperature=1.0)
        next(iter(stream))  # the first request now holds the only slot
        with pytest.raises(openai.RateLimitError) as err:
            api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=2)
        assert err.value.response.headers["retry-after"] == "1"
        stream.close()


def test_32_concurrent_clients_for_20_seconds_get_no_5xx(engine):
    statuses: list[int] = []
    errors: list[str] = []
    lock = threading.Lock()
    with running(state_for(engine, max_queue=8, max_tokens=16, queue_timeout=5)) as base:
        stop_at = time.time() + 20

        def worker(i: int) -> None:
            api = client(base)
            while time.time() < stop_at:
                try:
                    if i % 2:
                        api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=4)
                    else:
                        _stream_text(api.chat.completions.create(model="mara", messages=QUESTION, max_tokens=4,
                                                                 stream=True))
                    code = 200
                except openai.APIStatusError as e:
                    code = e.status_code
                    time.sleep(0.05)
                except Exception as e:  # connection errors would mean the server fell over
                    code = -1
                    with lock:
                        errors.append(repr(e))
                with lock:
                    statuses.append(code)

        threads = [threading.Thread(target=worker, args=(i,)) for i in range(32)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        health = httpx.get(base + "/health").json()
    assert not errors, errors[:3]
    assert not [s for s in statuses if s >= 500]
    assert set(statuses) <= {200, 429}
    assert statuses.count(200) >= 10 and statuses.count(429) >= 1  # both served and shed load
    assert health["waiting"] == 0
