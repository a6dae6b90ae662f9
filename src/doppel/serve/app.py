"""The FastAPI application: routes, OpenAI-shaped errors, streaming (SSE) and the web page.

Imported only by `doppel serve` and the tests, so FastAPI loads only when a server starts.
"""

from __future__ import annotations

from html import escape
from importlib import resources

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import HTMLResponse, JSONResponse, StreamingResponse
from starlette.exceptions import HTTPException

from doppel.serve.api import APIError, ChatRequest, CompletionRequest, parse_body
from doppel.serve.engines import Finish
from doppel.serve.server import (ServerState, Slots, chat_messages, check_auth, check_length, check_model,
                                 new_id, now, reply_schema, settings_for, sse, start_generation, usage)


def create_app(state: ServerState) -> FastAPI:
    app = FastAPI(title="Doppel", docs_url=None, redoc_url=None, openapi_url=None)
    slots = Slots(state.cfg.max_queue, state.cfg.queue_timeout, getattr(state.engine, "parallel", 1))
    app.state.doppel, app.state.slots = state, slots

    @app.exception_handler(APIError)
    async def _api_error(request: Request, err: APIError):
        return JSONResponse(err.body(), status_code=err.status, headers=err.headers)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, err: HTTPException):
        code = {404: "not_found", 405: "method_not_allowed"}.get(err.status_code, "http_error")
        return JSONResponse(APIError(err.status_code, str(err.detail), code).body(), status_code=err.status_code)

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, err: RequestValidationError):
        return JSONResponse(APIError(400, str(err.errors()[:1]), "invalid_value").body(), status_code=400)

    @app.get("/health")
    async def health():
        return {"status": "ok", "model": state.model_id, "backend": state.engine.backend,
                "busy": slots.busy, "running": slots.active, "slots": slots.running, "waiting": slots.waiting}

    @app.get("/v1/models")
    async def models(request: Request):
        check_auth(state, request.headers.get("authorization"))
        return {"object": "list", "data": [_model_card(state)]}

    @app.get("/v1/models/{model_id}")
    async def model(model_id: str, request: Request):
        check_auth(state, request.headers.get("authorization"))
        check_model(state, model_id)
        return _model_card(state)

    @app.post("/v1/chat/completions")
    async def chat(request: Request):
        check_auth(state, request.headers.get("authorization"))
        req = parse_body(await request.body(), ChatRequest)
        check_model(state, req.model)
        settings = settings_for(req, state.cfg.max_tokens, state.defaults, req.max_completion_tokens or req.max_tokens)
        ids = state.engine.chat_ids(chat_messages(state, req))
        check_length(state.engine, ids, settings)
        schema = reply_schema(state, req)
        pieces = await start_generation(state, slots, ids, settings, req.seed, req.stops(), schema)
        if req.stream:
            include = bool(req.stream_options and req.stream_options.include_usage)
            return StreamingResponse(_chat_events(state, pieces, include), media_type="text/event-stream",
                                     headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"})
        text, fin = await _collect(pieces)
        return {"id": new_id("chatcmpl"), "object": "chat.completion", "created": now(), "model": state.model_id,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": text},
                             "finish_reason": fin.reason}], "usage": usage(fin)}

    @app.post("/v1/completions")
    async def completions(request: Request):
        check_auth(state, request.headers.get("authorization"))
        req = parse_body(await request.body(), CompletionRequest)
        check_model(state, req.model)
        settings = settings_for(req, state.cfg.max_tokens, state.defaults, req.max_tokens)
        ids = state.engine.text_ids(req.prompt)
        check_length(state.engine, ids, settings)
        pieces = await start_generation(state, slots, ids, settings, req.seed, req.stops())
        if req.stream:
            return StreamingResponse(_completion_events(state, pieces), media_type="text/event-stream")
        text, fin = await _collect(pieces)
        return {"id": new_id("cmpl"), "object": "text_completion", "created": now(), "model": state.model_id,
                "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": fin.reason}],
                "usage": usage(fin)}

    @app.get("/", response_class=HTMLResponse)
    async def page():
        html = resources.files("doppel.serve").joinpath("static/index.html").read_text(encoding="utf-8")
        return html.replace("__MODEL__", escape(state.model_id)).replace("__AB_LINK__", escape(state.cfg.ab_url))

    return app


def _model_card(state: ServerState) -> dict:
    return {"id": state.model_id, "object": "model", "created": now(), "owned_by": "doppel",
            "backend": state.engine.backend, "context_length": state.engine.context_length}


async def _collect(pieces) -> tuple[str, Finish]:
    parts, fin = [], None
    async for item in pieces:
        if isinstance(item, Finish):
            fin = item
        else:
            parts.append(item)
    return "".join(parts), fin


async def _chat_events(state: ServerState, pieces, include_usage: bool):
    cid, created = new_id("chatcmpl"), now()

    def chunk(delta: dict, finish: str | None) -> dict:
        return {"id": cid, "object": "chat.completion.chunk", "created": created, "model": state.model_id,
                "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}

    yield sse(chunk({"role": "assistant", "content": ""}, None))
    async for item in pieces:
        if isinstance(item, Finish):
            yield sse(chunk({}, item.reason))
            if include_usage:
                yield sse({"id": cid, "object": "chat.completion.chunk", "created": created,
                           "model": state.model_id, "choices": [], "usage": usage(item)})
        else:
            yield sse(chunk({"content": item}, None))
    yield sse("[DONE]")


async def _completion_events(state: ServerState, pieces):
    cid, created = new_id("cmpl"), now()
    async for item in pieces:
        finish = item.reason if isinstance(item, Finish) else None
        text = "" if isinstance(item, Finish) else item
        yield sse({"id": cid, "object": "text_completion", "created": created, "model": state.model_id,
                   "choices": [{"index": 0, "text": text, "logprobs": None, "finish_reason": finish}]})
    yield sse("[DONE]")
