"""A GGUF on disk as a local OpenAI-compatible endpoint, for as long as a stage needs it.

`local_endpoint(model, parallel)` starts Doppel's own server (`python -m doppel.serve.local`)
in a child process on a free loopback port, with `parallel` llama.cpp engines of the file (so
that concurrent requests run side by side), waits until /health answers, yields the base URL,
and stops the server when the block ends: normally, on an error, or on Ctrl-C. The child asks
the kernel to end it when its parent dies, so even a killed stage leaves no server behind.

The listening socket is made by the parent and handed to the child, so there is no window in
which another process could take the port. Requests carry their own system prompts: the server
adds none (the file's chat template applies as it is).

This is the parent's side, used by the teacher (synth, judge) and by `doppel serve`'s socket;
the child's side, the server itself, is doppel.serve.local.
"""

from __future__ import annotations

import contextlib
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Iterator

from doppel.errors import UserError

HOST = "127.0.0.1"
STARTUP_SECONDS = 120.0


def gguf_path(model: str) -> Path:
    """A `.gguf` file, or the file of a bundled model name (its sha256 checked)."""
    from doppel.modeling.bases import BUNDLED, bundled_file

    if model in BUNDLED:
        return bundled_file(model)
    path = Path(model).expanduser()
    if path.suffix.lower() != ".gguf":
        raise UserError(f"teacher.local is '{model}': give a .gguf file or a bundled model name "
                        f"({', '.join(BUNDLED)})")
    if not path.is_file():
        raise UserError(f"teacher.local names {path}, which does not exist; give the path of a .gguf file")
    return path


def model_id(path: Path) -> str:
    """The name requests use: the file's name and the start of its sha256, so that a cache of
    answers keyed by model never mixes two files of one name."""
    from doppel.modeling.bases import sha256_file

    return f"local/{path.stem}@{sha256_file(path)[:12]}"


_REQUANTIZE = r"""
import ctypes, sys
import llama_cpp
params = llama_cpp.llama_model_quantize_default_params()
params.ftype, params.allow_requantize, params.nthread = llama_cpp.LLAMA_FTYPE_MOSTLY_Q8_0, True, 0
sys.exit(llama_cpp.llama_model_quantize(sys.argv[1].encode(), sys.argv[2].encode(), ctypes.byref(params)))
"""


def as_q8_0(path: Path) -> Path:
    """A q8_0 copy of the GGUF, made once in Doppel's cache (keyed by the file's sha256).

    On a CPU llama.cpp reads prompts about 1.5x faster from q8_0 than from Q4_1 (305 against
    195 tokens/s on the bundled SmolLM2, BENCHMARKS.md), and reading prompts is most of a
    teacher's work; q8_0 keeps a 4-bit file's weights all but exactly.
    """
    from doppel.modeling.bases import cache_root, sha256_file

    if _file_type(path) == "q8_0":
        return path  # already what a copy would be
    out = cache_root() / "teacher" / f"{path.stem}-{sha256_file(path)[:16]}.q8_0.gguf"
    if out.is_file():
        return out
    out.parent.mkdir(parents=True, exist_ok=True)
    partial = out.with_name(out.name + f".{os.getpid()}.partial")
    # In a child process: llama.cpp prints a line per tensor as it converts.
    done = subprocess.run([sys.executable, "-c", _REQUANTIZE, str(path), str(partial)], capture_output=True,
                          text=True)
    if done.returncode != 0 or not partial.is_file():
        partial.unlink(missing_ok=True)
        raise UserError(f"could not make a q8_0 copy of {path} for the local teacher (exit {done.returncode}): "
                        f"{(done.stdout + done.stderr)[-800:]}; set teacher.local_quant: file to serve it as it is")
    os.replace(partial, out)
    return out


def _file_type(path: Path) -> str | None:
    """The GGUF's weight type as llama.cpp names it ("q8_0", "q4_1", "f16"…), from its metadata."""
    import gguf

    try:
        field = gguf.GGUFReader(str(path)).fields.get("general.file_type")
        return gguf.LlamaFileType(int(field.parts[field.data[0]][0])).name.removeprefix("MOSTLY_").lower()
    except (KeyError, ValueError, AttributeError, IndexError, TypeError, OSError):
        return None


@contextlib.contextmanager
def local_endpoint(model: str, parallel: int = 2, context: int = 4096, quant: str = "file",
                   startup_seconds: float = STARTUP_SECONDS) -> Iterator[tuple[str, str]]:
    """(base URL, model id) of a server for the GGUF `model` while the block runs; with quant
    "q8_0", of its q8_0 copy (as_q8_0)."""
    from doppel.modeling.llamacpp import require_llama_cpp

    require_llama_cpp()
    path = gguf_path(model)
    if quant == "q8_0":
        path = as_q8_0(path)
    name = model_id(path)
    sock = listening_socket(HOST, 0)
    port = sock.getsockname()[1]
    log = tempfile.TemporaryFile()
    cmd = [sys.executable, "-m", "doppel.serve.local", "--gguf", str(path), "--fd", str(sock.fileno()),
           "--parallel", str(parallel), "--context", str(context), "--model-id", name,
           "--parent", str(os.getpid())]
    try:
        proc = subprocess.Popen(cmd, pass_fds=[sock.fileno()], stdin=subprocess.DEVNULL, stdout=log,
                                stderr=subprocess.STDOUT)
    finally:
        sock.close()  # the child holds its own copy
    try:
        _wait_healthy(proc, port, log, startup_seconds, path)
        yield f"http://{HOST}:{port}/v1", name
    finally:
        stop(proc)
        log.close()


def _wait_healthy(proc: subprocess.Popen, port: int, log, seconds: float, path: Path) -> None:
    import urllib.error
    import urllib.request

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise UserError(f"the local llama.cpp server for {path} stopped at start-up (exit {proc.returncode}): "
                            f"{_tail(log)}")
        try:
            with urllib.request.urlopen(f"http://{HOST}:{port}/health", timeout=2) as reply:
                if reply.status == 200:
                    return
        except (urllib.error.URLError, ConnectionError, TimeoutError):
            pass
        time.sleep(0.2)
    stop(proc)
    raise UserError(f"the local llama.cpp server for {path} did not answer within {seconds:.0f} s: {_tail(log)}")


def _tail(log, chars: int = 1500) -> str:
    log.seek(0)
    text = log.read().decode("utf-8", errors="replace").strip()
    return text[-chars:] or "(it printed nothing)"


def stop(proc: subprocess.Popen, grace: float = 10.0) -> None:
    """SIGTERM, then SIGKILL after `grace` seconds; waits until the process is gone."""
    if proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(grace)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()


def listening_socket(host: str, port: int):
    """A bound socket whose connections send small writes at once (TCP_NODELAY is inherited by them).

    Without it, a client's header-then-body writes meet delayed ACKs and every request waits ~40 ms.
    """
    import socket

    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    try:
        sock.bind((host, port))
    except OSError as err:
        sock.close()
        raise UserError(f"cannot listen on {host}:{port}: {err.strerror}; choose another --port") from None
    sock.listen(128)
    return sock
