"""The chat-format rules on the bundled SmolLM2 (a real template without generation markers)
and on small tokenizers: the loss mask, the persona's default system prompt, padding."""

from __future__ import annotations

import copy

import pytest
import torch

from doppel.errors import UserError
from doppel.modeling import templates as T

PERSONA = "You are Mara Quell. A retired lighthouse keeper — she says \"mark my words\"\nand 'aye'."
CONV = [{"role": "system", "content": "You are Mara Quell."},
        {"role": "user", "content": "Where did you grow up?"},
        {"role": "assistant", "content": "By the sea — café au lait, 東京 once, 1987. Mark my words 😀"},
        {"role": "user", "content": "And then?"},
        {"role": "assistant", "content": "Then the lamp.\nTwo lines."}]


def fresh(tokenizer):
    return copy.deepcopy(tokenizer)


def test_real_template_mask_covers_exactly_each_answer_and_its_end_token(smollm2):
    _, tok = smollm2
    assert not T.has_generation_markers(tok.chat_template)
    assert T.end_of_turn(tok) == "<|im_end|>"
    assert T.masked_texts(tok, CONV) == [CONV[2]["content"] + "<|im_end|>", CONV[4]["content"] + "<|im_end|>"]
    ids, _ = T.assistant_mask(tok, CONV)
    assert ids == list(tok.apply_chat_template(CONV, tokenize=True, return_dict=True)["input_ids"])
    assert T.mask_problems(tok, CONV) == []


def test_marker_templates_and_the_general_method_agree(tokenizer):
    """Doppel's ChatML has markers; the same template without them gives the same mask."""
    tok = fresh(tokenizer)
    marked = T.assistant_mask(tok, CONV)
    from doppel.modeling.tokenizer import inference_template

    tok.chat_template = inference_template(tokenizer.chat_template)
    assert not T.has_generation_markers(tok.chat_template)
    assert T.assistant_mask(tok, CONV) == marked


def test_mask_problems_names_a_template_that_hides_the_end_token(tokenizer):
    tok = fresh(tokenizer)
    from doppel.modeling.tokenizer import inference_template

    # The answer's end token is written by the user turn's branch only: the answer has none.
    tok.chat_template = inference_template(tokenizer.chat_template).replace(
        "message['content'] + '<|im_end|>' }}{{- '\\n' }}", "message['content'] }}{{- '\\n' }}")
    problems = T.mask_problems(tok)
    assert problems and "outside the loss mask" in problems[0]


def test_persona_default_replaces_the_templates_own_system_prompt(smollm2):
    _, tok = smollm2
    tok = fresh(tok)
    plain = tok.apply_chat_template([{"role": "user", "content": "Who are you?"}], tokenize=False)
    assert "SmolLM" in plain  # the trap: the template's own default speaks for the model
    tok.chat_template = T.with_persona_default(tok.chat_template, PERSONA)
    bare = tok.apply_chat_template([{"role": "user", "content": "Who are you?"}], tokenize=False,
                                   add_generation_prompt=True)
    told = tok.apply_chat_template([{"role": "system", "content": PERSONA}, {"role": "user", "content": "Who are you?"}],
                                   tokenize=False, add_generation_prompt=True)
    assert "SmolLM" not in bare and bare == told
    own = tok.apply_chat_template([{"role": "system", "content": "Be brief."}, {"role": "user", "content": "Hi"}],
                                  tokenize=False)
    assert "Be brief." in own and "Mara" not in own  # a user's own system message is kept
    # applying it again replaces the old default instead of stacking a second one
    again = T.with_persona_default(tok.chat_template, "You are Jane.")
    assert again.count(T.PERSONA_BEGIN) == 1 and "Jane" in again and "Mara" not in again
    assert T.mask_problems(tok) == []


def test_persona_default_renders_the_same_in_llama_cpps_python_formatter(smollm2):
    """llama-cpp-python renders a GGUF's stored template with its own Jinja formatter."""
    from llama_cpp.llama_chat_format import Jinja2ChatFormatter

    _, tok = smollm2
    template = T.with_persona_default(tok.chat_template, PERSONA)
    fmt = Jinja2ChatFormatter(template=template, eos_token="<|im_end|>", bos_token="<|im_start|>")
    got = fmt(messages=[{"role": "user", "content": "Who are you?"}]).prompt
    tok = fresh(tok)
    tok.chat_template = template
    assert got == tok.apply_chat_template([{"role": "user", "content": "Who are you?"}], tokenize=False,
                                          add_generation_prompt=True)


def test_a_base_without_a_pad_token_gets_an_existing_one(smollm2):
    _, tok = smollm2
    tok = fresh(tok)
    size = len(tok)
    tok.pad_token = None
    assert tok.pad_token is None
    picked = T.ensure_pad(tok)
    assert picked == tok.pad_token and tok.pad_token_id is not None and len(tok) == size
    assert T.ensure_pad(tok) is None  # already has one: unchanged


def test_choose_template_keeps_a_real_models_own_format(smollm2):
    model, tok = smollm2
    tok = fresh(tok)
    own = tok.chat_template
    assert T.choose_template(tok, model, "auto") == [] and tok.chat_template == own
    assert tok.pad_token is not None


def test_a_template_that_rewrites_earlier_turns_is_refused_clearly(tokenizer):
    tok = fresh(tokenizer)
    # Earlier answers rendered differently from the last one (like reasoning templates that
    # strip old thoughts): the general method cannot find the turns' tokens.
    tok.chat_template = ("{%- for m in messages %}{{ '<|im_start|>' + m['role'] + '\\n' }}"
                         "{%- if m['role'] == 'assistant' and not loop.last %}[old]{% else %}{{ m['content'] }}"
                         "{% endif %}{{ '<|im_end|>\\n' }}{%- endfor %}"
                         "{%- if add_generation_prompt %}{{ '<|im_start|>assistant\\n' }}{% endif %}")
    with pytest.raises(UserError, match="not prefix-stable"):
        T.assistant_mask(tok, CONV)


def test_a_lora_step_on_the_real_model_lowers_the_loss(smollm2):
    from peft import LoraConfig, get_peft_model

    from doppel.train.packing import PackedCollator, packed_dataset

    base, tok = smollm2
    before = base.model.layers[0].self_attn.q_proj.weight.detach().clone()
    model = get_peft_model(copy.deepcopy(base), LoraConfig(r=8, lora_alpha=16, target_modules="all-linear",
                                                           task_type="CAUSAL_LM"))
    rows, stats = packed_dataset([CONV] * 4, tok, 256)
    assert stats["loss_tokens"] > 0
    batch = PackedCollator(tok.pad_token_id)(rows)
    opt = torch.optim.AdamW([p for p in model.parameters() if p.requires_grad], lr=2e-3)
    model.train()
    losses = []
    for _ in range(4):
        loss = model(**batch).loss
        losses.append(float(loss))
        loss.backward()
        opt.step()
        opt.zero_grad()
    assert losses[-1] < losses[0] - 0.1
    assert torch.equal(base.model.layers[0].self_attn.q_proj.weight, before)  # the shared fixture is untouched
