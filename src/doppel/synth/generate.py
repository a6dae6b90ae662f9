"""The teacher steps: questions, back-translated / grounded / plain answers, scores, rewrites.

Each step sends one batch through the teacher (cached, so a re-run costs nothing) and
returns candidate dicts that carry their provenance: origin, source document, passage id,
retrieved passages, scores and the reason a candidate was dropped (None when kept).
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field

from doppel.config import PersonaConfig, SynthConfig
from doppel.records import TextChunk
from doppel.retrieval import Retriever
from doppel.synth import prompts
from doppel.synth.questions import (dedupe, parse_questions, question_or_reason, questions_or_reason,
                                    single_question)
from doppel.synth.scoring import SCORES_SCHEMA, parse_scores, scores_or_reason, verdict
from doppel.teacher import Teacher, reply_format

MIN_PASSAGE_WORDS = 20


@dataclass
class Ctx:
    cfg: SynthConfig
    persona: PersonaConfig
    teacher: Teacher
    passages: list[TextChunk]
    retriever: Retriever
    drops: Counter = field(default_factory=Counter)

    def who(self) -> dict:
        return {"name": self.persona.name, "description": self.persona.description.strip()}

    def ask(self, step: str, msgs: list[list[dict]], **kw) -> list:
        """One batch through the teacher, with a progress bar on the terminal."""
        from rich.progress import Progress

        if not msgs:
            return []
        with Progress(transient=True) as bar:
            task = bar.add_task(f"synth: {step}", total=len(msgs))
            return self.teacher.chat_many(msgs, progress=lambda done, total: bar.update(task, completed=done), **kw)

    def sampling(self) -> dict:
        return {"temperature": self.cfg.temperature, "max_tokens": self.cfg.max_tokens}


def pick_passages(ctx: Ctx, seed: int) -> list[TextChunk]:
    """Up to max_passages long-enough passages, in a seeded order (the same on every run)."""
    long_enough = []
    for p in ctx.passages:
        if len(p.text.split()) < MIN_PASSAGE_WORDS:
            ctx.drops["passage_too_short"] += 1
        else:
            long_enough.append(p)
    ranked = sorted(long_enough, key=lambda p: hashlib.sha256(f"{seed}:{p.id}".encode()).hexdigest())
    return ranked[:ctx.cfg.max_passages]


def questions(ctx: Ctx, chosen: list[TextChunk]) -> tuple[list[dict], dict]:
    """Category questions and passage-grounded questions, near-duplicates removed."""
    cfg = ctx.cfg
    jobs: list[tuple[dict, list[dict]]] = []
    if cfg.questions_per_category:
        for cat in cfg.categories:
            jobs.append(({"origin": f"category:{cat}", "passage": None, "source": "persona-config"},
                         prompts.render("questions_category", n=cfg.questions_per_category, category=cat,
                                        **ctx.who())))
    if cfg.questions_per_passage:
        for p in chosen:
            jobs.append(({"origin": "passage", "passage": p.id, "source": p.source},
                         prompts.render("questions_passage", n=cfg.questions_per_passage, passage=p.text,
                                        **ctx.who())))
    replies = ctx.ask("questions", [m for _, m in jobs], validate=questions_or_reason, **ctx.sampling())
    items = []
    for (meta, _), reply in zip(jobs, replies):
        if reply.text is None:
            ctx.drops[f"questions_{reply.error}"] += 1
            continue
        limit = cfg.questions_per_category if meta["passage"] is None else cfg.questions_per_passage
        items += [{"question": q, **meta} for q in parse_questions(reply.text)[:limit]]
    kept, dupes = dedupe(items, cfg.dedup_threshold)
    ctx.drops["near_duplicate_question"] += dupes
    return kept, {"generated": len(items), "near_duplicates": dupes, "kept": len(kept)}


def backtranslate(ctx: Ctx, chosen: list[TextChunk]) -> list[dict]:
    """The person's passage verbatim as the answer; the teacher writes the question it answers."""
    msgs = [prompts.render("backtranslate", passage=p.text, **ctx.who()) for p in chosen]
    replies = ctx.ask("back-translation", msgs, validate=question_or_reason, **ctx.sampling())
    out = []
    for p, reply in zip(chosen, replies):
        q = single_question(reply.text) if reply.text else None
        out.append({"origin": "backtranslate", "question": q or "", "answer": p.text, "source": p.source,
                    "passage": p.id, "retrieved": [p.id], "drop": None if q else f"question_{reply.error}"})
    return out


def _grounding(ctx: Ctx, question: str) -> list[TextChunk]:
    return [ctx.passages[i] for i, _ in ctx.retriever.top(question, ctx.cfg.retrieve_k)]


def _numbered(passages: list[TextChunk]) -> str:
    return "\n\n".join(f"[{i + 1}] {p.text}" for i, p in enumerate(passages)) or "(none found)"


def answers(ctx: Ctx, items: list[dict], grounded: bool) -> list[dict]:
    """Teacher answers in persona, with retrieved passages (grounded) or without (plain)."""
    msgs, found = [], []
    for it in items:
        ground = _grounding(ctx, it["question"]) if grounded else []
        found.append(ground)
        if grounded:
            msgs.append(prompts.render("answer_grounded", question=it["question"], passages=_numbered(ground),
                                       **ctx.who()))
        else:
            msgs.append(prompts.render("answer_plain", question=it["question"], **ctx.who()))
    origin = "grounded" if grounded else "plain"
    replies = ctx.ask(f"{origin} answers", msgs, **ctx.sampling())
    return [{"origin": origin, "question": it["question"], "answer": (r.text or "").strip(),
             "source": it["source"], "passage": it["passage"], "question_origin": it["origin"],
             "retrieved": [p.id for p in ground], "drop": None if r.text else f"answer_{r.error}"}
            for it, ground, r in zip(items, found, replies)]


def score(ctx: Ctx, cands: list[dict]) -> list[dict]:
    """Rubric grades for every live candidate; those under the threshold get a drop reason."""
    live = [c for c in cands if c["drop"] is None]
    msgs = []
    for c in live:
        if c["origin"] == "backtranslate":
            # The answer is her passage verbatim: shown again as a sample it would only double the prompt.
            samples = "(the candidate answer is itself a passage of the person's real words)"
        else:
            ids = set(c["retrieved"])
            samples = _numbered(([p for p in ctx.passages if p.id in ids] or _grounding(ctx, c["question"]))[:3])
        msgs.append(prompts.render("score", question=c["question"], answer=c["answer"], passages=samples,
                                   name=ctx.persona.name))
    held = reply_format(ctx.teacher.cfg, "scores", SCORES_SCHEMA)
    replies = ctx.ask("scores", msgs, validate=scores_or_reason, temperature=0.0, max_tokens=60, **held)
    for c, r in zip(live, replies):
        c["scores"] = parse_scores(r.text) if r.text else None
        c["drop"] = verdict(c["scores"], ctx.cfg.min_score)
    return cands


def rewrite(ctx: Ctx, cands: list[dict], grams: list[str]) -> list[str | None]:
    msgs = [prompts.render("rewrite", answer=c["answer"], phrases=", ".join(f'"{g}"' for g in grams),
                           name=ctx.persona.name) for c in cands]
    return [r.text.strip() if r.text else None
            for r in ctx.ask("rewrites", msgs, temperature=0.3, max_tokens=ctx.cfg.max_tokens)]


def generic_answers(ctx: Ctx, questions_: list[str]) -> list[str | None]:
    """A plain assistant's answers (no persona): the rejected side of preference pairs."""
    msgs = [prompts.render("answer_generic", question=q) for q in questions_]
    return [r.text.strip() if r.text else None for r in ctx.ask("generic answers", msgs, **ctx.sampling())]
