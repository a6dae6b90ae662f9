"""The ingest stage: sources → clean Documents with speaker turns, and a report of every input.

Each file or page is read by the reader its content calls for; each document gets its
speakers assigned, is cleaned, and passes the filters (not empty, long enough, an allowed
language, not an exact or near duplicate of a kept document). Every input appears in the
report exactly once, as kept or rejected with a reason; every dropped document is counted.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

from doppel.config import IngestConfig, PersonaConfig, SourceConfig
from doppel.errors import UserError
from doppel.ingest import dedup, language
from doppel.ingest.inputs import Inputs
from doppel.ingest.speakers import speaker_counts
from doppel.ingest.words import count_words, token_estimate
from doppel.ingest.work import process_all
from doppel.records import Document
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl


@dataclass
class Candidate:
    doc: Document
    entry: dict  # the report entry of the file it came from
    words: int
    dropped: str | None = None


def spoken_text(doc: Document) -> str:
    return " ".join(t.text for t in doc.turns) if doc.turns else doc.text


def document_filter(doc: Document, cfg: IngestConfig) -> tuple[str | None, int]:
    """(drop reason or None, word count); records the detected language in doc.meta."""
    words = count_words(spoken_text(doc))
    if words == 0:
        return "empty_after_cleaning", 0
    if words < cfg.min_words:
        return "too_short", words
    code, prob = language.detect(spoken_text(doc))
    doc.meta["language"] = code
    if cfg.languages and code not in cfg.languages:
        return "language_not_allowed", words
    return None, words


class Ingest:
    def __init__(self, cfg: IngestConfig, ws: Workspace):
        self.cfg = cfg
        self.report: dict = {"files_seen": 0, "files": [], "duplicates": []}
        self.candidates: list[Candidate] = []
        self.exact: dict[str, Candidate] = {}
        self.cleaning: Counter = Counter()
        self.inputs = Inputs(cfg, ws.root / "cache")

    def read_source(self, src: SourceConfig, corpus: str) -> None:
        for item, out in process_all(self.inputs.items(src), src, self.cfg.clean, self.cfg.workers):
            entry = {"path": item.name, "corpus": corpus, "status": "kept", "reason": None, "documents": 0}
            self.report["files"].append(entry)
            if out.rejected is not None:
                entry.update(status="rejected", reason=out.rejected.reason, detail=out.rejected.detail)
                continue
            entry.update(reader=out.reader, encoding=out.encoding)
            if out.repairs:
                entry["repairs"] = dict(Counter(out.repairs))
            self.cleaning.update(out.cleaning)
            extractors = sorted({d.meta["extractor"] for d in out.docs if d.meta.get("extractor")})
            if extractors:
                entry["extractor"] = ", ".join(extractors)
            for doc in out.docs:
                self.add(doc.model_copy(update={"corpus": corpus, **item.overrides}), entry)

    def add(self, doc: Document, entry: dict) -> None:
        reason, words = document_filter(doc, self.cfg)
        cand = Candidate(doc, entry, words, reason)
        self.candidates.append(cand)
        if reason is None and self.cfg.dedup.exact:
            key = dedup.exact_key(spoken_text(doc))
            first = self.exact.get(key)
            if first is not None:
                cand.dropped = "exact_duplicate"
                self.report["duplicates"].append({"kind": "exact", "dropped": doc.source, "kept": first.doc.source,
                                                  "dropped_id": doc.id, "kept_id": first.doc.id})
            else:
                self.exact[key] = cand

    def near_dedup(self) -> None:
        live = [c for c in self.candidates if c.dropped is None]
        live.sort(key=lambda c: (c.doc.corpus != "persona", -c.words))
        for dup in dedup.near_duplicates([spoken_text(c.doc) for c in live], self.cfg.dedup):
            cand, kept = live[dup.dropped], live[dup.kept]
            cand.dropped = "near_duplicate"
            self.report["duplicates"].append({"kind": "near", "dropped": cand.doc.source, "kept": kept.doc.source,
                                              "dropped_id": cand.doc.id, "kept_id": kept.doc.id,
                                              "containment": dup.containment})

    def finish(self) -> tuple[list[Document], list[Document]]:
        drops: dict[int, Counter] = {}
        for c in self.candidates:
            if c.dropped is None:
                c.entry["documents"] += 1
            else:
                drops.setdefault(id(c.entry), Counter())[c.dropped] += 1
        for entry in self.report["files"]:
            reasons = drops.get(id(entry))
            if reasons:
                entry["dropped"] = dict(reasons)
            if entry["status"] == "kept" and entry["documents"] == 0:
                entry.update(status="rejected", reason=reasons.most_common(1)[0][0] if reasons else "empty")
        kept = [c.doc for c in self.candidates if c.dropped is None]
        return [d for d in kept if d.corpus == "persona"], [d for d in kept if d.corpus == "background"]


def run(sources: list[SourceConfig], background: list[SourceConfig], persona: PersonaConfig | None,
        ws: Workspace, cfg: IngestConfig | None = None) -> StageResult:
    cfg = cfg or IngestConfig()
    ws.corpus.mkdir(parents=True, exist_ok=True)
    job = Ingest(cfg, ws)
    try:
        for corpus, srcs in (("persona", sources), ("background", background)):
            for src in srcs:
                job.read_source(src, corpus)
    finally:
        job.inputs.close()
    if cfg.dedup.near:
        job.near_dedup()
    docs, back = job.finish()
    report = build_report(job, docs, back, persona)
    atomic_write_jsonl(ws.corpus / "documents.jsonl", docs)
    atomic_write_jsonl(ws.corpus / "background.jsonl", back)
    atomic_write_json(ws.corpus / "ingest_report.json", report)
    outputs = [ws.corpus / "documents.jsonl", ws.corpus / "background.jsonl", ws.corpus / "ingest_report.json"]
    rejected = [f for f in report["files"] if f["status"] == "rejected"]
    if cfg.strict and rejected:
        listed = "; ".join(f"{f['path']}: {f['reason']}" for f in rejected[:5])
        more = f" (and {len(rejected) - 5} more)" if len(rejected) > 5 else ""
        raise UserError(f"strict ingest: {len(rejected)} of {report['files_seen']} inputs were rejected: "
                        f"{listed}{more}. Fix or remove them, or drop --strict / ingest.strict; "
                        f"details in {ws.corpus / 'ingest_report.json'}")
    return StageResult(summary(report), outputs)


def build_report(job: Ingest, docs: list[Document], back: list[Document], persona: PersonaConfig | None) -> dict:
    from doppel.ingest.labels import is_generic

    report = job.report
    report["files_seen"] = len(report["files"])
    report["files_kept"] = sum(1 for f in report["files"] if f["status"] == "kept")
    report["rejected"] = dict(Counter(f["reason"] for f in report["files"] if f["status"] == "rejected"))
    report["documents_dropped"] = dict(Counter(c.dropped for c in job.candidates if c.dropped))
    report["documents"] = {"persona": len(docs), "background": len(back)}
    report["words"] = {"persona": sum(count_words(d.text) for d in docs),
                       "background": sum(count_words(d.text) for d in back)}
    report["tokens_estimate"] = {k: round(sum(token_estimate(d.text) for d in v)) for k, v in
                                 (("persona", docs), ("background", back))}
    report["languages"] = dict(Counter(d.meta.get("language", "?") for d in [*docs, *back]))
    report["cleaning"] = dict(job.cleaning)
    report["speakers"] = speaker_counts(docs, persona)
    report["generic_speakers"] = [n for n in report["speakers"] if is_generic(n)]
    report["labels_not_turns"] = [{"path": c.doc.source, "id": c.doc.id, **c.doc.meta["labels_not_turns"]}
                                  for c in job.candidates if c.doc.meta.get("labels_not_turns")]
    if stats := job.inputs.stats():
        report["crawl"] = stats
    persona_words = sum(s["words"] for s in report["speakers"].values() if s["is_persona"])
    report["persona_turn_words"] = persona_words
    if persona is not None and any(d.turns for d in docs) and not persona_words:
        names = ", ".join(list(report["speakers"])[:8])
        report["warning"] = (f"no transcript turn matched persona '{persona.name}' or its aliases; "
                             f"speakers found: {names}. Add the right label to persona.aliases "
                             f"(or map it with a source's speakers:, or set speaker: for unlabelled text)")
    return report


def summary(report: dict) -> dict:
    top = list(report["speakers"].items())[:6]
    out = {"files_seen": report["files_seen"], "files_kept": report["files_kept"],
           "documents": report["documents"], "words": report["words"],
           "tokens_estimate": report["tokens_estimate"], "rejected": report["rejected"],
           "documents_dropped": report["documents_dropped"], "duplicates_removed": len(report["duplicates"]),
           "persona_turn_words": report["persona_turn_words"],
           "speakers": ", ".join(f"{n} {s['words']}{' (persona)' if s['is_persona'] else ''}" for n, s in top)}
    if "crawl" in report:
        out["crawl"] = report["crawl"]
    if "warning" in report:
        out["warning"] = report["warning"]
    return out
