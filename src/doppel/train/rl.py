"""RL from style feedback: GRPO (TRL) on the SFT policy.

The SFT adapter is merged into its base in memory and a fresh LoRA adapter is trained on
top, so the KL penalty's reference (the adapter switched off) is the SFT policy itself.
The prompts are the training questions (data/sft/train.jsonl; held-out questions are never
used). A completion's reward is

    reward_model_weight * (reward model's score of question + answer)
  + likeness_weight * (probability that the person wrote the answer)

where the probability comes from the person-likeness classifier of `doppel.metrics.likeness`,
fitted here on the person's training answers in the reward half (`likeness_half`) against other
voices (the generic answers of the preference pairs and background text). That is deliberately
not the classifier the eval ladder reports (fitted on the other half, against the base model's
answers): a policy optimised against a scorer scores well on that very scorer, so grading it
with another fit keeps the ladder's person-likeness honest; the summary says what each was
fitted on. After training, the SFT policy (adapter off) and the RL policy answer the same
prompts with the same seeds; both mean rewards and the paired gain with its standard error
are reported. Saved like the preference stage: base + SFT adapter (merged) + RL adapter.
"""

from __future__ import annotations

import json

from doppel.config import GenerationSettings
from doppel.config.train import RLConfig
from doppel.errors import UserError
from doppel.metrics.likeness import REWARD, PersonClassifier, likeness_half
from doppel.modeling.identity import identity_of
from doppel.modeling.loading import ModelSource, load_model, write_meta
from doppel.modeling.tokenizer import end_of_turn_ids
from doppel.records import Document, Example, read_jsonl
from doppel.train.arguments import callbacks, trainer_kwargs
from doppel.train.checkpoints import checkpoint_dir
from doppel.train.env import TrainEnv
from doppel.train.lora import lora_config
from doppel.train.outputs import finish_training, save_trained
from doppel.train.running import run_training
from doppel.train.distributed import is_main
from doppel.workspace import StageResult, Workspace


def rl_prompts(ws: Workspace) -> list[list[dict]]:
    """Each distinct training conversation up to the person's answer (system + question)."""
    seen, out = set(), []
    for ex in read_jsonl(ws.data / "sft" / "train.jsonl", Example):
        if len(ex.messages) < 2 or ex.messages[-1].role != "assistant":
            continue
        prompt = [m.model_dump() for m in ex.messages[:-1]]
        key = json.dumps(prompt, sort_keys=True)
        if key not in seen:
            seen.add(key)
            out.append(prompt)
    return out


def person_answers(ws: Workspace) -> list[str]:
    """The person's training answers in the reward's half (the eval ladder's classifier learns from the other)."""
    return [ex.messages[-1].content for ex in read_jsonl(ws.data / "sft" / "train.jsonl", Example)
            if ex.messages and ex.messages[-1].role == "assistant" and likeness_half(ex.messages[-1].content) == REWARD]


def other_voices(ws: Workspace, rejected: list[str], limit: int = 400) -> list[str]:
    """Not the person: the generic answers of the preference pairs, then background paragraphs."""
    texts = [t for t in rejected if t.strip()][:limit]
    background = ws.corpus / "background.jsonl"
    if background.exists():
        for doc in read_jsonl(background, Document):
            if len(texts) >= limit:
                break
            texts += [p.strip() for p in doc.text.split("\n\n") if len(p.split()) >= 8]
    return texts[:limit]


def fit_likeness(person: list[str], other: list[str], seed: int) -> PersonClassifier:
    try:
        return PersonClassifier(seed=seed).fit(person, other)
    except ValueError as err:
        raise UserError(f"train.rl.likeness_weight > 0 but the person-likeness classifier cannot be fitted: "
                        f"{err} (person answers: {len(person)} in data/sft/train.jsonl's reward half; other voices: "
                        f"{len(other)} from data/pref/train.jsonl rejected answers and background sources). "
                        f"Add background sources or preference pairs, or set train.rl.likeness_weight: 0") from None


def _text(completion) -> str:
    if isinstance(completion, str):
        return completion
    return "".join(m.get("content") or "" for m in completion if m.get("role") == "assistant")


def _messages(prompt) -> list[dict]:
    return [{"role": "user", "content": prompt}] if isinstance(prompt, str) else list(prompt)


class StyleReward:
    """The GRPO reward: weighted reward-model score plus person-likeness probability."""

    def __init__(self, reward_model=None, likeness: PersonClassifier | None = None,
                 reward_model_weight: float = 1.0, likeness_weight: float = 1.0):
        if reward_model_weight and reward_model is None:
            raise ValueError("reward_model_weight > 0 needs a reward model")
        if likeness_weight and likeness is None:
            raise ValueError("likeness_weight > 0 needs a person-likeness classifier")
        self.reward_model, self.likeness = reward_model, likeness
        self.weights = {"reward_model": reward_model_weight, "likeness": likeness_weight}
        self.__name__ = "style"  # TRL names each reward function in its logs

    def components(self, prompts: list, completions: list) -> dict[str, list[float]]:
        texts = [_text(c) for c in completions]
        out: dict[str, list[float]] = {}
        if self.weights["reward_model"]:
            convs = [[*_messages(p), {"role": "assistant", "content": t}] for p, t in zip(prompts, texts)]
            out["reward_model"] = self.reward_model.score(convs)
        if self.weights["likeness"]:
            out["likeness"] = self.likeness.proba(texts)
        return out

    def combine(self, parts: dict[str, list[float]]) -> list[float]:
        n = len(next(iter(parts.values())))
        return [sum(self.weights[k] * v[i] for k, v in parts.items()) for i in range(n)]

    def __call__(self, prompts: list, completions: list, log_metric=None, **_) -> list[float]:
        parts = self.components(prompts, completions)
        if log_metric is not None:
            for name, values in parts.items():
                log_metric(name, sum(values) / len(values))
        return self.combine(parts)


def sample_answer(model, tokenizer, prompt: list[dict], cfg: RLConfig, seed: int) -> str:
    """One answer sampled the way GRPO samples in training (whole vocabulary, `temperature`)."""
    import torch

    from doppel.modeling.generation import generation_kwargs

    settings = GenerationSettings(max_new_tokens=cfg.max_completion_length, do_sample=True,
                                  temperature=cfg.temperature, top_p=1.0, repetition_penalty=1.0)
    enc = tokenizer.apply_chat_template(prompt, add_generation_prompt=True, return_tensors="pt", return_dict=True)
    enc = {k: v.to(model.device) for k, v in enc.items()}
    torch.manual_seed(seed)
    with torch.no_grad():
        out = model.generate(**enc, **generation_kwargs(tokenizer, settings), top_k=0)
    return tokenizer.decode(out[0, enc["input_ids"].shape[1]:], skip_special_tokens=True).strip()


def _mean_std(values: list[float]) -> tuple[float, float]:
    mean = sum(values) / len(values)
    return mean, (sum((v - mean) ** 2 for v in values) / max(1, len(values) - 1)) ** 0.5


def measure(model, tokenizer, prompts: list[list[dict]], reward: StyleReward, cfg: RLConfig,
            seed: int) -> tuple[dict, list[float]]:
    """Mean reward (and its parts) of one sampled answer per prompt, each with its own fixed seed;
    also every answer's reward."""
    answers = [sample_answer(model, tokenizer, p, cfg, seed + i) for i, p in enumerate(prompts)]
    parts = reward.components(prompts, answers)
    total = reward.combine(parts)
    mean, spread = _mean_std(total)
    return ({"reward": round(mean, 4), "reward_std": round(spread, 4),
             **{k: round(sum(v) / len(v), 4) for k, v in parts.items()}}, total)


def reward_gain(before: list[float], after: list[float]) -> dict:
    """The mean gain over paired answers (same prompt, same seed) and its standard error."""
    diffs = [a - b for a, b in zip(after, before)]
    mean, spread = _mean_std(diffs)
    return {"gain": round(mean, 4), "standard_error": round(spread / len(diffs) ** 0.5, 4)}


def _build_reward(cfg: RLConfig, ws: Workspace, env: TrainEnv) -> tuple[StyleReward, dict]:
    from doppel.records import PreferencePair
    from doppel.train.reward import load_reward_model

    info: dict = {}
    scorer = None
    if cfg.reward_model_weight:
        try:
            scorer = load_reward_model(ws.root, env.device)
        except UserError as err:
            raise UserError(f"{err} (train.rl.reward_model_weight > 0 needs it; or set it to 0 to reward "
                            f"person-likeness alone)") from None
    clf = None
    if cfg.likeness_weight:
        pref = ws.data / "pref" / "train.jsonl"
        rejected = [p.rejected for p in read_jsonl(pref, PreferencePair)] if pref.exists() else []
        clf = fit_likeness(person_answers(ws), other_voices(ws, rejected), env.seed)
        info["likeness_classifier_cv_auc"] = clf.cv_auc
        info["likeness_classifier"] = {
            "person": clf.n_person, "other": clf.n_other, "seed": env.seed,
            "person_from": f"data/sft/train.jsonl, answers in the '{REWARD}' half",
            "other_from": ["data/pref/train.jsonl rejected answers", "background sources"],
            "differs_from_ladder": "deliberately: the eval ladder's classifier (eval/likeness/) is fitted on the "
                                   "other half of the answers, against the base model's answers, so the policy "
                                   "is not graded by the scorer it was optimised against"}
    return StyleReward(scorer, clf, cfg.reward_model_weight, cfg.likeness_weight), info


def _logged(history: list[dict], key: str) -> list[float]:
    return [h[key] for h in history if key in h and "train_runtime" not in h]


def run(cfg: RLConfig, sft: ModelSource, env: TrainEnv, ws: Workspace, run_key: str) -> StageResult:
    from datasets import Dataset
    from peft import get_peft_model
    from trl import GRPOConfig, GRPOTrainer

    prompts = rl_prompts(ws)
    if not prompts:
        raise UserError(f"train.rl is enabled but {ws.data / 'sft' / 'train.jsonl'} has no questions with "
                        f"answers; run the build stage first ('doppel build CONFIG')")
    reward, info = _build_reward(cfg, ws, env)
    stage_dir = ws.model_dir("rl")
    model, tokenizer = load_model(sft, device=env.device, dtype="float32", trainable=True)
    if sft.adapter:
        model = model.merge_and_unload()  # so the adapter switched off is the SFT policy: the KL reference
    model.generation_config.eos_token_id = end_of_turn_ids(tokenizer)
    model = get_peft_model(model, lora_config(cfg.lora, model=model))

    ckpt, resume_from = checkpoint_dir(stage_dir, run_key, env.resume)
    args = GRPOConfig(output_dir=str(ckpt), num_generations=cfg.num_generations,
                      max_completion_length=cfg.max_completion_length, temperature=cfg.temperature, top_p=1.0,
                      beta=cfg.beta, **trainer_kwargs(cfg, env))
    trainer = GRPOTrainer(model=model, reward_funcs=[reward], args=args,
                          train_dataset=Dataset.from_list([{"prompt": p} for p in prompts]),
                          processing_class=tokenizer, callbacks=callbacks(cfg, stage_dir))
    processes = run_training(trainer, resume_from, "rl")

    measured: dict = {}
    if cfg.measure_answers:
        policy = trainer.model.eval()
        # With fewer questions than that, they are cycled: each answer is sampled with its own seed.
        picked = [prompts[i % len(prompts)] for i in range(cfg.measure_answers)]
        with policy.disable_adapter():
            measured["sft_policy"], before = measure(policy, tokenizer, picked, reward, cfg, env.seed)
        measured["rl_policy"], after = measure(policy, tokenizer, picked, reward, cfg, env.seed)
        measured["reward_gain"] = reward_gain(before, after)
    save_trained(trainer, tokenizer, stage_dir / "adapter", identity_of(sft.path))
    history = trainer.state.log_history
    summary = finish_training(trainer.state, stage_dir, resume_from)
    summary.update(processes)
    rewards, kl = _logged(history, "reward"), _logged(history, "kl")
    summary.update(method="grpo", prompts=len(prompts), base=sft.describe(), **info,
                   first_reward=rewards[0] if rewards else None, last_reward=rewards[-1] if rewards else None,
                   last_kl=kl[-1] if kl else None, measured_answers=cfg.measure_answers,
                   reward_before=measured.get("sft_policy", {}).get("reward"),
                   reward_after=measured.get("rl_policy", {}).get("reward"), measured=measured)
    if is_main():
        write_meta(stage_dir, ws.root, "adapter", "adapter", sft.path,
                   pre_adapters=[sft.adapter] if sft.adapter else [], method="grpo")
    return StageResult(summary, [stage_dir / "adapter", stage_dir / "meta.json"])
