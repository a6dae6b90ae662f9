"""A GGUF file as the teacher: a llama.cpp server started for the stage and stopped after it."""

from __future__ import annotations

import json
import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from doppel.errors import UserError
from tests.conftest import write_tiny_config


@pytest.fixture(scope="module")
def tiny_gguf(tmp_path_factory, tiny_model_dir):
    from doppel.export.gguf import write_gguf

    path = tmp_path_factory.mktemp("teacher") / "tiny-teacher-f16.gguf"
    write_gguf(tiny_model_dir, path, "f16")
    return path


def _servers(path: Path) -> list[int]:
    """Process ids of local servers running for `path`."""
    found = []
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            cmd = (proc / "cmdline").read_bytes().split(b"\0")
            state = (proc / "stat").read_text().split(")")[-1].split()[0]
        except OSError:
            continue
        if b"doppel.serve.local" in cmd and str(path).encode() in cmd and state != "Z":
            found.append(int(proc.name))
    return found


def _gone(path: Path, seconds: float = 20.0) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if not _servers(path):
            return True
        time.sleep(0.2)
    return False


def test_the_local_endpoint_answers_the_openai_client_and_is_stopped_after(tiny_gguf):
    import openai

    from doppel.local_endpoint import local_endpoint

    with local_endpoint(str(tiny_gguf), parallel=2, context=512) as (url, name):
        assert len(_servers(tiny_gguf)) == 1 and name.startswith("local/tiny-teacher-f16@")
        client = openai.OpenAI(base_url=url, api_key="unused")
        reply = client.chat.completions.create(model=name, messages=[{"role": "user", "content": "Hello there"}],
                                               max_tokens=8, temperature=0)
        assert reply.choices[0].finish_reason in ("stop", "length") and reply.usage.completion_tokens >= 1
        health = json.loads(urllib.request.urlopen(url.removesuffix("/v1") + "/health", timeout=5).read())
        assert health["slots"] == 2 and health["running"] == 0
        port = int(url.rsplit(":", 1)[1].split("/")[0])
    assert not _servers(tiny_gguf)
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", port), timeout=2).close()


def test_a_local_teacher_holds_replies_to_the_json_schema_asked_for(tiny_gguf, tmp_path, monkeypatch):
    from doppel.config import TeacherConfig
    from doppel.synth.scoring import SCORES_SCHEMA, parse_scores
    from doppel.teacher import Teacher, reply_format, teacher_endpoint

    monkeypatch.setenv("DOPPEL_CACHE", str(tmp_path / "cache"))
    cfg = TeacherConfig(local=str(tiny_gguf), local_parallel=1, local_context=512, local_quant="q8_0")
    with teacher_endpoint(cfg) as resolved:
        assert resolved.structured_output and "q8_0" in resolved.model  # served from its q8_0 copy
        teacher = Teacher(resolved, None)
        asks = [[{"role": "user", "content": f"Grade answer {i}."}] for i in range(3)]
        # A tiny random model writes noise; held to the schema by llama.cpp's grammar, it parses.
        replies = teacher.chat_many(asks, temperature=0.8, max_tokens=200,
                                    **reply_format(resolved, "scores", SCORES_SCHEMA))
        assert all(parse_scores(r.text) is not None for r in replies), [r.text for r in replies]
        verdict = teacher.chat(asks[0], temperature=0.8, max_tokens=5,
                               **reply_format(resolved, "verdict", {"type": "string", "enum": ["A", "B"]}))
        assert verdict.text.strip() in ('"A"', '"B"')
        teacher.close()
        import openai

        bad = {"type": "json_schema", "json_schema": {"name": "x", "schema": {"type": "no-such-type"}}}
        with pytest.raises(openai.BadRequestError) as err:  # a schema llama.cpp cannot hold replies to
            openai.OpenAI(base_url=resolved.base_url, api_key="local").chat.completions.create(
                model=resolved.model, messages=asks[0], max_tokens=5, response_format=bad)
        assert err.value.body["code"] == "invalid_response_format"
    copies = list((tmp_path / "cache" / "teacher").glob("*.q8_0.gguf"))
    assert len(copies) == 1
    made = copies[0].stat().st_mtime_ns
    from doppel.local_endpoint import as_q8_0

    assert as_q8_0(tiny_gguf) == copies[0] and copies[0].stat().st_mtime_ns == made  # made once
    assert as_q8_0(copies[0]) == copies[0]  # a q8_0 file is served as it is, not copied again
    assert len(list((tmp_path / "cache" / "teacher").glob("*.gguf"))) == 1
    assert reply_format(TeacherConfig(), "scores", SCORES_SCHEMA) == {}  # an endpoint is not asked unless set


def test_a_file_llama_cpp_cannot_load_is_a_clear_error_and_leaves_no_server(tmp_path):
    from doppel.local_endpoint import local_endpoint

    broken = tmp_path / "broken.gguf"
    broken.write_bytes(b"not a gguf file at all" * 100)
    with pytest.raises(UserError, match="stopped at start-up"):
        with local_endpoint(str(broken), parallel=1, context=512):
            pass
    assert not _servers(broken)
    with pytest.raises(UserError, match="does not exist"):
        with local_endpoint(str(tmp_path / "missing.gguf")):
            pass
    with pytest.raises(UserError, match="give a .gguf file or a bundled model name"):
        with local_endpoint(str(tmp_path / "model.bin")):
            pass


def _answers(cache: Path) -> int:
    if not cache.exists():
        return 0
    with sqlite3.connect(cache) as db:
        try:
            return db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]
        except sqlite3.OperationalError:  # the table is being made
            return 0


def test_a_killed_synth_stage_leaves_no_server_and_its_rerun_sends_no_answered_request(tmp_path, demo_sources,
                                                                                        tiny_gguf):
    from doppel import pipeline
    from doppel.config import load_config

    config = write_tiny_config(tmp_path, demo_sources, name="local")
    overrides = [f"teacher.local={tiny_gguf}", "teacher.local_parallel=2", "teacher.local_context=1024",
                 "synth.questions_per_category=2", "synth.max_passages=6", "synth.max_tokens=24",
                 'synth.answers=["backtranslate","grounded"]']
    cfg = load_config(config, overrides)
    pipeline.run_pipeline(cfg, pipeline.prepare(cfg), ["ingest", "build"])
    run = Path(cfg.run_dir)
    cache = run / "synth" / "cache.sqlite"
    args = [sys.executable, "-m", "doppel", "run", str(config), "--only", "synth", "--force",
            *[a for o in overrides for a in ("--set", o)]]

    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=os.environ.copy())
    deadline = time.monotonic() + 300
    while _answers(cache) < 3 and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.1)
    assert proc.poll() is None, "the stage ended before it could be killed mid-way"
    assert _servers(tiny_gguf)  # its server is up
    proc.send_signal(signal.SIGKILL)  # no clean-up code of the stage runs
    proc.wait()
    assert _gone(tiny_gguf), "the local server outlived the killed stage"
    answered = _answers(cache)
    assert answered >= 3

    done = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-2000:]
    assert not _servers(tiny_gguf)
    teacher = json.loads((run / "synth" / "report.json").read_text())["teacher"]
    assert teacher["answered_from_cache"] >= answered  # every answer of the killed run was read back, not asked again
    assert teacher["requests_sent"] >= _answers(cache) - answered > 0  # the rest was asked, once each
    assert teacher["cost_usd"] == 0

    again = subprocess.run(args, capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-2000:]
    teacher = json.loads((run / "synth" / "report.json").read_text())["teacher"]
    assert teacher["requests_sent"] == 0 and teacher["answered_from_cache"] > 0
    assert not _servers(tiny_gguf)
