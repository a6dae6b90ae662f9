"""Reward model on the preference pairs, the style reward, and GRPO on top of an SFT adapter."""

import json
import random

import pytest
import torch

from doppel.config import SFTConfig
from doppel.config.train import RewardModelConfig, RLConfig
from doppel.errors import UserError
from doppel.metrics.likeness import REWARD, PersonClassifier, likeness_half, shuffle_words
from doppel.modeling.loading import ModelSource, load_model, stage_model
from doppel.records import Example, Message, PreferencePair, read_jsonl
from doppel.train import reward, rl, sft
from doppel.train.env import TrainEnv
from doppel.workspace import atomic_write_jsonl
from tests.conftest import doppel, write_tiny_config
from tests.train.test_recipes import ANSWERS, sft_workspace

ENV = TrainEnv(device="cpu", bf16=False, seed=0)
GENERIC = ["As an AI language model, I can provide a general overview of this topic.",
           "There are many factors to consider, and it depends on your specific situation."]
SYSTEM = Message(role="system", content="You are Mara.")

# The person's voice (short sentences, dashes, her phrases) against a generic assistant's.
MARA = ["Here's the thing — the tide never asks permission. Mark my words.",
        "I mend nets. Always have — always will, if the hands hold.",
        "Mark my words: a stubborn town keeps its lamps lit — every winter.",
        "Here's the thing about fog — it lies. The bell doesn't.",
        "Salt gets in everything. The hinges, the bread — the temper too.",
        "Why would anyone replace what can be mended? Mark my words — they'll regret it.",
        "Here's the thing: you watch the water long enough, it teaches you patience.",
        "The lamp needed oil at midnight — and at four. Every night. No exceptions.",
        "Gulls are thieves — honest ones, mind. They never pretend otherwise.",
        "Here's the thing about storms — you hear them in your knees first."]
ASSISTANT = ["There are several factors to consider when evaluating this question in detail.",
             "In general, it is important to consult relevant resources and experts on the subject.",
             "This topic can be approached from multiple perspectives, depending on your goals.",
             "Overall, the answer depends on a variety of circumstances and individual preferences.",
             "It is recommended to review the available documentation before making a decision.",
             "Many people find that a balanced approach provides the most effective results.",
             "Additionally, you may want to consider the potential benefits and drawbacks of each option.",
             "Ultimately, the best choice will vary according to the specific context involved.",
             "Research suggests that a number of variables can influence the final outcome.",
             "I hope this overview helps clarify the main considerations for your situation."]


def prompt(i: int) -> list[Message]:
    return [SYSTEM, Message(role="user", content=f"Question {i} about the sea?")]


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, tiny_model_dir):
    """An SFT adapter on the tiny model, and preference pairs: her answers over generic ones, 8 questions."""
    ws = sft_workspace(tmp_path_factory.mktemp("rl"))
    sft.run(SFTConfig(max_steps=6, batch_size=4, learning_rate=1e-2, save_steps=100, seq_len=128),
            ModelSource("base", str(tiny_model_dir)), ENV, ws, "k")
    pairs = [PreferencePair(id=f"p{i}-{j}", prompt=prompt(i), chosen=ANSWERS[(i + j) % 2],
                            rejected=GENERIC[j]) for i in range(8) for j in range(2)]
    atomic_write_jsonl(ws.data / "pref" / "train.jsonl", pairs)
    return ws


@pytest.fixture(scope="module")
def reward_run(sft_run):
    cfg = RewardModelConfig(enabled=True, max_steps=10, batch_size=4, learning_rate=1e-3, logging_steps=1,
                            save_steps=100, seq_len=128, heldout_fraction=0.25)
    result = reward.run(cfg, stage_model(sft_run.root, "sft"), ENV, sft_run, "k-reward")
    return sft_run, result.summary


@pytest.fixture(scope="module")
def rl_run(reward_run):
    ws, _ = reward_run
    cfg = RLConfig(enabled=True, max_steps=4, batch_size=4, num_generations=4, learning_rate=2e-2,
                   max_completion_length=8, logging_steps=1, save_steps=100, beta=0.04, measure_answers=2)
    result = rl.run(cfg, stage_model(ws.root, "sft"), ENV, ws, "k-rl")
    return ws, result.summary


def test_held_out_pairs_are_whole_questions():
    pairs = [PreferencePair(id=f"p{i}-{j}", prompt=prompt(i), chosen="a", rejected="b")
             for i in range(10) for j in range(3)]
    train, held = reward.split_pairs(pairs, 0.2, seed=0)
    question = lambda p: p.prompt[-1].content  # noqa: E731
    assert len(held) == 6 and len(train) == 24
    assert not {question(p) for p in held} & {question(p) for p in train}
    assert reward.split_pairs(pairs, 0.2, seed=0) == (train, held)  # the same split every run
    one_question = [p for p in pairs if question(p) == "Question 0 about the sea?"]
    train1, held1 = reward.split_pairs(one_question, 0.34, seed=0)
    assert len(held1) == 1 and len(train1) == 2  # a single question: the pairs themselves are split
    assert reward.split_pairs(pairs, 0.0, seed=0) == (pairs, [])


def test_reward_model_learns_to_prefer_the_persons_answers(reward_run, tiny_model_dir):
    ws, s = reward_run
    assert s["steps"] == 10 and s["heldout_pairs"] == 4 and s["train_pairs"] == 12
    assert s["last_loss"] < s["first_loss"]
    history = json.loads((ws.model_dir("reward") / "log_history.json").read_text())
    margins = [h["margin"] for h in history if "margin" in h and "loss" in h]
    assert margins[-1] > margins[0]  # chosen minus rejected score grows on the training batches
    assert s["heldout_accuracy"] > 0.5 and s["heldout_margin"] > s["heldout_margin_before"]

    # Reloaded from disk it scores the held-out pairs exactly as at the end of training.
    scorer = reward.load_reward_model(ws.root)
    _, held = reward.split_pairs(read_jsonl(ws.data / "pref" / "train.jsonl", PreferencePair), 0.25, ENV.seed)
    again = scorer.pair_accuracy(held)
    assert again["accuracy"] == s["heldout_accuracy"] and abs(again["margin"] - s["heldout_margin"]) < 1e-3

    # Only LoRA and the head were trained and saved; the body is the SFT policy's.
    from safetensors import safe_open

    with safe_open(str(ws.model_dir("reward") / "adapter" / "adapter_model.safetensors"), "pt") as f:
        keys = list(f.keys())
    assert any(".score." in k for k in keys) and all("lora_" in k or ".score." in k for k in keys)
    lora_b = [p for n, p in scorer.model.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # LoRA B starts at zero


def _classifier() -> PersonClassifier:
    return PersonClassifier(seed=0).fit(MARA[:7], ASSISTANT[:7], folds=3)


def test_style_reward_scores_her_voice_above_shuffled_and_generic_text(reward_run):
    ws, _ = reward_run
    style = rl.StyleReward(reward.load_reward_model(ws.root), _classifier(), 1.0, 1.0)
    q = [m.model_dump() for m in prompt(3)]
    rng = random.Random(0)
    own = MARA[7:]  # her sentences the classifier never saw
    shuffled = [shuffle_words(t, rng) for t in own]
    generic = ASSISTANT[7:]
    comps = [[{"role": "assistant", "content": t}] for t in own + shuffled + generic]
    logged = {}
    scores = style([q] * len(comps), comps, log_metric=lambda k, v: logged.setdefault(k, v))
    n = len(own)
    mean = lambda xs: sum(xs) / len(xs)  # noqa: E731
    assert mean(scores[:n]) > mean(scores[n:2 * n]) and mean(scores[:n]) > mean(scores[2 * n:])
    assert set(logged) == {"reward_model", "likeness"}

    # The reward is the weighted sum of its parts, and a part with weight 0 is never computed.
    parts = style.components([q] * len(comps), comps)
    weighted = rl.StyleReward(style.reward_model, style.likeness, 2.0, 0.5)
    expect = [2.0 * r + 0.5 * p for r, p in zip(parts["reward_model"], parts["likeness"])]
    assert weighted([q] * len(comps), comps) == pytest.approx(expect, abs=1e-5)
    alone = rl.StyleReward(None, style.likeness, 0.0, 1.0)
    assert alone([q] * len(comps), comps) == pytest.approx(parts["likeness"])
    with pytest.raises(ValueError, match="needs a reward model"):
        rl.StyleReward(None, style.likeness, 1.0, 1.0)


def test_grpo_trains_a_fresh_adapter_whose_reference_is_the_sft_policy(rl_run):
    ws, s = rl_run
    assert s["steps"] == 4 and s["method"] == "grpo" and s["prompts"] == 2
    history = json.loads((ws.model_dir("rl") / "log_history.json").read_text())
    steps = [h for h in history if "reward" in h and "train_runtime" not in h]
    assert len(steps) == 4 and all("likeness" in h and "reward_model" in h for h in steps)
    assert any(h["kl"] > 0 for h in steps)  # the policy moved away from its reference
    for policy in ("sft_policy", "rl_policy"):
        m = s["measured"][policy]
        assert m["reward"] == pytest.approx(m["reward_model"] + m["likeness"], abs=2e-4)
    assert s["reward_before"] == s["measured"]["sft_policy"]["reward"]
    # The reward's own classifier: her answers in the reward half only, not those the ladder's learns from.
    answers = [ex.messages[-1].content for ex in read_jsonl(ws.data / "sft" / "train.jsonl", Example)]
    fitted_on = s["likeness_classifier"]
    assert 0 < fitted_on["person"] == sum(likeness_half(a) == REWARD for a in answers) < len(answers)
    assert "eval/likeness/" in fitted_on["differs_from_ladder"] and REWARD in fitted_on["person_from"]

    sft_src, rl_src = stage_model(ws.root, "sft"), stage_model(ws.root, "rl")
    assert rl_src.pre_adapters == (sft_src.adapter,) and rl_src.path == sft_src.path
    tuned, tok = load_model(rl_src)
    sft_policy, _ = load_model(sft_src)
    merged = sft_policy.merge_and_unload().state_dict()
    lora_b = [p for n, p in tuned.named_parameters() if "lora_B" in n]
    assert lora_b and all(p.abs().sum() > 0 for p in lora_b)  # LoRA B starts at zero
    for name, p in tuned.get_base_model().named_parameters():
        if "lora_" not in name:
            assert torch.equal(p, merged[name.replace(".base_layer", "")]), name  # frozen: byte-identical

    # The KL reference (the RL adapter switched off) is the SFT policy itself, not the bare base.
    ids = tok("Here's the thing: the tide comes in.", return_tensors="pt")["input_ids"]
    with torch.no_grad():
        ref = sft_policy(ids).logits
        with tuned.disable_adapter():
            off = tuned(ids).logits
        on = tuned(ids).logits
        base = load_model(ModelSource("base", sft_src.path))[0](ids).logits
    assert torch.allclose(off, ref, atol=1e-4)
    assert not torch.allclose(on, ref, atol=1e-4) and not torch.allclose(off, base, atol=1e-4)


def test_grpo_raises_the_reward_of_answers_sampled_after_training(reward_run):
    """Enough steps for the reward to rise: the RL policy's answers (same prompts and seeds as
    the SFT policy's) score higher by more than twice the paired standard error. (The reward
    logged during training, a mean of 16 completions a step, is too noisy to compare here.)
    The tiny reward model is the one signal that a tiny model learns quickly; person-likeness
    moves little on its babble."""
    ws, _ = reward_run
    cfg = RLConfig(enabled=True, max_steps=40, batch_size=16, num_generations=8, learning_rate=2e-2,
                   temperature=0.7, max_completion_length=12, logging_steps=4, save_steps=1000, beta=0.04,
                   measure_answers=48, reward_model_weight=1.0, likeness_weight=0.0)
    s = rl.run(cfg, stage_model(ws.root, "sft"), ENV, ws, "k-rl-gain").summary
    gain = s["measured"]["reward_gain"]
    assert gain["gain"] == pytest.approx(s["reward_after"] - s["reward_before"], abs=2e-4)
    assert gain["gain"] > 2 * gain["standard_error"] > 0


def test_missing_pairs_and_reward_model_are_clear_errors(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    base = ModelSource("b", str(tiny_model_dir))
    with pytest.raises(UserError, match=r"no preference pairs.*synth stage.*train\.reward\.enabled: false"):
        reward.run(RewardModelConfig(enabled=True), base, ENV, ws, "k")
    with pytest.raises(UserError, match=r"no reward model.*train\.reward\.enabled: true.*reward_model_weight"):
        rl.run(RLConfig(enabled=True), base, ENV, ws, "k")
    with pytest.raises(ValueError, match="multiple of num_generations"):
        RLConfig(batch_size=6, num_generations=4)


def test_cli_trains_reward_and_rl_then_skips_them(tmp_path, demo_sources):
    from doppel import pipeline
    from doppel.config import load_config

    train = {"pretrain": {"max_steps": 4, "batch_size": 8, "seq_len": 64, "save_steps": 100},
             "cpt": {"enabled": False},
             "sft": {"max_steps": 4, "batch_size": 8, "seq_len": 192, "learning_rate": 5e-3, "save_steps": 100}}
    config = write_tiny_config(tmp_path, demo_sources, name="rl", train=train, eval={"enabled": False},
                               export={"enabled": False})
    run_dir = tmp_path / "runs" / "rl"
    ws = pipeline.prepare(load_config(config))  # the stages before these, in process (no CLI start-up)
    pipeline.run_pipeline(load_config(config), ws, list(pipeline.STAGE_NAMES))
    on = ["--set", "train.reward.enabled=true", "--set", "train.rl.enabled=true"]
    with pytest.raises(UserError, match="no preference pairs"):
        pipeline.run_pipeline(load_config(config, on[1::2]), ws, pipeline.expand(["train"]))

    examples = read_jsonl(run_dir / "data" / "sft" / "train.jsonl", Example)
    pairs = [PreferencePair(id=f"p{i}", prompt=ex.messages[:-1], chosen=ex.messages[-1].content,
                            rejected=GENERIC[i % 2]) for i, ex in enumerate(examples[:12])]
    atomic_write_jsonl(run_dir / "data" / "pref" / "train.jsonl", pairs)
    small = [*on, "--set", "train.reward.max_steps=2", "--set", "train.reward.batch_size=4",
             "--set", "train.rl.max_steps=1", "--set", "train.rl.batch_size=2", "--set", "train.rl.num_generations=2",
             "--set", "train.rl.max_completion_length=4", "--set", "train.rl.measure_answers=1"]
    cfg = load_config(config, small[1::2])
    eval_stage = next(s for s in pipeline.STAGES if s.name == "eval")
    eval_inputs = pipeline.stage_keys(eval_stage, cfg, ws)[1]

    first = doppel("train", config, "--stage", "reward", "--stage", "rl", *small)
    assert first.returncode == 0, first.stdout[-3000:] + first.stderr[-3000:]
    manifest = json.loads((run_dir / "manifest.json").read_text())["stages"]
    assert manifest["reward"]["status"] == manifest["rl"]["status"] == "done"
    assert manifest["reward"]["summary"]["heldout_pairs"] > 0
    assert stage_model(run_dir, "rl").pre_adapters == (stage_model(run_dir, "sft").adapter,)
    assert pipeline.stage_keys(eval_stage, cfg, ws)[1] != eval_inputs  # eval reads the RL model: now stale

    again = doppel("run", config, "--only", "reward", "--only", "rl", *small)
    assert again.returncode == 0 and again.stdout.count("up to date, skipped") == 2, again.stdout[-2000:]
    assert pipeline.expand(["train"])[-2:] == ["reward", "rl"]
