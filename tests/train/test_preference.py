"""Preference tuning (DPO, CPO, SimPO, ORPO, KTO) on top of an SFT adapter."""

import json

import pytest
import torch

from doppel.config import PreferenceConfig, SFTConfig
from doppel.modeling.loading import ModelSource, load_model, stage_model
from doppel.records import Message, PreferencePair
from doppel.train import preference, sft
from doppel.train.env import TrainEnv
from doppel.workspace import atomic_write_jsonl
from tests.train.test_recipes import ANSWERS, sft_workspace

ENV = TrainEnv(device="cpu", bf16=False, seed=0)
# Both answers are ones the SFT model learned; the preference data asks for the first one
# where SFT learned the second, so the margin starts against the chosen answer.
CHOSEN, REJECTED = ANSWERS


@pytest.fixture(scope="module")
def sft_run(tmp_path_factory, tiny_base):
    ws = sft_workspace(tmp_path_factory.mktemp("pref"))
    sft.run(SFTConfig(max_steps=6, batch_size=4, learning_rate=1e-2, save_steps=100, seq_len=128),
            ModelSource("base", str(tiny_base)), ENV, ws, "k")
    pairs = [PreferencePair(id=f"p{i}", prompt=[Message(role="system", content="You are Mara."),
                                                Message(role="user", content="Question 1 about the sea?")],
                            chosen=CHOSEN, rejected=REJECTED) for i in range(8)]
    atomic_write_jsonl(ws.data / "pref" / "train.jsonl", pairs)
    return ws


def margin(model, tok) -> float:
    """log p(chosen) - log p(rejected) for one prompt."""
    prompt = tok.apply_chat_template([{"role": "system", "content": "You are Mara."},
                                      {"role": "user", "content": "Question 1 about the sea?"}],
                                     add_generation_prompt=True, tokenize=False)
    scores = []
    for answer in (CHOSEN, REJECTED):
        ids = tok(prompt + answer, return_tensors="pt", add_special_tokens=False)["input_ids"]
        n = len(tok(prompt, add_special_tokens=False)["input_ids"])
        with torch.no_grad():
            logp = torch.log_softmax(model(ids).logits[0, :-1].float(), -1)
        scores.append(logp[torch.arange(n - 1, ids.shape[1] - 1), ids[0, n:]].sum().item())
    return scores[0] - scores[1]


@pytest.mark.parametrize("method", ["dpo", "cpo", "simpo", "orpo", "kto"])
def test_preference_method_moves_towards_chosen(sft_run, method, tmp_path):
    ws = sft_run
    sft_src = stage_model(ws.root, "sft")
    cfg = PreferenceConfig(enabled=True, method=method, max_steps=12, batch_size=4, learning_rate=5e-3,
                           logging_steps=1, save_steps=100, seq_len=128)
    result = preference.run(cfg, sft_src, ENV, ws, f"k-{method}")
    assert result.summary["steps"] == 12
    history = json.loads((ws.model_dir("pref") / "log_history.json").read_text())
    losses = [h["loss"] for h in history if "loss" in h]
    assert sum(losses[-3:]) < sum(losses[:3])  # steps are noisy on 8 pairs: compare 3-step means
    tuned_src = stage_model(ws.root, "pref")
    assert tuned_src.pre_adapters == (sft_src.adapter,) and tuned_src.path == sft_src.path
    tuned, tok = load_model(tuned_src)
    before, _ = load_model(sft_src)
    assert margin(tuned, tok) > margin(before, tok)  # the chosen answer gained on the rejected one


def test_enabled_without_pairs_is_a_clear_error(tmp_path, tiny_model_dir):
    from doppel.errors import UserError

    ws = sft_workspace(tmp_path)
    with pytest.raises(UserError, match="no preference pairs"):
        preference.run(PreferenceConfig(enabled=True), ModelSource("b", str(tiny_model_dir)), ENV, ws, "k")
