"""A real OpenAI-compatible chat-completions HTTP server on 127.0.0.1, for tests and benches.

It answers from a script (a function of the request body), can add latency, can inject
faults (429, 500, timeouts, malformed JSON) in a fraction of requests, counts every request
and every delivered answer by request content, and can be told to stop answering after a
number of answers (requests after that hang until released, then get no answer), so a test
can kill a client mid-run at a known point.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Callable

Script = Callable[[dict], str]


def body_key(body: dict) -> str:
    """The request's content (model, messages, parameters) as a hash."""
    return hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()


def echo_script(body: dict) -> str:
    last = body["messages"][-1]["content"]
    return f"echo: {last}"


class _Server(ThreadingHTTPServer):
    # The default listen backlog of 5 overflows when 16 clients connect at once; the kernel
    # then drops handshakes and the client sees a reset or a 1 s SYN retry.
    request_queue_size = 128


class FakeOpenAI:
    def __init__(self, script: Script = echo_script, latency: float = 0.0, fault_rate: float = 0.0,
                 hang_seconds: float = 3.0, seed: int = 0, answer_limit: int | None = None):
        self.script = script
        self.latency = latency
        self.fault_rate = fault_rate
        self.hang_seconds = hang_seconds
        self.answer_limit = answer_limit
        self.received: Counter = Counter()  # request key -> requests seen
        self.answered: Counter = Counter()  # request key -> valid answers delivered
        self.faults: Counter = Counter()
        self.bodies: list[dict] = []
        self.released = threading.Event()
        self._lock = threading.Lock()
        self._rng = random.Random(seed)
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}/v1"

    def __enter__(self) -> "FakeOpenAI":
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.released.set()
        self._server.shutdown()
        self._server.server_close()

    def total_answered(self) -> int:
        with self._lock:
            return sum(self.answered.values())

    def _decide(self, key: str, body: dict) -> str:
        """What to do with one request: answer, a fault kind, or hold (over the answer limit)."""
        with self._lock:
            self.received[key] += 1
            self.bodies.append(body)
            if self._rng.random() < self.fault_rate:
                kind = self._rng.choice(["429", "500", "timeout", "malformed"])
                self.faults[kind] += 1
                return kind
            if self.answer_limit is not None and sum(self.answered.values()) >= self.answer_limit:
                return "hold"
            self.answered[key] += 1  # reserved now so concurrent requests respect the limit
            return "answer"

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Without TCP_NODELAY a second small write waits for the client's delayed ACK:
            # ~40 ms a request on Linux loopback. Real servers set it too.
            disable_nagle_algorithm = True
            # Buffered: headers and body leave in one write when the handler flushes after
            # each request, so the client wakes once per response, not twice.
            wbufsize = 1 << 16

            def log_message(self, *args) -> None:
                pass

            def _send(self, status: int, payload: bytes) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", 0))
                body = json.loads(self.rfile.read(length))
                if self.path != "/v1/chat/completions":
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                key = body_key(body)
                action = server._decide(key, body)
                if server.latency:
                    time.sleep(server.latency)
                if action == "429":
                    self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}')
                elif action == "500":
                    self._send(500, b'{"error": {"message": "server error"}}')
                elif action == "malformed":
                    self._send(200, b'{"id": "x", "choices": [{"message": {"content": "trunc')
                elif action in ("timeout", "hold"):
                    if action == "hold":
                        server.released.wait()
                    else:
                        time.sleep(server.hang_seconds)
                    self.close_connection = True
                else:
                    text = server.script(body)
                    prompt_tokens = sum(len(m["content"].split()) for m in body["messages"])
                    reply = {"id": f"chatcmpl-{key[:12]}", "object": "chat.completion",
                             "created": int(time.time()), "model": body.get("model", "fake"),
                             "choices": [{"index": 0, "finish_reason": "stop",
                                          "message": {"role": "assistant", "content": text}}],
                             "usage": {"prompt_tokens": prompt_tokens,
                                       "completion_tokens": len(text.split()),
                                       "total_tokens": prompt_tokens + len(text.split())}}
                    self._send(200, json.dumps(reply).encode())

        return Handler


def main() -> None:
    """Serve from a separate process (used by bench/synth.py): prints the base URL, runs until killed."""
    import argparse

    ap = argparse.ArgumentParser()
    ap.add_argument("--latency", type=float, default=0.0)
    ap.add_argument("--fault-rate", type=float, default=0.0)
    args = ap.parse_args()
    with FakeOpenAI(latency=args.latency, fault_rate=args.fault_rate) as srv:
        print(srv.base_url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
