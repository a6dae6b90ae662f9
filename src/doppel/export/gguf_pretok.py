"""Which of llama.cpp's byte-level pre-tokenizers a Hugging Face tokenizer uses, found by what it does.

A byte-level BPE tokenizer first splits text into pieces (by a regex, sometimes after
isolating digits) and only then applies its merges inside each piece. llama.cpp implements a
fixed set of such splitters, each under a name stored in the GGUF (`tokenizer.ggml.pre`).
Rather than matching a fingerprint of a known vocabulary (so a freshly trained tokenizer
would be refused) or the exact JSON spelling of a regex, the tokenizer's own pre-tokenizer
is run on probe texts and compared with a reference built for each name: the name whose
pieces agree on every probe is the one written.
"""

from __future__ import annotations

import json

from doppel.errors import UserError

# The split patterns as the tokenizer.json files of the families that use them spell them.
GPT2_PATTERN = r"'s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+"
QWEN2_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                 r"|\s*[\r\n]+|\s+(?!\S)|\s+")
LLAMA3_PATTERN = (r"(?i:'s|'t|'re|'ve|'m|'ll|'d)|[^\r\n\p{L}\p{N}]?\p{L}+|\p{N}{1,3}| ?[^\s\p{L}\p{N}]+[\r\n]*"
                  r"|\s*[\r\n]+|\s+(?!\S)|\s+")

# Texts on which the known splitters disagree with each other: digit runs (one at a time, in
# threes, or whole), contractions in either case, punctuation glued to words, runs of spaces,
# tabs and newlines, and letters, marks, numerals and symbols outside ASCII.
PROBES = (
    "Hello world! It's 2024; I'M sure WE'LL pay $1,234.56 (or 7890123) by 12:30.",
    "  two spaces,   three\tand a tab.\n\nNew paragraph \n line\r\nwindows\n   indented",
    "café naïve Ærøskøbing e\u0301 — “quoted” «guillemets» ½ Ⅻ ٣٤ x²",
    "東京タワーは333メートル。你好，世界！한국어 텍스트 🙂👍🏽 #tag @user a1b2c3 foo_bar-baz...!!??",
)


def _byte_level(use_regex: bool) -> dict:
    return {"type": "ByteLevel", "add_prefix_space": False, "trim_offsets": True, "use_regex": use_regex}


def _split_then_bytes(pattern: str) -> dict:
    return {"type": "Sequence", "pretokenizers": [
        {"type": "Split", "pattern": {"Regex": pattern}, "behavior": "Isolated", "invert": False},
        _byte_level(False)]}


# llama.cpp's name → a tokenizers pre-tokenizer that splits the way llama.cpp's does under that name.
# ("smollm": single digits first, then GPT-2's regex; llama.cpp gives StarCoder and Refact the same splitter.)
REFERENCES = {
    "gpt-2": _byte_level(True),
    "smollm": {"type": "Sequence", "pretokenizers": [{"type": "Digits", "individual_digits": True},
                                                     _byte_level(True)]},
    "qwen2": _split_then_bytes(QWEN2_PATTERN),
    "llama-bpe": _split_then_bytes(LLAMA3_PATTERN),
}


# Fields the tokenizers library requires that a hand-written spec may leave out, at their usual values.
DEFAULTS = {"Split": {"behavior": "Isolated", "invert": False},
            "ByteLevel": {"add_prefix_space": False, "trim_offsets": True, "use_regex": True}}


def _completed(spec: dict) -> dict:
    spec = {**DEFAULTS.get(spec.get("type"), {}), **spec}
    if "pretokenizers" in spec:
        spec["pretokenizers"] = [_completed(part) for part in spec["pretokenizers"]]
    return spec


def build(spec: dict | None, where: str = "tokenizer.json"):
    """A tokenizers PreTokenizer object from its tokenizer.json form (None stays None)."""
    from tokenizers import Tokenizer

    if spec is None:
        return None
    doc = {"version": "1.0", "truncation": None, "padding": None, "added_tokens": [], "normalizer": None,
           "pre_tokenizer": _completed(spec), "post_processor": None, "decoder": None,
           "model": {"type": "WordLevel", "vocab": {"[UNK]": 0}, "unk_token": "[UNK]"}}
    try:
        return Tokenizer.from_str(json.dumps(doc)).pre_tokenizer
    except Exception as err:  # tokenizers raises a bare Exception for a spec it cannot read
        raise UserError(f"{where}: the pre-tokenizer {json.dumps(spec)[:200]} cannot be read by the "
                        f"tokenizers library ({err}); save the tokenizer again with a current transformers") from None


def pieces(pre_tokenizer, text: str) -> list[str]:
    return [piece for piece, _ in pre_tokenizer.pre_tokenize_str(text)]


def behaviour(pre_tokenizer) -> list[list[str]]:
    """The pieces of every probe text: what the splitter does, compared between splitters."""
    return [pieces(pre_tokenizer, text) for text in PROBES]


def _adds_prefix_space(spec: dict) -> bool:
    if spec.get("type") == "ByteLevel":
        return bool(spec.get("add_prefix_space"))
    return any(_adds_prefix_space(part) for part in spec.get("pretokenizers") or [])


def pre_tokenizer_name(spec: dict | None, where: str) -> str:
    """llama.cpp's name for the tokenizer.json pre-tokenizer, or a UserError saying why there is none."""
    if spec is None:
        raise UserError(f"{where}: the tokenizer has no pre-tokenizer; only byte-level BPE tokenizers "
                        f"and SentencePiece-style vocabularies can be written as GGUF by Doppel")
    if _adds_prefix_space(spec):
        raise UserError(f"{where}: a ByteLevel pre-tokenizer with add_prefix_space=true has no "
                        f"llama.cpp equivalent; retrain the tokenizer with add_prefix_space=False")
    seen = behaviour(build(spec, where))
    for name, reference in REFERENCES.items():
        if behaviour(build(reference)) == seen:
            return name
    raise UserError(f"{where}: pre-tokenizer {json.dumps(spec)[:200]} is not one llama.cpp implements: it splits "
                    f"text unlike each splitter Doppel knows ({', '.join(REFERENCES)}: GPT-2, SmolLM/StarCoder, "
                    f"Qwen2 and Llama 3 byte-level splitting); other tokenizers need llama.cpp's convert_hf_to_gguf.py")
