"""The trained tokenizer round-trips text and its chat template masks exactly the answers."""

from doppel.modeling.tokenizer import IM_END, end_of_turn_ids


def test_round_trip_including_unseen_characters(tokenizer, tmp_path):
    text = "Here's the thing — tides! Ünïcödé 漢字 and emoji 🌊\n\ttabs"
    ids = tokenizer(text, add_special_tokens=False)["input_ids"]
    assert tokenizer.decode(ids) == text
    tokenizer.save_pretrained(tmp_path)
    from doppel.modeling.tokenizer import load_tokenizer

    again = load_tokenizer(tmp_path)
    assert again(text, add_special_tokens=False)["input_ids"] == ids
    assert again.chat_template == tokenizer.chat_template


def test_chat_template_and_assistant_mask(tokenizer):
    messages = [{"role": "system", "content": "You are Mara."}, {"role": "user", "content": "Why lamps?"},
                {"role": "assistant", "content": "Because the dark is long."},
                {"role": "user", "content": "And tides?"}, {"role": "assistant", "content": "They turn."}]
    rendered = tokenizer.apply_chat_template(messages, tokenize=False)
    assert rendered == ("<|im_start|>system\nYou are Mara.<|im_end|>\n<|im_start|>user\nWhy lamps?<|im_end|>\n"
                        "<|im_start|>assistant\nBecause the dark is long.<|im_end|>\n"
                        "<|im_start|>user\nAnd tides?<|im_end|>\n<|im_start|>assistant\nThey turn.<|im_end|>\n")
    enc = tokenizer.apply_chat_template(messages, return_dict=True, return_assistant_tokens_mask=True)
    masked = [t for t, m in zip(enc["input_ids"], enc["assistant_masks"]) if m]
    assert tokenizer.decode(masked) == f"Because the dark is long.{IM_END}They turn.{IM_END}"
    prompt = tokenizer.apply_chat_template(messages[:2], tokenize=False, add_generation_prompt=True)
    assert prompt.endswith("<|im_start|>assistant\n")
    im_end = tokenizer.convert_tokens_to_ids(IM_END)
    assert im_end in end_of_turn_ids(tokenizer) and tokenizer.eos_token_id == im_end
    # special tokens are single tokens, never split into bytes
    assert tokenizer("<|im_start|>user", add_special_tokens=False)["input_ids"][0] == \
        tokenizer.convert_tokens_to_ids("<|im_start|>")
