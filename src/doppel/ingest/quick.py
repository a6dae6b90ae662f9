"""`doppel ingest PATH_OR_URL... --out DIR`: a look at some sources without writing a config."""

from __future__ import annotations

import json
import re
import time
from pathlib import Path
from typing import Callable

from doppel.errors import UserError
from doppel.workspace import Workspace


def is_config(target: str) -> bool:
    """A YAML config file, or a run folder that holds config.resolved.yaml."""
    path = Path(target)
    return (path.suffix.lower() in (".yaml", ".yml") and not re.match(r"https?://", target)) or (
        path.is_dir() and (path / "config.resolved.yaml").exists())


def sources_for(targets: list[str]):
    from doppel.config import SourceConfig

    sources = []
    for target in targets:
        if re.match(r"https?://", target):
            sources.append(SourceConfig(url=target))
            continue
        path = Path(target)
        if not path.exists():
            raise UserError(f"{target} does not exist; give files, folders or http(s) URLs to read")
        sources.append(SourceConfig(path=path.resolve()))
    return sources


def run_direct(targets: list[str], out: Path | None, speaker: str | None, aliases: list[str],
               strict: bool, report: Callable[[str, str, dict], None]) -> Workspace:
    from doppel.config import IngestConfig, PersonaConfig
    from doppel.ingest import stage

    if out is None:
        raise UserError("reading paths or URLs directly needs --out DIR for the corpus "
                        "(or pass a single config .yaml file)")
    if aliases and not speaker:
        raise UserError("--alias needs --speaker NAME: aliases are other labels of that person")
    persona = PersonaConfig(name=speaker, aliases=aliases) if speaker else None
    ws = Workspace(Path(out))
    started = time.time()
    report("ingest", "start", {})
    result = stage.run(sources_for(targets), [], persona, ws, IngestConfig(strict=strict))
    report("ingest", "done", {**result.summary, "wrote": ", ".join(str(p) for p in result.outputs),
                              "seconds": round(time.time() - started, 1)})
    return ws


def show_speakers(ws: Workspace, console) -> None:
    from doppel.ingest.speakers import speakers_table

    path = ws.corpus / "ingest_report.json"
    if not path.exists():
        raise UserError(f"{path} does not exist; the ingest stage has not run")
    report = json.loads(path.read_text(encoding="utf-8"))
    speakers = report.get("speakers", {})
    if not speakers:
        console.print("no transcript speakers: the sources hold prose only")
    else:
        console.print(speakers_table(speakers, f"speakers in {ws.corpus / 'documents.jsonl'}"))
    prose = report.get("labels_not_turns") or []
    if prose:
        console.print(f"read as prose: {len(prose)} document(s) whose 'Label:' lines are not speaker turns "
                      f"(if one is a transcript, set kind: transcript on its source)", markup=False)
        for entry in prose:
            labels = ", ".join(entry.get("labels") or [])
            console.print(f"  {entry.get('path', '')}\n    labels {labels}: {entry.get('why', '')}",
                          markup=False, highlight=False)
