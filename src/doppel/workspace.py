"""The run directory: layout, atomic writes, fingerprints and the per-stage manifest.

A stage is current when it last finished successfully with the same config hash and the
same input fingerprints, and its outputs are still there. Writes go to a temporary name
and are renamed into place, so a killed stage never leaves a file that looks finished.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Iterable, Iterator

from pydantic import BaseModel

from doppel.records import dumps_jsonl

MANIFEST = "manifest.json"


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    with open(tmp, "wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    os.replace(tmp, path)


def atomic_write_text(path: Path, text: str) -> None:
    atomic_write_bytes(path, text.encode("utf-8"))


def atomic_write_json(path: Path, obj: Any) -> None:
    atomic_write_text(path, json.dumps(obj, indent=2, ensure_ascii=False, default=str) + "\n")


def atomic_write_jsonl(path: Path, records: Iterable[BaseModel | dict]) -> None:
    """Write records (pydantic models or plain dicts), one JSON object a line."""
    atomic_write_text(path, dumps_jsonl(records))


@contextlib.contextmanager
def atomic_dir(path: Path) -> Iterator[Path]:
    """Yield a temporary folder; on success it replaces `path` whole, on failure it is removed."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    if tmp.exists():
        shutil.rmtree(tmp)
    tmp.mkdir()
    try:
        yield tmp
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    old = path.with_name(f".{path.name}.old-{os.getpid()}")
    if path.exists():
        os.replace(path, old)
    os.replace(tmp, path)
    shutil.rmtree(old, ignore_errors=True)


def _hash_file(path: Path, h: "hashlib._Hash") -> None:
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)


def fingerprint(paths: Iterable[Path]) -> str:
    """A content hash of files and folders (recursively; hidden temporaries skipped)."""
    h = hashlib.sha256()
    for root in sorted(Path(p) for p in paths):
        if root.is_dir():
            files = sorted(f for f in root.rglob("*") if f.is_file()
                           and not any(part.startswith(".") for part in f.relative_to(root).parts))
        elif root.is_file():
            files = [root]
        else:
            h.update(f"missing:{root}".encode())
            continue
        for f in files:
            h.update(str(f.relative_to(root.parent)).encode() + b"\0")
            _hash_file(f, h)
    return h.hexdigest()


def hash_config(obj: Any) -> str:
    """A stable hash of a config section (pydantic models, dicts, lists, scalars)."""
    def plain(o: Any) -> Any:
        if isinstance(o, BaseModel):
            return o.model_dump(mode="json")
        if isinstance(o, dict):
            return {str(k): plain(v) for k, v in o.items()}
        if isinstance(o, (list, tuple)):
            return [plain(v) for v in o]
        return o if isinstance(o, (str, int, float, bool, type(None))) else str(o)
    return hashlib.sha256(json.dumps(plain(obj), sort_keys=True).encode()).hexdigest()


@dataclass
class StageResult:
    """What a stage reports: its summary numbers and the paths it wrote."""

    summary: dict = field(default_factory=dict)
    outputs: list[Path] = field(default_factory=list)


class Workspace:
    """One run directory (runs/<name>/) and its manifest."""

    def __init__(self, root: Path):
        self.root = Path(root)
        self.corpus = self.root / "corpus"
        self.data = self.root / "data"
        self.synth = self.root / "synth"
        self.models = self.root / "models"
        self.eval = self.root / "eval"
        self.export = self.root / "export"
        self.tokenizer = self.root / "tokenizer"

    def create(self) -> "Workspace":
        for d in (self.root, self.corpus, self.data, self.models, self.eval, self.export):
            d.mkdir(parents=True, exist_ok=True)
        return self

    def model_dir(self, stage: str) -> Path:
        return self.models / stage

    # -- manifest -----------------------------------------------------------------------
    @property
    def manifest_path(self) -> Path:
        return self.root / MANIFEST

    def manifest(self) -> dict:
        if not self.manifest_path.exists():
            return {"stages": {}}
        try:
            return json.loads(self.manifest_path.read_text(encoding="utf-8"))
        except json.JSONDecodeError:
            # Only atomic writes touch it, so this means a hand edit went wrong; start over.
            return {"stages": {}}

    def _update(self, stage: str, **fields: Any) -> None:
        m = self.manifest()
        entry = m["stages"].setdefault(stage, {})
        entry.update(fields)
        atomic_write_json(self.manifest_path, m)

    def stage_entry(self, stage: str) -> dict:
        return self.manifest()["stages"].get(stage, {})

    def is_current(self, stage: str, config_hash: str, inputs_hash: str) -> bool:
        e = self.stage_entry(stage)
        if e.get("status") != "done":
            return False
        if e.get("config_hash") != config_hash or e.get("inputs_hash") != inputs_hash:
            return False
        return all((self.root / rel).exists() for rel in e.get("outputs", {}))

    def begin(self, stage: str, config_hash: str, inputs_hash: str) -> float:
        self._update(stage, status="running", config_hash=config_hash, inputs_hash=inputs_hash,
                     started=time.strftime("%Y-%m-%dT%H:%M:%S"), error=None)
        return time.time()

    def finish(self, stage: str, started: float, result: StageResult) -> None:
        outputs = {str(Path(p).resolve().relative_to(self.root.resolve())): fingerprint([p])
                   for p in result.outputs}
        self._update(stage, status="done", seconds=round(time.time() - started, 2),
                     finished=time.strftime("%Y-%m-%dT%H:%M:%S"), outputs=outputs,
                     summary=result.summary)

    def fail(self, stage: str, started: float, error: str) -> None:
        self._update(stage, status="failed", seconds=round(time.time() - started, 2), error=error)

    def output_hash(self, stage: str, counted: bool = True) -> str:
        """The recorded fingerprint of a finished stage's outputs (an input of later stages);
        not `counted`, that of a stage that never ran (one switched off since)."""
        e = self.stage_entry(stage) if counted else {}
        return hash_config({"status": e.get("status"), "outputs": e.get("outputs", {})})
