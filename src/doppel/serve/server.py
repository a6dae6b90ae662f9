"""The OpenAI-compatible HTTP server: /v1/chat/completions, /v1/completions, /v1/models, /health, /.

Each engine generates one reply at a time (a pool of engines, several); requests wait their turn
in a bounded queue, and
when it is full (or a request waited too long) they are answered 429 with Retry-After
instead of piling up. A client that goes away cancels its generation.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import threading
import time
import uuid
from dataclasses import dataclass
from typing import AsyncIterator

from doppel.config import GenerationSettings, ServeConfig
from doppel.errors import UserError
from doppel.serve.api import APIError, ChatRequest, Sampling
from doppel.serve.engines import Engine, Finish
from doppel.serve.stops import StopFilter

DEFAULT_MAX_TOKENS = 256


class Slots:
    """`running` generations at once (one per engine of the pool), at most `max_queue` waiting;
    the rest are turned away."""

    def __init__(self, max_queue: int, timeout: float, running: int = 1):
        self.max_queue, self.timeout, self.running = max_queue, timeout, running
        self.waiting = 0
        self.active = 0
        self._sem: asyncio.Semaphore | None = None

    @property
    def busy(self) -> bool:
        return self.active > 0

    async def acquire(self) -> None:
        if self._sem is None:
            self._sem = asyncio.Semaphore(self.running)
        if self._sem.locked() and self.waiting >= self.max_queue:
            raise APIError(429, "the server is busy: too many requests are waiting; retry shortly",
                           "overloaded", kind="rate_limit_error", headers={"Retry-After": "1"})
        self.waiting += 1
        try:
            await asyncio.wait_for(self._sem.acquire(), self.timeout)
        except asyncio.TimeoutError:
            raise APIError(429, f"waited {self.timeout:.0f} s for a free slot; retry shortly", "queue_timeout",
                           kind="rate_limit_error", headers={"Retry-After": "1"}) from None
        finally:
            self.waiting -= 1
        self.active += 1

    def release(self) -> None:
        self.active -= 1
        self._sem.release()


@dataclass
class ServerState:
    engine: Engine
    model_id: str
    cfg: ServeConfig
    defaults: GenerationSettings
    system_prompt: str | None  # put first where a conversation has no system message (None: nothing is added)
    api_key: str | None = None
    grounder: object | None = None  # doppel.serve.grounding.Grounder


def settings_for(req: Sampling, limit: int, defaults: GenerationSettings, max_tokens: int | None) -> GenerationSettings:
    wanted = max_tokens or min(DEFAULT_MAX_TOKENS, limit)
    if wanted > limit:
        raise APIError(400, f"max_tokens {wanted} is more than this server allows ({limit})", "max_tokens_too_large",
                       param="max_tokens")
    update: dict = {"max_new_tokens": wanted}
    if req.temperature is not None:
        update.update(do_sample=req.temperature > 0, temperature=max(req.temperature, 1e-3))
    if req.top_p is not None:
        update["top_p"] = req.top_p
    return defaults.model_copy(update=update)


def check_length(engine: Engine, prompt_ids: list[int], settings: GenerationSettings) -> None:
    need = len(prompt_ids) + settings.max_new_tokens
    if need > engine.context_length:
        raise APIError(400, f"the prompt has {len(prompt_ids)} tokens and max_tokens is {settings.max_new_tokens}: "
                       f"{need} tokens, more than the model's context of {engine.context_length}; shorten "
                       f"the conversation or ask for fewer tokens", "context_length_exceeded", param="messages")


def reply_schema(state: ServerState, req) -> dict | None:
    """The JSON schema of a request's response_format, when the engine can hold replies to one."""
    fmt = getattr(req, "response_format", None)
    if fmt is None:
        return None
    try:
        schema = fmt.reply_schema()
    except ValueError as err:
        raise APIError(400, str(err), "invalid_response_format", param="response_format") from None
    if schema is not None and not getattr(state.engine, "structured", False):
        raise APIError(400, f"response_format {fmt.type} needs the gguf backend (llama.cpp grammars); this server "
                       f"runs {state.engine.backend}: start it with --backend gguf", "unsupported_response_format",
                       param="response_format")
    if schema is not None:
        try:
            state.engine.check_schema(schema)
        except UserError as err:
            raise APIError(400, str(err), "invalid_response_format", param="response_format") from None
    return schema


async def start_generation(state: ServerState, slots: Slots, prompt_ids: list[int], settings: GenerationSettings,
                           seed: int | None, stops: list[str], schema: dict | None = None
                           ) -> AsyncIterator[str | Finish]:
    """Take a slot (or raise 429) and start the engine in a worker thread; returns the pieces, then a Finish.

    The slot is taken here, before any response is sent, so an overloaded server can still
    answer 429; it is given back when the worker thread ends.
    """
    await slots.acquire()
    loop = asyncio.get_running_loop()
    queue: asyncio.Queue = asyncio.Queue()
    cancel = threading.Event()

    def post(fn, *args) -> None:
        try:
            loop.call_soon_threadsafe(fn, *args)
        except RuntimeError:  # the server shut down while this reply was still being generated
            cancel.set()

    def work() -> None:
        try:
            extra = {"schema": schema} if schema is not None else {}
            for item in state.engine.stream(prompt_ids, settings, seed, cancel, **extra):
                post(queue.put_nowait, item)
        except BaseException as err:  # handed to the request in _drain
            post(queue.put_nowait, err)
        finally:
            post(queue.put_nowait, _END)
            post(slots.release)

    try:
        threading.Thread(target=work, daemon=True, name="doppel-generate").start()
    except BaseException:
        slots.release()
        raise
    return _drain(queue, cancel, StopFilter(stops))


_END = object()


async def _drain(queue: asyncio.Queue, cancel: threading.Event, stop_filter: StopFilter) -> AsyncIterator[str | Finish]:
    try:
        while True:
            item = await queue.get()
            if item is _END:
                break
            if isinstance(item, BaseException):
                raise item
            if isinstance(item, Finish):
                tail = stop_filter.flush()
                if tail:
                    yield tail
                yield Finish("stop" if stop_filter.hit else item.reason, item.prompt_tokens, item.completion_tokens)
                continue
            text = stop_filter.feed(item)
            if text:
                yield text
            if stop_filter.hit:
                cancel.set()
    finally:
        cancel.set()  # the client left, a stop string matched, or we are done: free the engine


def check_auth(state: ServerState, authorization: str | None) -> None:
    if not state.api_key:
        return
    scheme, _, token = (authorization or "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(token.strip().encode(), state.api_key.encode()):
        raise APIError(401, "a valid API key is required: send 'Authorization: Bearer <key>'", "invalid_api_key",
                       kind="authentication_error")


def check_model(state: ServerState, model: str) -> None:
    if model != state.model_id:
        raise APIError(404, f"model '{model}' does not exist; this server has '{state.model_id}' (see /v1/models)",
                       "model_not_found", param="model")


def chat_messages(state: ServerState, req: ChatRequest) -> list[dict]:
    messages = [{"role": m.role, "content": m.text()} for m in req.messages]
    if messages[0]["role"] != "system" and state.system_prompt is not None:
        messages.insert(0, {"role": "system", "content": state.system_prompt})
    grounded = state.cfg.grounded if req.grounded is None else req.grounded
    if grounded and state.grounder is not None and messages[0]["role"] == "system":
        question = next((m["content"] for m in reversed(messages) if m["role"] == "user"), "")
        messages[0] = {"role": "system", "content": state.grounder.system_prompt(messages[0]["content"], question)}
    return messages


def sse(obj: dict | str) -> str:
    return f"data: {obj if isinstance(obj, str) else json.dumps(obj, ensure_ascii=False)}\n\n"


def new_id(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:24]}"


def usage(fin: Finish) -> dict:
    return {"prompt_tokens": fin.prompt_tokens, "completion_tokens": fin.completion_tokens,
            "total_tokens": fin.prompt_tokens + fin.completion_tokens}


def now() -> int:
    return int(time.time())
