"""What SFT trains on: the synth stage's examples only while that stage is on (never stale ones),
and the persona's system prompt as the saved template's default."""

from __future__ import annotations

from doppel.config import SFTConfig
from doppel.modeling.loading import ModelSource, stage_model
from doppel.modeling.tokenizer import load_tokenizer
from doppel.records import Example, Message
from doppel.train import sft
from doppel.train.env import TrainEnv
from doppel.workspace import atomic_write_jsonl
from tests.train.test_recipes import sft_workspace

ENV = TrainEnv(device="cpu", bf16=False, seed=0)
CFG = SFTConfig(max_steps=2, batch_size=4, save_steps=100, seq_len=128)


def test_stale_synth_examples_are_not_trained_on_when_synth_is_off(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    atomic_write_jsonl(ws.data / "sft" / "synth.jsonl", [Example(id=f"s{i}", messages=[
        Message(role="user", content="Who are you?"), Message(role="assistant", content="I'm Mara Quell.")])
        for i in range(5)])
    off = sft.run(CFG, ModelSource("base", str(tiny_model_dir)), ENV, ws, "off", synth=False)
    on = sft.run(CFG, ModelSource("base", str(tiny_model_dir)), ENV, ws, "on", synth=True)
    assert off.summary["examples"] == 16 and on.summary["examples"] == 21


def test_the_saved_template_speaks_as_the_persona_without_a_system_message(tmp_path, tiny_model_dir):
    ws = sft_workspace(tmp_path)
    sft.run(CFG, ModelSource("base", str(tiny_model_dir)), ENV, ws, "k", system_prompt="You are Mara Quell.")
    tok = load_tokenizer(stage_model(ws.root, "sft").adapter)
    bare = tok.apply_chat_template([{"role": "user", "content": "Who are you?"}], tokenize=False,
                                   add_generation_prompt=True)
    assert bare.startswith("<|im_start|>system\nYou are Mara Quell.<|im_end|>")
