"""The ingest stage: source files → Documents, exact duplicates removed, a report of every file."""

from __future__ import annotations

import hashlib
from collections import Counter
from pathlib import Path

from doppel.config import PersonaConfig, SourceConfig
from doppel.ingest.readers import Rejected, read_file
from doppel.records import Document
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl


def source_files(src: SourceConfig) -> list[Path]:
    if src.path.is_dir():
        return sorted(p for p in src.path.rglob("*") if p.is_file() and not p.name.startswith("."))
    return [src.path]


def _ingest(sources: list[SourceConfig], corpus: str, report: dict, seen: dict[str, str]) -> list[Document]:
    docs: list[Document] = []
    for src in sources:
        for path in source_files(src):
            entry = {"path": str(path), "corpus": corpus, "status": "kept", "reason": None, "documents": 0}
            report["files"].append(entry)
            try:
                found = read_file(path, src.kind)
            except Rejected as rej:
                entry.update(status="rejected", reason=rej.reason, detail=rej.detail)
                continue
            for doc in found:
                key = hashlib.sha256(" ".join(doc.text.split()).encode()).hexdigest()
                if key in seen:
                    report["duplicates"].append({"dropped": doc.source, "kept": seen[key]})
                    continue
                seen[key] = doc.source
                docs.append(doc.model_copy(update={"corpus": corpus}))
                entry["documents"] += 1
            if entry["documents"] == 0:
                entry.update(status="rejected", reason="exact_duplicate")
    return docs


def speaker_counts(docs: list[Document], persona: PersonaConfig) -> dict:
    turns: Counter = Counter()
    words: Counter = Counter()
    for doc in docs:
        for t in doc.turns or []:
            turns[t.speaker] += 1
            words[t.speaker] += len(t.text.split())
    return {name: {"turns": turns[name], "words": words[name], "is_persona": persona.matches(name)}
            for name in sorted(turns, key=lambda n: -words[n])}


def run(sources: list[SourceConfig], background: list[SourceConfig], persona: PersonaConfig,
        ws: Workspace) -> StageResult:
    report: dict = {"files_seen": 0, "files": [], "duplicates": []}
    seen: dict[str, str] = {}
    docs = _ingest(sources, "persona", report, seen)
    back = _ingest(background, "background", report, seen)
    report["files_seen"] = len(report["files"])
    report["rejected"] = dict(Counter(f["reason"] for f in report["files"] if f["status"] == "rejected"))
    report["documents"] = {"persona": len(docs), "background": len(back)}
    report["words"] = {"persona": sum(len(d.text.split()) for d in docs),
                       "background": sum(len(d.text.split()) for d in back)}
    report["speakers"] = speaker_counts(docs, persona)
    persona_words = sum(s["words"] for s in report["speakers"].values() if s["is_persona"])
    transcripts = sum(1 for d in docs if d.turns)
    if transcripts and not persona_words:
        names = ", ".join(list(report["speakers"])[:8])
        report["warning"] = (f"no transcript turn matched persona '{persona.name}' or its aliases; "
                             f"speakers found: {names}. Add the right label to persona.aliases")

    atomic_write_jsonl(ws.corpus / "documents.jsonl", docs)
    atomic_write_jsonl(ws.corpus / "background.jsonl", back)
    atomic_write_json(ws.corpus / "ingest_report.json", report)
    summary = {"files_seen": report["files_seen"], "documents": report["documents"],
               "words": report["words"], "rejected": report["rejected"],
               "duplicates_removed": len(report["duplicates"]), "persona_turn_words": persona_words}
    if "warning" in report:
        summary["warning"] = report["warning"]
    return StageResult(summary, [ws.corpus / "documents.jsonl", ws.corpus / "background.jsonl",
                                 ws.corpus / "ingest_report.json"])
