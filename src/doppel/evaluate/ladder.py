"""The models of the ladder and their answers: base, prompted base, every trained stage
(and, through the same rung function, each exported GGUF file: see gguf_stage.py).

Each model is loaded once; it scores held-out text and answers, answers the held-out
questions in sampling rounds (until its pool reaches the word count Delta needs), and
answers the identity probes. The base model, plain and prompted, also answers training
questions: part of the "not the person" side of the person-likeness classifier.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from doppel.config import EvalConfig, PersonaConfig
from doppel.evaluate.generate import generate_answers
from doppel.evaluate.perplexity import answer_perplexity, text_perplexity
from doppel.metrics.identity import Probe, bare_probe_set
from doppel.modeling.loading import ModelSource, load_model, stage_model

# Later training stages are evaluated when their folders exist (named by the training recipes).
LATER_STAGES = ("pref", "preference", "dpo", "orpo", "kto", "cpo", "simpo", "rl", "grpo")
UNTRAINED = ("base", "prompted")  # the rungs that are the base model itself


@dataclass
class ModelRun:
    label: str
    describe: str
    row: dict = field(default_factory=dict)  # perplexities
    answers: list[dict] = field(default_factory=list)  # {"q": index, "round": r, "answer": text}
    probes: list[str] = field(default_factory=list)
    bare_probes: list[str] = field(default_factory=list)  # answers to probes asked with no system message
    classifier_answers: list[str] = field(default_factory=list)
    seconds: dict = field(default_factory=dict)  # wall time of its perplexities and of its answers


def later_models(run_root, known: list[ModelSource]) -> list[ModelSource]:
    labels = {m.label for m in known}
    return [src for name in LATER_STAGES if name not in labels
            for src in [stage_model(run_root, name)] if src is not None]


class Prompter:
    """Builds each model's conversation for a question: plain, or with retrieved examples."""

    def __init__(self, persona: PersonaConfig, passages: list[str], examples: int):
        self.system = persona.prompt()
        self.passages = passages
        self.examples = examples
        self._retriever = None
        if passages and examples:
            from doppel.retrieval import Retriever

            self._retriever = Retriever(passages)

    def retrieve(self, question: str, k: int) -> list[str]:
        """The k passages most relevant to the question, topped up with evenly spread ones
        (examples of the voice help even when no passage shares a word with the question)."""
        if self._retriever is None or k <= 0:
            return []
        picked = [i for i, _ in self._retriever.top(question, k)]
        step = max(1, len(self.passages) // k)
        for i in range(0, len(self.passages), step):
            if len(picked) >= k:
                break
            if i not in picked:
                picked.append(i)
        return [self.passages[i] for i in picked]

    def plain(self, question: str) -> list[dict]:
        return [{"role": "system", "content": self.system}, {"role": "user", "content": question}]

    def prompted(self, question: str) -> list[dict]:
        shots = [" ".join(p.split()[:70]) for p in self.retrieve(question, self.examples)]
        if not shots:
            return self.plain(question)
        system = self.system + "\n\nThings you have said before, to show how you talk:\n" + \
            "\n".join(f"- {s}" for s in shots)
        return [{"role": "system", "content": system}, {"role": "user", "content": question}]


class HFModel:
    """A transformers model as a rung of the ladder (gguf_model.GGUFModel is the llama.cpp one)."""

    def __init__(self, model, tokenizer, cfg: EvalConfig):
        self.model, self.tokenizer, self.cfg = model, tokenizer, cfg

    def text_perplexity(self, texts: list[str]) -> float:
        return text_perplexity(self.model, self.tokenizer, texts, self.cfg.batch_size)["perplexity"]

    def answer_perplexity(self, conversations: list[list[dict]]) -> float:
        return answer_perplexity(self.model, self.tokenizer, conversations, self.cfg.batch_size)["perplexity"]

    def generate(self, conversations: list[list[dict]], seed: int) -> list[str]:
        return generate_answers(self.model, self.tokenizer, conversations, self.cfg.generation, seed,
                                self.cfg.batch_size)


def _more_rounds(model, convs: list[list[dict]], first: list[str], cfg: EvalConfig, seed: int) -> list[dict]:
    """The first round's answers, then further sampling rounds until the pool reaches
    `cfg.min_words` (at most `cfg.max_rounds` rounds in all)."""
    out = [{"q": i, "round": 0, "answer": a} for i, a in enumerate(first)]
    words = sum(len(a.split()) for a in first)
    for r in range(1, cfg.max_rounds):
        if words >= cfg.min_words or not convs:
            break
        replies = model.generate(convs, seed + 1000 * r)
        out += [{"q": i, "round": r, "answer": a} for i, a in enumerate(replies)]
        words += sum(len(a.split()) for a in replies)
    return out


def answer_rung(model, label: str, describe: str, build, cfg: EvalConfig, texts: list[str] | None,
                dialogues: list[list[dict]], questions: list[str], probes: list[Probe], seed: int,
                classifier_questions: list[str] = ()) -> ModelRun:
    """One rung on the held-out inputs: perplexities (of plain text unless `texts` is None),
    answers in sampling rounds, identity probe answers (with the rung's system message and, but
    for the prompted base, without any), answers to `classifier_questions`. `model` is an HFModel
    or a GGUFModel; `build` turns a question into the conversation that model is asked.

    The first round, the probes and the classifier questions are asked in one call, so batches
    are full: a batch of 4 costs about as much as one of 16 on a CPU (measured)."""
    run = ModelRun(label, describe)
    started = time.perf_counter()
    run.row["heldout_perplexity"] = None if texts is None else model.text_perplexity(texts)
    run.row["heldout_answer_perplexity"] = model.answer_perplexity(
        [build(d[-2]["content"]) + [d[-1]] for d in dialogues])
    run.seconds["perplexities"] = round(time.perf_counter() - started, 1)
    bare = bare_probe_set() if probes and label != "prompted" else []  # the prompted base unprompted is the base
    asks = {"answers": [build(q) for q in questions], "probes": [build(p.question) for p in probes],
            "bare": [[{"role": "user", "content": p.question}] for p in bare],
            "classifier": [build(q) for q in classifier_questions]}
    replies = model.generate([conv for convs in asks.values() for conv in convs], seed)
    got, start = {}, 0
    for key, convs in asks.items():
        got[key], start = replies[start:start + len(convs)], start + len(convs)
    run.answers = _more_rounds(model, asks["answers"], got["answers"], cfg, seed)
    run.probes, run.bare_probes, run.classifier_answers = got["probes"], got["bare"], got["classifier"]
    run.seconds["answers"] = round(time.perf_counter() - started - run.seconds["perplexities"], 1)
    return run


def answer_ladder(models: list[ModelSource], cfg: EvalConfig, prompter: Prompter, texts: list[str],
                  dialogues: list[list[dict]], questions: list[str], probes: list[Probe],
                  classifier_questions: list[str], device: str, seed: int,
                  progress=lambda label: None) -> list[ModelRun]:
    """Every model's perplexities and answers; the prompted baseline follows the base model."""
    runs: list[ModelRun] = []
    for src in models:
        progress(src.label)
        model = HFModel(*load_model(src, device=device, merge=True), cfg)
        variants = [(src.label, prompter.plain)]
        if src.label == "base" and cfg.prompted_baseline and prompter.examples:
            variants.append(("prompted", prompter.prompted))
        for label, build in variants:
            prompted = label == "prompted"
            # The prompt does not change the weights' score on plain text: the prompted row has none.
            run = answer_rung(model, label, src.describe() + (" + persona prompt with retrieved examples"
                                                               if prompted else ""),
                              build, cfg, None if prompted else texts, dialogues, questions, probes, seed,
                              classifier_questions if label in ("base", "prompted") else [])
            runs.append(run)
        del model
    return runs


def base_fluency(base: ModelSource, runs: list[ModelRun], questions: list[str], references: list[str],
                 prompter: Prompter, cfg: EvalConfig, device: str) -> float | None:
    """The untouched base model's perplexity of every trained rung's first-round answers (in each
    run's row: `base_perplexity_of_answers`, and `fluency_ratio` against the person); returns its
    perplexity of the person's own answers to the same questions.

    A fine-tune that sounds like the person but writes broken English scores far above the
    person here; a fluent one close to her. The base model's own answers, plain or prompted, are
    not scored: the base would be judging its own samples.
    """
    def convs(pairs):
        return [prompter.plain(questions[q]) + [{"role": "assistant", "content": a}] for q, a in pairs if a.strip()]

    model = HFModel(*load_model(base, device=device), cfg)
    person = model.answer_perplexity(convs(enumerate(references)))
    for run in runs:
        if run.label in UNTRAINED:
            continue
        answers = convs((a["q"], a["answer"]) for a in run.answers if a["round"] == 0)
        if answers:
            ppl = model.answer_perplexity(answers)
            run.row["base_perplexity_of_answers"] = ppl
            run.row["fluency_ratio"] = round(ppl / person, 4)
    del model
    return person
