"""Starting a real uvicorn server on 127.0.0.1 in a thread, for the server and web page tests."""

from __future__ import annotations

import contextlib
import threading
import time

from doppel.config import GenerationSettings, ServeConfig

SYSTEM = "You are Mara Quell."


def state_for(engine, api_key=None, grounder=None, **serve):
    from doppel.serve.server import ServerState

    return ServerState(engine=engine, model_id="mara", cfg=ServeConfig(**serve),
                       defaults=GenerationSettings(max_new_tokens=16), system_prompt=SYSTEM,
                       api_key=api_key, grounder=grounder)


@contextlib.contextmanager
def running(state):
    """Serve the app for `state` on a free port; yields the base URL."""
    import uvicorn

    from doppel.local_endpoint import listening_socket
    from doppel.serve.app import create_app

    sock = listening_socket("127.0.0.1", 0)
    port = sock.getsockname()[1]
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.time() + 30
    while not server.started:
        if time.time() > deadline or not thread.is_alive():
            raise RuntimeError("the test server did not start")
        time.sleep(0.02)
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(15)
        sock.close()


def client(url: str, key: str = "unused"):
    from openai import OpenAI

    return OpenAI(base_url=url + "/v1", api_key=key, max_retries=0, timeout=60)
