"""Chat templates on a base model without one: tokens added and trained, and the preflight."""

import pytest
import torch

from doppel.config import SFTConfig
from doppel.errors import UserError
from doppel.modeling.loading import ModelSource, load_model, stage_model
from doppel.modeling.templates import TEMPLATES, apply_template, check_same_template, preflight
from doppel.modeling.tokenizer import CHATML_TEMPLATE
from doppel.train import sft
from doppel.train.env import TrainEnv
from tests.conftest import SAMPLE_TEXT
from tests.train.test_recipes import sft_workspace

ENV = TrainEnv(device="cpu", bf16=False, seed=0)


@pytest.fixture(scope="module")
def plain_base(tmp_path_factory):
    """A base model whose tokenizer knows no chat format (like a pretrained base model)."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    from doppel.modeling.presets import build_model

    raw = Tokenizer(models.BPE())
    raw.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    raw.decoder = decoders.ByteLevel()
    raw.train_from_iterator(SAMPLE_TEXT, trainers.BpeTrainer(
        vocab_size=380, special_tokens=["<|endoftext|>"], initial_alphabet=pre_tokenizers.ByteLevel.alphabet()))
    tok = PreTrainedTokenizerFast(tokenizer_object=raw, eos_token="<|endoftext|>", pad_token="<|endoftext|>")
    folder = tmp_path_factory.mktemp("plain-base")
    build_model("tiny", tok, seed=0).save_pretrained(folder)
    tok.save_pretrained(folder)
    return folder


def end_of_turn_logprob(model, tok) -> float:
    """log p(<|im_end|>) right after a trained answer: high once the model has learned to stop."""
    text = tok.apply_chat_template([{"role": "system", "content": "You are Mara."},
                                    {"role": "user", "content": "Question 0 about the sea?"},
                                    {"role": "assistant", "content": "X"}], tokenize=False)
    prompt = text[: text.index("X")] + "Here's the thing: the tide comes in, the tide goes out."
    ids = tok(prompt, return_tensors="pt", add_special_tokens=False)["input_ids"]
    with torch.no_grad():
        logits = model(ids).logits[0, -1].float()
    return float(torch.log_softmax(logits, -1)[tok.convert_tokens_to_ids("<|im_end|>")])


def test_chatml_on_a_plain_base_adds_and_trains_its_tokens(tmp_path, plain_base):
    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=12, batch_size=4, learning_rate=1e-2, save_steps=100, seq_len=128)
    result = sft.run(cfg, ModelSource("base", str(plain_base)), ENV, ws, "k", template="chatml")
    assert result.summary["added_tokens"] == ["<|im_start|>", "<|im_end|>"]
    tuned, tok = load_model(stage_model(ws.root, "sft"))
    assert tok.chat_template == CHATML_TEMPLATE and tok.eos_token == "<|im_end|>"
    base, _ = load_model(ModelSource("b", str(plain_base)))
    torch.manual_seed(0)
    base.resize_token_embeddings(len(tok))  # the same new rows, untrained
    assert tuned.get_input_embeddings().weight.shape[0] == len(tok)
    assert end_of_turn_logprob(tuned, tok) > end_of_turn_logprob(base, tok) + 1.0


def test_preflight_catches_an_untrained_template_token(tmp_path, plain_base):
    ws = sft_workspace(tmp_path)
    cfg = SFTConfig(max_steps=2, save_steps=100, seq_len=128, train_new_tokens=False)
    with pytest.raises(UserError, match=r"template token '<\|im_end\|>' \(id \d+\) has an untrained embedding"):
        sft.run(cfg, ModelSource("base", str(plain_base)), ENV, ws, "k", template="chatml")
    assert not (ws.model_dir("sft") / "adapter").exists()  # failed before training


def test_preflight_catches_end_of_turn_outside_the_loss_mask(tokenizer):
    # a separate tokenizer object, so the session fixture's template stays intact
    tok = tokenizer.__class__(tokenizer_object=tokenizer.backend_tokenizer, eos_token="<|im_end|>",
                              pad_token="<|pad|>", additional_special_tokens=["<|im_start|>"])
    tok.chat_template = CHATML_TEMPLATE.replace(
        "{%- generation %}{{- message['content'] + '<|im_end|>' }}{%- endgeneration %}",
        "{%- generation %}{{- message['content'] }}{%- endgeneration %}{{- '<|im_end|>' }}")
    with pytest.raises(UserError, match="end-of-turn token '<\\|im_end\\|>' is outside the loss mask"):
        preflight(tok, [], [])
    tok.chat_template = CHATML_TEMPLATE
    preflight(tok, [], [])  # the shipped template passes


@pytest.mark.parametrize("name", ["llama3", "mistral"])
def test_other_templates_render_and_mask_answers_with_their_end_token(tokenizer, tiny_model_dir, name):
    from transformers import AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model_dir)
    model, _ = load_model(ModelSource("b", str(tiny_model_dir)))
    added = apply_template(tok, model, name)
    assert added and model.get_input_embeddings().weight.shape[0] == len(tok)
    msgs = [{"role": "system", "content": "Be Mara."}, {"role": "user", "content": "Why?"},
            {"role": "assistant", "content": "Because."}]
    enc = tok.apply_chat_template(msgs, return_dict=True, return_assistant_tokens_mask=True)
    masked = tok.decode([t for t, m in zip(enc["input_ids"], enc["assistant_masks"]) if m])
    assert masked.strip() == "Because." + TEMPLATES[name].end_of_turn
    assert "Be Mara." in tok.apply_chat_template(msgs, tokenize=False)
    preflight(tok, [], list(range(len(tok))))


def test_saved_template_must_match_training(tokenizer):
    check_same_template(tokenizer.chat_template, tokenizer)
    with pytest.raises(UserError, match="differs from the one used in training"):
        check_same_template(tokenizer.chat_template + " ", tokenizer)
