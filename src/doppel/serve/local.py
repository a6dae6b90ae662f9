"""The local teacher's server: Doppel's OpenAI-compatible server for one GGUF file, run as a
child process by doppel.local_endpoint on a listening socket the parent made."""

from __future__ import annotations

import argparse
import os
import signal
import sys
from pathlib import Path

def _die_with(parent: int) -> None:
    """Ask Linux to send SIGTERM when the parent dies; exit now if it already has."""
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass  # not Linux: the parent's own clean-up is what stops the server
    if os.getppid() != parent:
        sys.exit(0)


def serve(gguf: Path, fd: int, parallel: int, context: int, name: str) -> None:
    import socket

    import uvicorn

    from doppel.config import GenerationSettings, ServeConfig
    from doppel.serve.app import create_app
    from doppel.serve.engines import EnginePool, GGUFEngine
    from doppel.serve.server import ServerState

    threads = max(1, (os.cpu_count() or 1) // parallel)
    pool = EnginePool([GGUFEngine(gguf, n_ctx=context, threads=threads) for _ in range(parallel)])
    cfg = ServeConfig(max_tokens=context, max_queue=1024, queue_timeout=3600.0)
    state = ServerState(engine=pool, model_id=name, cfg=cfg, defaults=GenerationSettings(), system_prompt=None)
    server = uvicorn.Server(uvicorn.Config(create_app(state), log_level="warning", access_log=False))
    server.run(sockets=[socket.socket(fileno=fd)])


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="Doppel's OpenAI-compatible server for one GGUF file "
                                                 "(started by local_endpoint).")
    parser.add_argument("--gguf", type=Path, required=True)
    parser.add_argument("--fd", type=int, required=True, help="an inherited listening socket")
    parser.add_argument("--parallel", type=int, default=2)
    parser.add_argument("--context", type=int, default=4096)
    parser.add_argument("--model-id", required=True)
    parser.add_argument("--parent", type=int, required=True)
    args = parser.parse_args(argv)
    _die_with(args.parent)
    serve(args.gguf, args.fd, args.parallel, args.context, args.model_id)


if __name__ == "__main__":
    main()
