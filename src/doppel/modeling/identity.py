"""A base model's identity (name, config and vocabulary hashes), stored with every adapter.

An adapter trained on one base silently produces garbage on another; loading checks the
identity first and refuses a mismatch with a message naming both.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from doppel.errors import UserError

IDENTITY_FILE = "doppel_base.json"
# The config fields that decide whether an adapter's weights fit a base model.
SHAPE_KEYS = ("model_type", "hidden_size", "num_hidden_layers", "num_attention_heads",
              "num_key_value_heads", "intermediate_size", "vocab_size", "tie_word_embeddings")


def _sha(obj) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def base_identity(name: str, model_config, tokenizer) -> dict:
    cfg = model_config.to_dict() if hasattr(model_config, "to_dict") else dict(model_config)
    vocab = sorted(tokenizer.get_vocab().items(), key=lambda kv: kv[1])
    return {"base": name, "architecture": cfg.get("model_type"),
            "config_sha256": _sha({k: cfg.get(k) for k in SHAPE_KEYS}),
            "vocab_sha256": _sha(vocab)}


def identity_of(name: str) -> dict:
    """The identity of a base model as stored (its config and tokenizer), before any change a
    training run makes to it such as added chat tokens."""
    from transformers import AutoConfig, AutoTokenizer

    return base_identity(name, AutoConfig.from_pretrained(name), AutoTokenizer.from_pretrained(name))


def write_identity(folder: Path, identity: dict) -> None:
    from doppel.workspace import atomic_write_json

    atomic_write_json(Path(folder) / IDENTITY_FILE, identity)


def check_identity(adapter: Path, found: dict) -> None:
    """Raise a UserError when the adapter's recorded base differs from the one it is loaded on."""
    path = Path(adapter) / IDENTITY_FILE
    if not path.exists():
        return  # adapters from elsewhere carry no identity; PEFT's own shape checks still apply
    expected = json.loads(path.read_text(encoding="utf-8"))
    wrong = [k for k in ("config_sha256", "vocab_sha256") if expected.get(k) != found.get(k)]
    if wrong:
        what = " and ".join("architecture/config" if k == "config_sha256" else "vocabulary" for k in wrong)
        raise UserError(f"adapter {adapter} was trained on base '{expected.get('base')}' but is being "
                        f"loaded on '{found.get('base')}', whose {what} differ; load it on its own base "
                        f"model (or retrain the adapter on this one)")
