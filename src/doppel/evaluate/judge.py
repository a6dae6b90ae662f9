"""The LLM judge: pairwise "which sounds more like <person>?" in both orders, and a faithfulness rubric.

Every pair of answers to the same question is judged twice, A/B and B/A. A model wins the
pair only when the judge picks it both times; a flip (the judge followed the position, not
the answer) or an unreadable verdict counts as a tie. Win rates carry bootstrap intervals.
"""

from __future__ import annotations

import itertools
import re
from importlib import resources

from doppel.config import JudgeSettings, PersonaConfig, TeacherConfig
from doppel.metrics.pairwise import bradley_terry_ci, win_rates
from doppel.teacher import reply_format

VERDICT = re.compile(r"\b([AB])\b")
SCORE = re.compile(r"\b([1-5])\b")
# The replies' shapes, for endpoints asked for structured output (teacher.structured_output; the
# synth stage's score schema is synth/scoring.py's SCORES_SCHEMA).
VERDICT_SCHEMA = {"type": "string", "enum": ["A", "B"]}
GRADE_SCHEMA = {"type": "integer", "enum": [1, 2, 3, 4, 5]}


def template(name: str) -> str:
    return resources.files("doppel.evaluate").joinpath("prompts", name).read_text(encoding="utf-8")


def parse_choice(text: str | None) -> str | None:
    """'A' or 'B' from a verdict, or None when it names neither or both."""
    found = set(VERDICT.findall((text or "").strip()[:200]))
    return found.pop() if len(found) == 1 else None


def combine(first: str | None, second: str | None) -> float:
    """Outcome for answer x shown first then second: 1.0 x wins, 0.0 y wins, 0.5 tie or flip."""
    if first == "A" and second == "B":
        return 1.0
    if first == "B" and second == "A":
        return 0.0
    return 0.5


def judge_pairs(teacher, persona: PersonaConfig, items: list[dict], passages: dict[str, str]) -> dict:
    """items: {"question", "a": (label, answer), "b": (label, answer)}; both orders are asked."""
    tpl = template("judge_pairwise.txt")
    requests = []
    for it in items:
        for (la, xa), (lb, xb) in ((it["a"], it["b"]), (it["b"], it["a"])):
            prompt = tpl.format(name=persona.name, passages=passages[it["question"]], question=it["question"],
                                answer_a=xa, answer_b=xb)
            requests.append([{"role": "user", "content": prompt}])
    held = reply_format(teacher.cfg, "verdict", VERDICT_SCHEMA)
    replies = teacher.chat_many(requests, temperature=0.0, max_tokens=5, **held)
    comparisons, flips, unreadable = [], 0, 0
    for i, it in enumerate(items):
        first, second = (parse_choice(r.text) for r in replies[2 * i:2 * i + 2])
        unreadable += (first is None) + (second is None)
        if first is not None and first == second:
            flips += 1
        comparisons.append((it["a"][0], it["b"][0], combine(first, second)))
    return {"comparisons": comparisons, "flips_counted_as_ties": flips, "unreadable_verdicts": unreadable,
            "requests": len(requests)}


def faithfulness(teacher, persona: PersonaConfig, answers: list[tuple[str, str, str]],
                 passages: dict[str, str]) -> dict[str, float | None]:
    """Mean 1–5 faithfulness per model label from (label, question, answer) triples."""
    tpl = template("judge_faithfulness.txt")
    requests = [[{"role": "user", "content": tpl.format(name=persona.name, passages=passages[q], question=q,
                                                        answer=a)}] for _, q, a in answers]
    held = reply_format(teacher.cfg, "grade", GRADE_SCHEMA)
    replies = teacher.chat_many(requests, temperature=0.0, max_tokens=5, **held)
    scores: dict[str, list[int]] = {}
    for (label, _, _), reply in zip(answers, replies):
        m = SCORE.search(reply.text or "")
        if m:
            scores.setdefault(label, []).append(int(m.group(1)))
    labels = {label for label, _, _ in answers}
    return {label: round(sum(scores[label]) / len(scores[label]), 3) if scores.get(label) else None
            for label in sorted(labels)}


def judge_ladder(teacher_cfg: TeacherConfig, cfg: JudgeSettings, persona: PersonaConfig, runs, held,
                 prompter, cache_path) -> dict:
    """Judge the first-round answers of every model pair on the first `cfg.questions` questions."""
    from doppel.teacher import Teacher

    if cfg.model:
        teacher_cfg = teacher_cfg.model_copy(update={"model": cfg.model})
    teacher = Teacher(teacher_cfg, cache_path)
    try:
        first = {r.label: {a["q"]: a["answer"] for a in r.answers if a["round"] == 0} for r in runs}
        questions = list(range(min(cfg.questions, len(held))))
        text = {q: held[q].messages[-2].content for q in questions}
        passages = {text[q]: _passages(prompter, text[q]) for q in questions}
        items = [{"question": text[q], "a": (la, first[la][q]), "b": (lb, first[lb][q])}
                 for q in questions for la, lb in itertools.combinations(sorted(first), 2)]
        pairs = judge_pairs(teacher, persona, items, passages)
        out = {"model": teacher.cfg.model, **({"local_model": teacher_cfg.local} if teacher_cfg.local else {}),
               "questions": len(questions), "pairs": len(items),
               "flips_counted_as_ties": pairs["flips_counted_as_ties"],
               "unreadable_verdicts": pairs["unreadable_verdicts"],
               "win_rates": win_rates(pairs["comparisons"]),
               "bradley_terry": bradley_terry_ci(pairs["comparisons"])}
        if cfg.faithfulness:
            triples = [(label, text[q], first[label][q]) for label in sorted(first) for q in questions]
            out["faithfulness"] = faithfulness(teacher, persona, triples, passages)
        out["usage"] = teacher.summary()
        return out
    finally:
        teacher.close()


def judge_if_on(teacher, cfg: JudgeSettings, persona: PersonaConfig, runs, held, prompter, cache_path) -> dict | None:
    """judge_ladder when the judge is on: None when it is off (or has no questions), a
    "skipped" note when no endpoint is configured."""
    if teacher is None or not cfg.enabled or cfg.questions <= 0:
        return None
    from doppel.teacher import teacher_endpoint

    with teacher_endpoint(teacher) as resolved:
        if resolved is None:
            return {"skipped": "no judge endpoint (set teacher.base_url, OPENAI_BASE_URL or teacher.local)"}
        return judge_ladder(resolved, cfg, persona, runs, held, prompter, cache_path)


def _passages(prompter, question: str) -> str:
    """The person's passages retrieved for the question (grounding for both judgements)."""
    shots = prompter.retrieve(question, 4)
    return "\n".join(f"- {p}" for p in shots) if shots else "(no passages)"
