"""`doppel init NAME`: a commented starter config that validates as written.

The short starter shows every stage with one line on how to turn it on; `--full` writes every
setting, generated from the schema (doppel.config.reference).
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import get_args

from doppel.config import CPTConfig, GGUFType, ModelConfig, PreferenceConfig, SFTConfig, TrainConfig
from doppel.config.reference import choices, full_config
from doppel.errors import UserError

STARTER = """\
# Doppel config for {name}. Every key is checked: a misspelt key is an error.
# Relative paths are read from this file's folder. Run it with: doppel run {name}.yaml
# Every setting with its default, allowed values and meaning: doppel init {name} --full
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

ingest:
  languages: []              # e.g. [en]: keep only these languages (empty keeps all)

model:
  base: null                 # hub name, local folder, .gguf file, or smollm2-135m-instruct (bundled); null = pretrain one
  preset: small              # {presets} (only used when base is null)
  tokenizer:
    vocab_size: 4096         # only used when base is null

data:
  chunk_tokens: 256          # continued-pretraining chunk length in tokens
  heldout_fraction: 0.15     # share of documents kept out of training for evaluation
  background_heldout_fraction: 0.05  # background documents kept out of pretraining (its held-out loss)

teacher:                     # an OpenAI-compatible LLM for synth and the eval judge
  base_url: null             # set it (or OPENAI_BASE_URL) to turn them on; the key comes from OPENAI_API_KEY
  model: gpt-4o-mini

synth:
  enabled: true              # teacher-made Q&A and preference pairs; without a teacher only identity examples

train:
  device: auto               # {devices}
  bf16: auto                 # bf16 autocast where the hardware supports it
  pretrain:                  # runs only while model.base is null
    epochs: 1
    learning_rate: 1.0e-3
    eval_steps: 0            # held-out loss every N steps (0: off); early_stopping_patience stops on it
  cpt:                       # continued pretraining on the person's text; enabled: false skips it
    method: full             # {cpt_methods}
    epochs: 2
    learning_rate: 5.0e-4
  sft:
    method: lora             # {sft_methods}
    epochs: 3
    learning_rate: 2.0e-3
    lora: {{r: 16, alpha: 32}}
  pref:
    enabled: false           # true tunes on synth's preference pairs (needs a teacher)
    method: dpo              # {pref_methods}
  reward:
    enabled: false           # true trains a reward model on the preference pairs (for rl)
  rl:
    enabled: false           # true runs GRPO, rewarded by the reward model and person-likeness

eval:
  enabled: true              # the ladder of every model: perplexity, person-likeness, identity, judge
  questions: 6               # held-out questions every model answers (saved as samples)

export:
  enabled: true              # merged model, GGUF files checked by the parity gate, Modelfile, model card
  gguf: [f16, q8_0, q4_k_m]  # any of {gguf_types}; [] writes none

serve:                       # doppel serve runs/{name}: OpenAI-compatible API and web chat
  port: 8000
  grounded: false            # true puts the person's most relevant passages into the system prompt
"""


def starter_text(name: str) -> str:
    """The short starter; its lists of choices come from the schema."""
    return STARTER.format(name=name, presets=choices(ModelConfig, "preset"), devices=choices(TrainConfig, "device"),
                          cpt_methods=choices(CPTConfig, "method"), sft_methods=choices(SFTConfig, "method"),
                          pref_methods=choices(PreferenceConfig, "method"), gguf_types=", ".join(get_args(GGUFType)))


def write_starter(name: str, directory: Path, force: bool = False, full: bool = False) -> Path:
    """Write NAME.yaml: the short starter, or with `full` every setting of the schema."""
    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9._-]*", name):
        raise UserError(f"'{name}' is not a usable run name; use letters, digits, '.', '_' and '-'")
    path = Path(directory) / f"{name}.yaml"
    if path.exists() and not force:
        raise UserError(f"{path} already exists; pass --force to overwrite it or choose another name")
    text = full_config(name) if full else starter_text(name)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path
