"""The synth stage: teacher-made question–answer pairs, scored and guarded, identity examples,
preference pairs. Without a teacher endpoint only the identity and protective examples are
made (they need no teacher), with a one-line notice.

Reads data/cpt/train.jsonl (the person's passages) and data/sft/train.jsonl (real dialogues);
writes data/sft/synth.jsonl (Examples), data/pref/train.jsonl (PreferencePairs), and under
synth/: cache.sqlite (every request and answer), candidates.jsonl (every candidate with its
provenance, scores and drop reason) and report.json.
"""

from __future__ import annotations

import hashlib
from collections import Counter

from doppel.config import PersonaConfig, SynthConfig, TeacherConfig
from doppel.records import Example, Message, TextChunk, read_jsonl
from doppel.retrieval import Retriever
from doppel.synth import generate, guard
from doppel.synth.identity import identity_examples
from doppel.synth.preferences import pair, usable
from doppel.synth.scoring import histograms
from doppel.teacher import Teacher, teacher_endpoint
from doppel.workspace import StageResult, Workspace, atomic_write_json, atomic_write_jsonl

NOTICE = ("no teacher endpoint (set teacher.base_url or teacher.local in the config, or OPENAI_BASE_URL): "
          "teacher steps skipped; identity examples made from the persona")


def run(cfg: SynthConfig, teacher_cfg: TeacherConfig, persona: PersonaConfig, seed: int,
        ws: Workspace) -> StageResult:
    with teacher_endpoint(teacher_cfg) as resolved:  # a local teacher is served only while this runs
        return _run(cfg, resolved, persona, seed, ws)


def _run(cfg: SynthConfig, resolved: TeacherConfig | None, persona: PersonaConfig, seed: int,
         ws: Workspace) -> StageResult:
    sft_out, pref_out = ws.data / "sft" / "synth.jsonl", ws.data / "pref" / "train.jsonl"
    if resolved is None:
        # Stale teacher data from an earlier configuration must not reach training.
        pref_out.unlink(missing_ok=True)
        examples = identity_examples(persona, cfg.knowledge_cutoff, cfg.identity_copies) if cfg.identity else []
        atomic_write_jsonl(sft_out, examples)
        atomic_write_json(ws.synth / "report.json", {"teacher": None, "notice": NOTICE,
                                                     "identity_examples": len(examples)})
        return StageResult({"notice": NOTICE, "examples": len(examples), "identity_examples": len(examples)},
                           [sft_out, ws.synth / "report.json"])
    passages = read_jsonl(ws.data / "cpt" / "train.jsonl", TextChunk)
    dialogues = read_jsonl(ws.data / "sft" / "train.jsonl", Example)
    teacher = Teacher(resolved, ws.synth / "cache.sqlite")
    ctx = generate.Ctx(cfg, persona, teacher, passages, Retriever([p.text for p in passages]))
    try:
        chosen = generate.pick_passages(ctx, seed)
        qs, q_report = generate.questions(ctx, chosen)
        cands = generate.backtranslate(ctx, chosen) if "backtranslate" in cfg.answers else []
        for way in ("grounded", "plain"):
            if way in cfg.answers:
                cands += generate.answers(ctx, qs, grounded=way == "grounded")
        if cfg.score:
            generate.score(ctx, cands)
        real = [p.text for p in passages] + [ex.messages[-1].content for ex in dialogues]
        guard_report, guard_pairs = apply_guard(ctx, cands, real, seed)
        prefs = preference_pairs(ctx, cands, dialogues, guard_pairs) if cfg.preferences else []
    finally:
        teacher.close()

    for i, c in enumerate(cands):
        c["id"] = f"synth@{i}"
    kept = [c for c in cands if c["drop"] is None]
    examples = [to_example(c, persona) for c in kept]
    if cfg.identity:
        examples += identity_examples(persona, cfg.knowledge_cutoff, cfg.identity_copies)
    atomic_write_jsonl(ws.synth / "candidates.jsonl", cands)
    atomic_write_jsonl(ws.synth / "questions.jsonl", qs)
    atomic_write_jsonl(sft_out, examples)
    atomic_write_jsonl(pref_out, prefs)
    drops = ctx.drops + Counter(c["drop"] for c in cands if c["drop"])
    report = {
        "teacher": teacher.summary(),
        "questions": q_report,
        "candidates": dict(Counter(c["origin"] for c in cands)),
        "kept": dict(Counter(c["origin"] for c in kept)),
        "identity_examples": sum(1 for e in examples if e.meta.get("origin") == "identity"),
        "preference_pairs": dict(Counter(p.meta["rejected_from"] for p in prefs)),
        "dropped": dict(drops),
        "score_histograms": histograms([c["scores"] for c in cands if c.get("scores")]),
        "catchphrase_guard": guard_report,
    }
    atomic_write_json(ws.synth / "report.json", report)
    t = report["teacher"]
    summary = {"examples": len(examples), "preference_pairs": len(prefs), "dropped": dict(drops),
               "requests_sent": t["requests_sent"], "from_cache": t["answered_from_cache"],
               "tokens": t["prompt_tokens"] + t["completion_tokens"], "cost_usd": t["cost_usd"],
               "overused": [g["ngram"] for g in guard_report["overused"][:5]]}
    return StageResult(summary, [sft_out, pref_out, ws.synth / "report.json", ws.synth / "candidates.jsonl"])


def _keep_fraction(key: str, weight: float) -> bool:
    """Deterministic sub-sampling: a down-weighted answer stays with probability `weight`."""
    return int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF < weight


def apply_guard(ctx: generate.Ctx, cands: list[dict], real: list[str], seed: int) -> tuple[dict, list]:
    """Find over-used n-grams in teacher-written answers; rewrite, down-weight or drop offenders."""
    g = ctx.cfg.guard
    written = [c for c in cands if c["drop"] is None and c["origin"] != "backtranslate"]
    found = guard.overused([c["answer"] for c in written], real, g)
    grams = [f["ngram"] for f in found]
    offenders = [c for c in written if grams and guard.over_limit(c["answer"], grams, g)]
    pairs = []
    if g.action == "rewrite" and offenders:
        for c, new in zip(offenders, generate.rewrite(ctx, offenders, grams)):
            if new and not guard.over_limit(new, grams, g):
                pairs.append((c, new))
                c["original_answer"], c["answer"], c["rewritten"] = c["answer"], new, True
            else:
                c["drop"] = "catchphrase_after_rewrite"
    else:
        for c in offenders:
            if g.action == "drop":
                c["drop"] = "catchphrase_overuse"
            else:
                c["weight"] = g.downweight
                if not _keep_fraction(f"{seed}:{c['question']}", g.downweight):
                    c["drop"] = "catchphrase_downweighted"
    return {"overused": found, "offending_answers": len(offenders), "action": g.action}, pairs


def preference_pairs(ctx: generate.Ctx, cands: list[dict], dialogues: list[Example], guard_pairs: list) -> list:
    """chosen = the person's real or back-translated answer, rejected = a generic assistant's;
    and rewritten answer (chosen) against the catch-phrase original (rejected)."""
    system = ctx.persona.prompt()
    voiced = [(c["question"], c["answer"], c["source"], "backtranslate", c["passage"]) for c in cands
              if c["drop"] is None and c["origin"] == "backtranslate"]
    voiced += [(ex.messages[-2].content, ex.messages[-1].content, ex.source, "real", ex.id) for ex in dialogues
               if len(ex.messages) >= 2 and ex.messages[-2].role == "user"]
    generic = generate.generic_answers(ctx, [v[0] for v in voiced])
    out = []
    for i, ((q, chosen, src, kind, ref), rejected) in enumerate(zip(voiced, generic)):
        reason = usable(chosen, rejected)
        if reason:
            ctx.drops[f"pref_{reason}"] += 1
            continue
        out.append(pair(f"pref@{i}", system, q, chosen, rejected, src, kind, "teacher_generic", ref=ref))
    for j, (c, new) in enumerate(guard_pairs):
        out.append(pair(f"pref-guard@{j}", system, c["question"], new, c["original_answer"], c["source"],
                        f"{c['origin']}_rewritten", "catchphrase", ref=c.get("passage")))
    return out


def to_example(c: dict, persona: PersonaConfig) -> Example:
    meta = {k: c[k] for k in ("origin", "passage", "retrieved", "scores", "weight", "question_origin",
                              "rewritten") if c.get(k) is not None}
    return Example(id=c["id"], source=c["source"] or "", meta=meta,
                   messages=[Message(role="system", content=persona.prompt()),
                             Message(role="user", content=c["question"]),
                             Message(role="assistant", content=c["answer"])])
