"""The teacher against real OpenAI-compatible HTTP servers on 127.0.0.1."""

from __future__ import annotations

import json
import sqlite3
import subprocess
import sys
import textwrap
import time

import pytest

from doppel.config import Config, TeacherConfig, dump_resolved
from doppel.teacher import Teacher, resolve_teacher
from tests.synth.server import FakeOpenAI, body_key


def _requests(n: int) -> list[list[dict]]:
    return [[{"role": "system", "content": "You are a test."},
             {"role": "user", "content": f"question number {i}"}] for i in range(n)]


def _cfg(url: str, **kw) -> TeacherConfig:
    return TeacherConfig(base_url=url, model="gpt-4o-mini", api_key="sk-test", **kw)


def test_scripted_server_answers_in_order_with_usage_cost_and_cache(tmp_path):
    with FakeOpenAI() as srv:
        teacher = Teacher(_cfg(srv.base_url, concurrency=4), tmp_path / "cache.sqlite")
        replies = teacher.chat_many(_requests(12), temperature=0.0)
        assert [r.text for r in replies] == [f"echo: question number {i}" for i in range(12)]
        assert not any(r.cached for r in replies)
        # 9 prompt words and 4 completion words each; gpt-4o-mini costs 0.15/0.60 per 1M.
        assert replies[0].usage == {"prompt_tokens": 7, "completion_tokens": 4}
        assert teacher.summary()["prompt_tokens"] == 12 * 7
        assert teacher.cost == pytest.approx(12 * (7 * 0.15 + 4 * 0.60) / 1e6)
        sent = sum(srv.received.values())
        again = Teacher(_cfg(srv.base_url), tmp_path / "cache.sqlite").chat_many(_requests(12), temperature=0.0)
        assert [r.text for r in again] == [r.text for r in replies]
        assert all(r.cached for r in again)
        assert sum(srv.received.values()) == sent  # nothing was sent the second time
        # Different sampling parameters are a different request.
        Teacher(_cfg(srv.base_url), tmp_path / "cache.sqlite").chat_many(_requests(1), temperature=0.5)
        assert sum(srv.received.values()) == sent + 1


def test_faults_are_retried_and_every_request_completes(tmp_path):
    with FakeOpenAI(fault_rate=0.2, hang_seconds=3.0, seed=3) as srv:
        teacher = Teacher(_cfg(srv.base_url, concurrency=8, timeout=1.5, backoff=0.01, retries=12),
                          tmp_path / "c.sqlite")
        replies = teacher.chat_many(_requests(60))
        assert [r.error for r in replies] == [None] * 60
        assert [r.text for r in replies] == [f"echo: question number {i}" for i in range(60)]
        assert set(srv.faults) == {"429", "500", "timeout", "malformed"}, srv.faults
        summary = teacher.summary()
        assert summary["requests_sent"] == sum(srv.received.values()) == 60 + summary["retries"]
        assert summary["retries"] >= sum(srv.faults.values())
        assert len(srv.answered) == 60 and set(srv.answered.values()) == {1}


def test_refusals_and_invalid_answers_are_retried_then_rejected_with_reason(tmp_path):
    seen: dict[str, int] = {}

    def script(body: dict) -> str:
        q = body["messages"][-1]["content"]
        seen[q] = seen.get(q, 0) + 1
        if "refuse" in q:
            return "I'm sorry, but I can't help with that."
        if "json" in q:
            return '{"score": 4}' if seen[q] > 1 else "Sure! Here is the score: four"
        return "never json"

    def needs_json(text: str):
        try:
            json.loads(text)
        except ValueError:
            return "not_json"
        return None

    msgs = [[{"role": "user", "content": c}] for c in ("please refuse", "give json", "plain")]
    with FakeOpenAI(script) as srv:
        teacher = Teacher(_cfg(srv.base_url), tmp_path / "c.sqlite")
        out = teacher.chat_many(msgs, validate=needs_json, attempts=2)
    assert out[0].text is None and out[0].error == "refused"
    assert out[1].text == '{"score": 4}' and out[1].error is None
    assert out[2].text is None and out[2].error == "not_json"
    assert teacher.summary()["errors"] == {"refused": 1, "not_json": 1}


def test_client_errors_are_not_retried(tmp_path):
    with FakeOpenAI() as srv:
        cfg = _cfg(srv.base_url.replace("/v1", "/nope"), retries=5, backoff=0.0)
        out = Teacher(cfg, tmp_path / "c.sqlite").chat_many(_requests(2))
        assert [r.error for r in out] == ["http_404", "http_404"]
        assert sum(srv.received.values()) == 0  # the 404 comes before counting


def test_request_body_is_the_one_chat_completions_create_sends(tmp_path):
    # The teacher posts the body itself (cheaper than `create`); the official typed call must
    # send the same JSON body to the same server and read the same answer.
    import asyncio

    import openai

    msgs = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hello there"}]
    params = {"temperature": 0.3, "max_tokens": 7, "extra_body": {"top_k": 5}}
    with FakeOpenAI() as srv:
        reply = Teacher(_cfg(srv.base_url), tmp_path / "c.sqlite").chat_many([msgs], **params)[0]

        async def official():
            async with openai.AsyncOpenAI(base_url=srv.base_url, api_key="sk-test", max_retries=0) as client:
                return await client.chat.completions.create(model="gpt-4o-mini", messages=msgs, **params)

        typed = asyncio.run(official())
    assert len(srv.bodies) == 2
    assert srv.bodies[0] == srv.bodies[1]
    assert srv.bodies[0]["top_k"] == 5 and srv.bodies[0]["max_tokens"] == 7
    assert reply.text == typed.choices[0].message.content == "echo: hello there"
    assert reply.usage == {"prompt_tokens": typed.usage.prompt_tokens,
                           "completion_tokens": typed.usage.completion_tokens}


def test_unknown_parameter_fails_before_anything_is_sent(tmp_path):
    with FakeOpenAI() as srv:
        teacher = Teacher(_cfg(srv.base_url), tmp_path / "c.sqlite")
        with pytest.raises(TypeError, match="temprature"):
            teacher.chat_many(_requests(2), temprature=0.5)
        assert not srv.received and len(teacher.cache) == 0


CLIENT = textwrap.dedent("""
    import sys
    from doppel.config import TeacherConfig
    from doppel.teacher import Teacher
    url, cache, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
    cfg = TeacherConfig(base_url=url, api_key="sk-test", concurrency=6, timeout=1.5, backoff=0.01, retries=20)
    reqs = [[{"role": "user", "content": f"question number {i}"}] for i in range(n)]
    replies = Teacher(cfg, cache).chat_many(reqs)
    assert all(r.text == f"echo: question number {i}" for i, r in enumerate(replies)), replies
    print("done", len(replies))
""")


def _rows(cache) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
        except sqlite3.OperationalError:
            return 0


def _cached_questions(cache) -> set[str]:
    with sqlite3.connect(cache) as db:
        return {json.loads(r)["messages"][-1]["content"] for (r,) in db.execute("SELECT request FROM replies")}


def test_killed_run_restarted_never_asks_again_for_a_stored_answer(tmp_path):
    script = tmp_path / "client.py"
    script.write_text(CLIENT)
    cache = tmp_path / "cache.sqlite"
    n, first = 40, 15
    with FakeOpenAI(fault_rate=0.2, hang_seconds=3.0, seed=7, answer_limit=first) as srv:
        proc = subprocess.Popen([sys.executable, str(script), srv.base_url, str(cache), str(n)])
        deadline = time.time() + 60
        while _rows(cache) < first and time.time() < deadline:
            time.sleep(0.05)
        assert _rows(cache) == first
        proc.kill()  # SIGKILL mid-run: other requests are still waiting for answers
        proc.wait()
        answered_before = dict(srv.answered)
        cached_before = _cached_questions(cache)
        received_before = dict(srv.received)
        srv.answer_limit = None
        srv.released.set()  # held requests end without an answer
        done = subprocess.run([sys.executable, str(script), srv.base_url, str(cache), str(n)],
                              capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, done.stderr
        assert "done 40" in done.stdout
    keys = {body_key({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": f"question number {i}"}]})
            for i in range(n)}
    def key(question: str) -> str:
        return body_key({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": question}]})

    assert len(answered_before) == first and len(cached_before) == first
    assert set(srv.answered) == keys  # every request answered
    # No answer stored before the kill was asked for again after the restart. (A request the
    # server answered but whose reply never reached the client — a client timeout on a slow
    # machine — is asked again: it was never stored.)
    assert all(srv.received[key(q)] == received_before[key(q)] for q in cached_before)
    duplicated = {k for k, times in srv.answered.items() if times > 1}
    assert not duplicated & {key(q) for q in cached_before}
    assert _rows(cache) == n


def test_resolve_teacher_falls_back_to_environment_and_keeps_the_key_secret(monkeypatch):
    monkeypatch.delenv("OPENAI_BASE_URL", raising=False)
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    assert resolve_teacher(TeacherConfig()) is None
    monkeypatch.setenv("OPENAI_BASE_URL", "http://127.0.0.1:9/v1")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-from-env")
    got = resolve_teacher(TeacherConfig())
    assert got.base_url == "http://127.0.0.1:9/v1" and got.api_key.get_secret_value() == "sk-from-env"
    # A key in the config wins; a redacted key read back from config.resolved.yaml does not.
    assert resolve_teacher(TeacherConfig(api_key="sk-own")).api_key.get_secret_value() == "sk-own"
    assert resolve_teacher(TeacherConfig(api_key="***redacted***")).api_key.get_secret_value() == "sk-from-env"
    cfg = Config.model_validate({"name": "x", "persona": {"name": "P"}, "sources": [{"path": "."}],
                                 "teacher": {"api_key": "sk-very-secret"}})
    assert "sk-very-secret" not in dump_resolved(cfg)
