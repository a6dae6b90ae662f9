"""Opening a run's model as an engine (transformers or a GGUF) and running the HTTP server."""

from __future__ import annotations

import json
import os
from pathlib import Path

from doppel.config import Config
from doppel.errors import UserError
from doppel.local_endpoint import listening_socket
from doppel.serve.engines import Engine, GGUFEngine, HFEngine

API_KEY_ENV = "DOPPEL_API_KEY"


def export_gguf(run_root: Path, name: str | None = None) -> Path | None:
    """The GGUF to serve: `name` (a file in export/ or a path), else the one the export chose."""
    export = Path(run_root) / "export"
    if name:
        path = Path(name) if Path(name).is_absolute() or Path(name).exists() else export / name
        if not path.exists():
            raise UserError(f"GGUF file {path} does not exist; see the files in {export}")
        return path
    parity = export / "parity.json"
    if parity.exists():
        info = json.loads(parity.read_text(encoding="utf-8"))
        chosen = info.get("chosen")
        if chosen and (export / info["file_names"][chosen]).exists():
            return export / info["file_names"][chosen]
    return None


def llama_cpp_available() -> bool:
    try:
        import llama_cpp  # noqa: F401
    except ImportError:
        return False
    return True


def open_engine(cfg: Config, backend: str, model: str | None = None, gguf: str | None = None) -> Engine:
    """An engine for the run: `backend` is auto, hf or gguf; `model` names a stage for hf."""
    from doppel.modeling.loading import load_model, newest_model, stage_model

    run_root = cfg.run_dir
    path = export_gguf(run_root, gguf) if backend in ("auto", "gguf") else None
    if backend == "gguf" or (backend == "auto" and path is not None and model is None and llama_cpp_available()):
        if path is None:
            raise UserError(f"{run_root} has no GGUF that passed the parity gate; run 'doppel export {run_root} "
                            f"--gguf q8_0' or pass --gguf FILE")
        return GGUFEngine(path)
    if model:
        src = stage_model(run_root, model)
        if src is None:
            raise UserError(f"{run_root} has no '{model}' model; choose export, sft, cpt or pretrain")
    else:
        src = newest_model(run_root)
    from doppel.modeling.device import resolve_device

    mdl, tok = load_model(src, device=resolve_device(cfg.train.device))
    return HFEngine(mdl, tok, src.describe())


def server_state(cfg: Config, engine: Engine, api_key: str | None):
    from doppel.serve.grounding import Grounder
    from doppel.serve.server import ServerState

    grounder = Grounder.from_run(cfg.run_dir, cfg.serve.grounded_passages)
    if cfg.serve.grounded and grounder is None:
        raise UserError(f"serve.grounded is on but {cfg.run_dir}/data/cpt/train.jsonl has no passages; run the "
                        f"build stage first")
    return ServerState(engine=engine, model_id=cfg.name, cfg=cfg.serve, defaults=cfg.eval.generation,
                       system_prompt=cfg.persona.prompt(), api_key=api_key, grounder=grounder)


def resolve_api_key(flag: str | None) -> str | None:
    return flag or os.environ.get(API_KEY_ENV) or None


def serve_forever(cfg: Config, engine: Engine, api_key: str | None, announce=print) -> None:
    import uvicorn

    from doppel.serve.app import create_app

    app = create_app(server_state(cfg, engine, api_key))
    host, port = cfg.serve.host, cfg.serve.port
    announce(f"model '{cfg.name}' ({engine.backend}: {engine.describe})")
    announce(f"OpenAI API: http://{host}:{port}/v1   web chat: http://{host}:{port}/"
             + ("   (API key required)" if api_key else ""))
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    server.run(sockets=[listening_socket(host, port)])
