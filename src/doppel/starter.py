"""`doppel init NAME`: a commented starter config that validates as written."""

from __future__ import annotations

import re
from pathlib import Path

from doppel.errors import UserError

STARTER = """\
# Doppel config for {name}. Every key is checked: a misspelt key is an error.
# Relative paths are read from this file's folder. Run it with: doppel run {name}.yaml
name: {name}                 # names the run folder (runs/{name}/)
seed: 0

persona:
  name: "Jane Doe"           # the person whose voice the model learns
  aliases: ["Jane", "JD"]    # other speaker labels of this person in transcripts
  description: "A marine biologist who hosts a weekly podcast about the sea."
  catchphrases: []           # signature phrases; evaluation counts how often models use them

sources:                     # the person's own words: folders or files
  - path: sources/persona    # .md (front matter title/date), .txt, .srt with "Name:" labels

background:                  # other voices, used to pretrain a small base from scratch
  - path: sources/background

model:
  base: null                 # hub name, local folder, .gguf file, or smollm2-135m-instruct (bundled); null = pretrain one
  preset: small              # tiny | small | medium (only used when base is null)
  tokenizer:
    vocab_size: 4096         # only used when base is null

data:
  chunk_tokens: 256          # continued-pretraining chunk length in tokens
  heldout_fraction: 0.15     # share of documents kept out of training for evaluation
  background_heldout_fraction: 0.05  # background documents kept out of pretraining (its held-out loss)

train:
  device: auto               # auto | cpu | cuda
  bf16: auto                 # bf16 autocast where the hardware supports it
  pretrain:
    epochs: 1
    learning_rate: 1.0e-3
    eval_steps: 0            # held-out loss every N steps (0: off); early_stopping_patience stops on it
  cpt:
    method: full             # full | lora
    epochs: 2
    learning_rate: 5.0e-4
  sft:
    method: lora             # lora | full
    epochs: 3
    learning_rate: 2.0e-3
    lora: {{r: 16, alpha: 32}}

eval:
  questions: 6               # held-out questions every model answers (saved as samples)
"""


def write_starter(name: str, directory: Path, force: bool = False) -> Path:
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UserError(f"'{name}' is not a usable run name; use letters, digits, '.', '_' and '-'")
    path = Path(directory) / f"{name}.yaml"
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to overwrite it or choose another name")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(STARTER.format(name=name), encoding="utf-8")
    return path
