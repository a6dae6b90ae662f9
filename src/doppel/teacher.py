"""Client for any OpenAI-compatible chat endpoint (teacher and judge).

`Teacher.chat_many` sends a batch of chat requests with bounded concurrency through the
official `openai` async client, retries with backoff on 429, 5xx, timeouts and malformed
responses, and records every answer in a SQLite cache keyed by the request's content
*before* returning it: a crash or Ctrl-C loses nothing that was paid for, and a re-run
sends only the requests that have no answer yet. Token usage and cost are summed.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import os
import random
import re
import sqlite3
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Iterator

from pydantic import SecretStr

from doppel.config import REDACTED, TeacherConfig
from doppel.errors import UserError

# Answers that decline instead of answering; they are rejected with the reason "refused".
REFUSAL = re.compile(
    r"^\s*(i'?m sorry,? but|i am sorry,? but|sorry,? (but )?i can(no|')t|i can(no|')t (help|assist|comply)|"
    r"i'?m (not able|unable) to (help|assist|comply)|as an ai( language model)?,? i)", re.IGNORECASE)

Validator = Callable[[str], "str | None"]


@dataclass
class TeacherReply:
    text: str | None
    usage: dict = field(default_factory=dict)
    cost: float = 0.0
    cached: bool = False
    error: str | None = None  # the reason there is no usable text


def resolve_teacher(cfg: TeacherConfig) -> TeacherConfig | None:
    """The config with endpoint and key filled from the environment; None without an endpoint."""
    base_url = cfg.base_url or os.environ.get("OPENAI_BASE_URL") or None
    if not base_url:
        return None
    key = cfg.api_key.get_secret_value() if isinstance(cfg.api_key, SecretStr) else (cfg.api_key or "")
    if not key or key == REDACTED:
        # Local servers (vLLM, llama.cpp, Ollama) ignore the key but the client needs one.
        key = os.environ.get("OPENAI_API_KEY") or "not-needed"
    return cfg.model_copy(update={"base_url": base_url, "api_key": SecretStr(key)})


@contextlib.contextmanager
def teacher_endpoint(cfg: TeacherConfig) -> Iterator[TeacherConfig | None]:
    """resolve_teacher for the duration of a block; with `teacher.local` (a GGUF file or a bundled
    model name), a llama.cpp server for it is started on a loopback port first and stopped when
    the block ends, also on an error or Ctrl-C (doppel.local_endpoint). Its answers cost nothing."""
    if not cfg.local:
        yield resolve_teacher(cfg)
        return
    from doppel.local_endpoint import local_endpoint

    with local_endpoint(cfg.local, cfg.local_parallel, cfg.local_context, cfg.local_quant) as (url, name):
        yield cfg.model_copy(update={"base_url": url, "model": name, "api_key": SecretStr("local"),
                                     "prices": {}, "structured_output": True})


def reply_format(cfg: TeacherConfig | None, name: str, schema: dict) -> dict:
    """The response_format parameter holding replies to `schema`, when the endpoint is asked for
    structured output ({} otherwise: the prompt alone asks for the format)."""
    if cfg is None or not cfg.structured_output:
        return {}
    return {"response_format": {"type": "json_schema", "json_schema": {"name": name, "schema": schema}}}


def request_key(model: str, messages: list[dict], params: dict, attempt: int = 0) -> str:
    """A hash of everything that decides the answer: model, messages, sampling parameters."""
    blob = json.dumps({"model": model, "messages": messages, "params": params, "attempt": attempt},
                      sort_keys=True, ensure_ascii=False)
    return hashlib.sha256(blob.encode()).hexdigest()


def looks_refused(text: str) -> bool:
    return bool(REFUSAL.match(text))


class Cache:
    """Answers on disk, one row per request key; every insert is committed at once."""

    def __init__(self, path: Path | None):
        self.path = Path(path) if path else None
        if self.path:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(self.path) if self.path else ":memory:", check_same_thread=False)
        self._lock = threading.Lock()
        with self._lock:
            self._db.execute("PRAGMA journal_mode=WAL")
            # WAL with NORMAL sync survives a killed process (not a power cut) without an fsync per answer.
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("CREATE TABLE IF NOT EXISTS replies (key TEXT PRIMARY KEY, request TEXT, "
                             "text TEXT, usage TEXT, cost REAL, created REAL)")
            self._db.commit()

    def get(self, key: str) -> tuple[str, dict, float] | None:
        with self._lock:
            row = self._db.execute("SELECT text, usage, cost FROM replies WHERE key=?", (key,)).fetchone()
        return (row[0], json.loads(row[1]), row[2]) if row else None

    def put(self, key: str, request: dict, text: str, usage: dict, cost: float) -> None:
        with self._lock:
            self._db.execute("INSERT OR REPLACE INTO replies VALUES (?,?,?,?,?,?)",
                             (key, json.dumps(request, ensure_ascii=False), text, json.dumps(usage),
                              cost, time.time()))
            self._db.commit()

    def __len__(self) -> int:
        with self._lock:
            return self._db.execute("SELECT COUNT(*) FROM replies").fetchone()[0]

    def close(self) -> None:
        with self._lock:
            self._db.close()


class _Retryable(Exception):
    pass


_CREATE_ARGS: frozenset[str] | None = None


def _check_params(params: dict) -> None:
    """Fail at once, as `chat.completions.create` would, on a parameter it does not take."""
    global _CREATE_ARGS
    if _CREATE_ARGS is None:
        import inspect

        from openai.resources.chat.completions import AsyncCompletions

        sig = inspect.signature(AsyncCompletions.create)
        # Request options and the fields the teacher sets itself are not sampling parameters;
        # `extra_body` (fields a server such as vLLM adds) is merged into the body, as `create` does.
        _CREATE_ARGS = frozenset(sig.parameters) - {"self", "model", "messages", "stream", "extra_headers",
                                                    "extra_query", "timeout"}
    unknown = sorted(set(params) - _CREATE_ARGS)
    if unknown:
        raise TypeError(f"not a chat.completions.create parameter: {', '.join(unknown)}")


def _quiet_on_ctrl_c(loop, context: dict) -> None:
    """A Ctrl-C ends the batch: the CLI says so in one line, answers already given are cached.
    Without this, asyncio also logs the interrupted task's KeyboardInterrupt with a traceback."""
    if isinstance(context.get("exception"), KeyboardInterrupt):
        return
    loop.default_exception_handler(context)


class Teacher:
    """A chat model behind an OpenAI-compatible endpoint, with a persistent answer cache."""

    def __init__(self, cfg: TeacherConfig, cache_path: Path | None = None):
        resolved = resolve_teacher(cfg)
        if resolved is None:
            raise UserError("no teacher endpoint: set teacher.base_url in the config (e.g. "
                            "http://127.0.0.1:8000/v1) or the OPENAI_BASE_URL environment variable")
        self.cfg = resolved
        import openai  # noqa: F401  (loaded here, once, so that batches start at once)

        self.cache = Cache(cache_path)
        self.totals: Counter = Counter()  # requests_sent, cached, tokens, retries, errors
        self.cost = 0.0  # spent by this process
        self.errors: Counter = Counter()

    # -- public -------------------------------------------------------------------------
    def chat_many(self, requests: list[list[dict]], validate: Validator | None = None,
                  attempts: int = 2, progress: Callable[[int, int], None] | None = None,
                  **params: Any) -> list[TeacherReply]:
        """Answers to many chat requests, in order. `params` are `chat.completions.create`'s
        sampling arguments (temperature, max_tokens, …), sent in the request body.

        `validate(text)` returns a reason when an answer is unusable (e.g. not the JSON
        asked for); such answers are asked again up to `attempts` times in all, each
        attempt cached under its own key, and finally returned with that reason as error.
        """
        _check_params(params)
        coro = self._run_all(requests, validate, attempts, progress, params)
        try:
            asyncio.get_running_loop()
        except RuntimeError:
            return asyncio.run(coro)
        # Called from inside an event loop (a server, a notebook): run on a private one.
        out: list = []
        worker = threading.Thread(target=lambda: out.append(asyncio.run(coro)))
        worker.start()
        worker.join()
        return out[0]

    def chat(self, messages: list[dict], **params: Any) -> TeacherReply:
        return self.chat_many([messages], **params)[0]

    def price(self, usage: dict) -> float:
        p = self.cfg.prices.get(self.cfg.model)
        if p is None:
            return 0.0
        return (usage.get("prompt_tokens", 0) * p.input + usage.get("completion_tokens", 0) * p.output) / 1e6

    def summary(self) -> dict:
        return {"model": self.cfg.model, "requests_sent": self.totals["requests_sent"],
                "answered_from_cache": self.totals["cached"], "retries": self.totals["retries"],
                "prompt_tokens": self.totals["prompt_tokens"],
                "completion_tokens": self.totals["completion_tokens"],
                "cost_usd": round(self.cost, 6), "errors": dict(self.errors)}

    def close(self) -> None:
        self.cache.close()

    # -- internals ----------------------------------------------------------------------
    async def _run_all(self, requests, validate, attempts, progress, params) -> list[TeacherReply]:
        from openai import AsyncOpenAI

        client = AsyncOpenAI(base_url=self.cfg.base_url, api_key=self.cfg.api_key.get_secret_value(),
                             timeout=self.cfg.timeout, max_retries=0)
        asyncio.get_running_loop().set_exception_handler(_quiet_on_ctrl_c)
        gate = asyncio.Semaphore(self.cfg.concurrency)
        self._inflight: dict[str, asyncio.Future] = {}
        done = 0

        async def one(messages: list[dict]) -> TeacherReply:
            nonlocal done
            reply = await self._answer(client, gate, messages, validate, attempts, params)
            done += 1
            if progress:
                progress(done, len(requests))
            return reply

        try:
            return list(await asyncio.gather(*(one(m) for m in requests)))
        finally:
            await client.close()

    async def _answer(self, client, gate, messages, validate, attempts, params) -> TeacherReply:
        reply = TeacherReply(None, error="no_attempt")
        for attempt in range(max(1, attempts)):
            key = request_key(self.cfg.model, messages, params, attempt)
            reply = await self._cached_or_fetched(client, gate, key, messages, params)
            if reply.text is None:
                self.errors[reply.error or "failed"] += 1
                return reply  # transport failure after all retries: nothing was cached
            reason = "refused" if looks_refused(reply.text) else (validate(reply.text) if validate else None)
            if reason is None:
                return reply
            reply = TeacherReply(None, reply.usage, reply.cost, reply.cached, error=reason)
        self.errors[reply.error or "failed"] += 1
        return reply

    async def _cached_or_fetched(self, client, gate, key, messages, params) -> TeacherReply:
        """From the cache, from an identical request already in flight, or from the endpoint."""
        hit = self.cache.get(key)
        if hit is not None:
            self.totals["cached"] += 1
            return TeacherReply(hit[0], hit[1], hit[2], cached=True)
        pending = self._inflight.get(key)
        if pending is not None:  # the same request twice in one batch is paid for once
            first = await asyncio.shield(pending)
            self.totals["cached"] += 1
            return TeacherReply(first.text, first.usage, 0.0, cached=True, error=first.error)
        future = asyncio.get_running_loop().create_future()
        self._inflight[key] = future
        try:
            async with gate:
                reply = await self._fetch(client, messages, params)
            if reply.text is not None:
                # Stored before anyone uses it: a crash after this point loses nothing paid for.
                self.cache.put(key, {"model": self.cfg.model, "messages": messages, "params": params},
                               reply.text, reply.usage, reply.cost)
            future.set_result(reply)
            return reply
        except BaseException as err:
            if isinstance(err, Exception):
                future.set_exception(err)
                future.exception()  # marked retrieved: waiters re-raise it, nobody logs it twice
            else:
                future.cancel()
            raise
        finally:
            self._inflight.pop(key, None)

    async def _fetch(self, client, messages, params) -> TeacherReply:
        import openai

        last = "unknown"
        for retry in range(self.cfg.retries + 1):
            if retry:
                self.totals["retries"] += 1
                delay = min(30.0, self.cfg.backoff * 2 ** (retry - 1))
                await asyncio.sleep(delay * (0.5 + random.random()))
            self.totals["requests_sent"] += 1
            try:
                # The client's generic `post` (its documented way to send any body) rather
                # than `chat.completions.create`: the same auth, headers, timeouts, transport
                # and error classes, without `create`'s walk of every message against its
                # typed schema, about a quarter of the client's CPU per request (BENCHMARKS.md).
                # The body is the one `create` sends (a test compares them); `params` were
                # checked against `create`'s arguments in `chat_many`.
                body = await client.post("/chat/completions", cast_to=bytes, body=self._body(messages, params))
                return self._reply(json.loads(body))
            except openai.APITimeoutError:
                last = "timeout"
            except openai.RateLimitError:
                last = "rate_limited"
            except openai.APIStatusError as err:
                if err.status_code < 500 and err.status_code != 408:
                    return TeacherReply(None, error=f"http_{err.status_code}")
                last = f"http_{err.status_code}"
            except (openai.APIConnectionError, openai.APIResponseValidationError, _Retryable,
                    json.JSONDecodeError, ValueError, TypeError, AttributeError) as err:
                last = "malformed_response" if not isinstance(err, openai.APIConnectionError) else "connection"
        return TeacherReply(None, error=f"gave_up_after_{self.cfg.retries}_retries:{last}")

    def _body(self, messages: list[dict], params: dict) -> dict:
        body = {"model": self.cfg.model, "messages": messages}
        body.update((k, v) for k, v in params.items() if k != "extra_body")
        body.update(params.get("extra_body") or {})
        return body

    def _reply(self, resp: dict) -> TeacherReply:
        """Text, usage and cost from a chat.completion body; a body without text is malformed."""
        choices = resp.get("choices") if isinstance(resp, dict) else None
        msg = choices[0].get("message") if choices and isinstance(choices[0], dict) else None
        if not isinstance(msg, dict):
            raise _Retryable("no message")
        text = msg.get("content")
        if not isinstance(text, str):
            if msg.get("refusal"):
                text = "I'm sorry, but " + str(msg["refusal"])
            else:
                raise _Retryable("no content")
        u = resp.get("usage") or {}
        usage = {"prompt_tokens": int(u.get("prompt_tokens") or 0),
                 "completion_tokens": int(u.get("completion_tokens") or 0)}
        cost = self.price(usage)
        self.totals["prompt_tokens"] += usage["prompt_tokens"]
        self.totals["completion_tokens"] += usage["completion_tokens"]
        self.cost += cost
        return TeacherReply(text, usage, cost)
