"""The merged export loads with plain AutoModelForCausalLM, matches base+adapter and generates."""

import torch

from doppel.config import GenerationSettings, SFTConfig
from doppel.export.merge import merge_to_folder
from doppel.modeling.generation import generate_reply
from doppel.modeling.loading import load_model, stage_model, ModelSource
from doppel.modeling.tokenizer import IM_END
from doppel.train import sft
from doppel.train.env import TrainEnv
from tests.train.test_recipes import ANSWERS, sft_workspace


def test_merged_folder_matches_adapter_and_generates(tmp_path, tiny_model_dir):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=15, batch_size=4, learning_rate=1e-2, save_steps=100, seq_len=128)
    sft.run(cfg, ModelSource("base", str(tiny_model_dir)), TrainEnv("cpu", False, 0), ws, "k")
    src = stage_model(ws.root, "sft")
    info = merge_to_folder(src, tmp_path / "merged")
    assert info["dtype"] == "float32"

    merged = AutoModelForCausalLM.from_pretrained(tmp_path / "merged").eval()
    tok = AutoTokenizer.from_pretrained(tmp_path / "merged")
    peft_model, _ = load_model(src)
    ids = tok.apply_chat_template([{"role": "user", "content": "Question 1 about the sea?"}],
                                  add_generation_prompt=True, return_tensors="pt", return_dict=True)["input_ids"]
    in_memory, _ = load_model(src, merge=True)  # what evaluation generates with
    assert not hasattr(in_memory, "peft_config")
    with torch.no_grad():
        assert torch.allclose(merged(ids).logits, peft_model(ids).logits, atol=1e-4)
        assert torch.allclose(in_memory(ids).logits, peft_model(ids).logits, atol=1e-4)
    assert tok.convert_tokens_to_ids(IM_END) in merged.generation_config.eos_token_id

    greedy = GenerationSettings(do_sample=False, max_new_tokens=30, repetition_penalty=1.0)
    reply = generate_reply(merged, tok, [{"role": "system", "content": "You are Mara."},
                                         {"role": "user", "content": "Question 1 about the sea?"}], greedy)
    # The untrained model babbles; the merged one starts the way its training answers do.
    assert any(reply.split()[:2] == a.split()[:2] for a in ANSWERS), reply
