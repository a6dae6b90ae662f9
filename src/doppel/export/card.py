"""The model card: a Hugging Face README.md built from what the run actually recorded.

Base model, training methods, data sources and sizes, the evaluation table, the GGUF files
with their parity numbers, intended use, and a plain statement of whom the model imitates
and that it must not be presented as them.
"""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from doppel import eval_results
from doppel.config import ModelConfig, PersonaConfig, TrainConfig
from doppel.workspace import Workspace

TRAINING_STAGES = {"pretrain": "pretraining from scratch on background text",
                   "cpt": "continued pretraining on the person's own words",
                   "sft": "supervised fine-tuning on the person's answers (assistant-only loss)",
                   "pref": "preference optimisation",
                   "reward": "a reward model trained on the preference pairs",
                   "rl": "GRPO against the reward model and person-likeness, with a KL penalty to the SFT policy"}


def _read(path: Path) -> dict:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError):
        return {}


def _methods(ws: Workspace, train: TrainConfig) -> list[str]:
    stages = ws.manifest().get("stages", {})
    lines = []
    for name, what in TRAINING_STAGES.items():
        entry = stages.get(name, {})
        if entry.get("status") != "done":
            continue
        s = entry.get("summary", {})
        method = s.get("method") or getattr(getattr(train, name, None), "method", None) or "full"
        loss = (f", loss {s['first_loss']:.3f} → {s['last_loss']:.3f}"
                if isinstance(s.get("first_loss"), float) and isinstance(s.get("last_loss"), float) else "")
        lines.append(f"- **{name}** ({method}): {what}; {s.get('steps', '?')} steps{loss}")
    return lines or ["- (no training stage recorded in manifest.json)"]


def _data(ws: Workspace) -> list[str]:
    report = _read(ws.corpus / "ingest_report.json")
    stats = _read(ws.data / "stats.json")
    docs, words = report.get("documents", {}), report.get("words", {})
    lines = [f"- The person's sources: {docs.get('persona', '?')} documents, {words.get('persona', '?')} words",
             f"- Background (other voices, for the base model): {docs.get('background', 0)} documents, "
             f"{words.get('background', 0)} words"]
    if stats:
        sft, cpt = stats.get("sft", {}), stats.get("cpt", {})
        lines.append(f"- Training data: {cpt.get('train_tokens', '?')} tokens of continued-pretraining text, "
                     f"{sft.get('train_examples', '?')} question → answer examples; held out by document: "
                     f"{cpt.get('heldout_chunks', '?')} text chunks, {sft.get('heldout_examples', '?')} dialogues")
    return lines


def _table(header: list[str], rows: list[list]) -> list[str]:
    def cell(v):
        return f"{v:.4g}" if isinstance(v, float) else ("" if v is None else str(v))
    return ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)] + [
        "| " + " | ".join(cell(v) for v in row) + " |" for row in rows]


def _evaluation(ws: Workspace) -> list[str]:
    # GGUF rungs (eval_gguf, after export) describe an earlier export's files: the parity table covers these.
    results = {name: row for name, row in eval_results.load(ws.eval).get("models", {}).items()
               if row.get("backend") != "gguf"}
    if not results:
        return ["No evaluation results were recorded (eval/results.json is missing)."]
    keys = sorted({k for row in results.values() for k, v in row.items()
                   if isinstance(v, (int, float)) and not isinstance(v, bool) and k != "samples"})
    return _table(["model", *keys], [[name, *[row.get(k) for k in keys]] for name, row in results.items()])


def _parity(parity: dict, sizes: dict[str, int], chosen: str | None, names: dict[str, str]) -> list[str]:
    rows = []
    for kind, row in parity.get("files", {}).items():
        verdict = "pass" if row["passed"] else "FAIL: " + "; ".join(row["failures"])
        mark = " (Modelfile)" if kind == chosen else ""
        rows.append([f"`{names.get(kind, kind)}`{mark}", f"{sizes.get(kind, 0) / 1e6:.1f} MB", row["ppl_ratio"], row["mean_kl"],
                     row["top1_agreement"], row.get("likeness_ratio"), verdict])
    lora = parity.get("lora_adapter")
    if lora:
        verdict = "pass" if lora["passed"] else "FAIL: " + "; ".join(lora["failures"])
        rows.append([f"`{lora['base_file']}` + LoRA `{lora['adapter_file']}`",
                     " + ".join(f"{b / 1e6:.1f} MB" for b in lora.get("bytes", {}).values()),
                     lora["ppl_ratio"], lora["mean_kl"], lora["top1_agreement"], lora.get("likeness_ratio"),
                     verdict])
    if not rows:
        return ["No GGUF files were written (export.gguf is empty)."]
    return _table(["file", "size", "perplexity ratio", "mean KL", "top-1 agreement", "likeness ratio", "gate"],
                  rows)


def model_card(ws: Workspace, persona: PersonaConfig, model_cfg: ModelConfig, train: TrainConfig,
               merged_info: dict, parity: dict, sizes: dict[str, int], chosen: str | None,
               names: dict[str, str]) -> str:
    """The README.md text; sizes and names are keyed by GGUF type, `chosen` is the Modelfile's type."""
    name = persona.name
    # persona.fictional (the demo sets it); of anyone else the card claims no more than the config
    # says: they may well be a real person.
    made_up = persona.fictional
    who = f"{name}, " + ("a fictional persona (made up, as its config says)" if made_up
                         else "the person named in its config")
    trained_on = ("It was trained on made-up texts in that persona's voice" if made_up
                  else "It was trained on text they wrote or said")
    base = model_cfg.base or f"none: pretrained from scratch by Doppel ({model_cfg.preset} preset)"
    front = {"base_model": model_cfg.base, "library_name": "transformers", "pipeline_tag": "text-generation",
             "tags": ["doppel", "persona", "imitation", "gguf", "llama.cpp"]}
    front = {k: v for k, v in front.items() if v is not None}
    lines = ["---", yaml.safe_dump(front, sort_keys=False).strip(), "---", "",
             f"# {ws.root.name}: a model that writes in the voice of {name}", "",
             f"> **This model imitates {who}. It is not {name}, does not speak for them, "
             f"and its output must not be presented as their words or opinions.** {trained_on}; "
             f"it will also invent things they never said.", "",
             "## Model", "", f"- Base model: {base}",
             f"- Parameters: {merged_info.get('parameters', '?'):,}" if isinstance(merged_info.get("parameters"), int)
             else "- Parameters: ?", f"- Weights: `merged/` (Hugging Face, {merged_info.get('dtype', '?')})",
             "", "## Methods", "", *_methods(ws, train), "", "## Data", "", *_data(ws), "",
             "## Evaluation", "", "Held-out text and questions never seen in training (eval/results.json):", "",
             *_evaluation(ws), "", "## GGUF files and the quantization parity gate", "",
             "Each file was compared with the full-precision model on held-out text and questions "
             "(parity.json). Perplexity ratio and KL divergence should stay near 1 and 0; top-1 agreement "
             "near 1.", "", *_parity(parity, sizes, chosen, names), "",
             "## Intended use", "",
             f"- Trying Doppel out: {name} and the training texts are made up." if made_up else
             f"- Research, personal archives and creative work with {name}'s consent, clearly labelled as "
             f"machine-generated imitation.",
             "- Not for impersonation, deception, fraud, or any use where a reader could take the output "
             "for the person's own words.",
             "- Facts in the output are not reliable, even about the person.", "",
             "## Use", "", "```bash", "# transformers / Doppel's OpenAI-compatible server",
             "doppel serve RUN_DIR            # http://127.0.0.1:8000/v1, web chat at /"]
    if chosen:
        lines += ["# Ollama", "ollama create my-voice -f Modelfile && ollama run my-voice",
                  "# llama.cpp", f"llama-server -m {names[chosen]} --jinja"]
    lora = parity.get("lora_adapter")
    if lora and lora["passed"]:
        lines += ["# the base model with the LoRA adapter on top (Ollama: Modelfile.lora)",
                  f"llama-server -m {lora['base_file']} --lora {lora['adapter_file']} --jinja"]
    lines += ["```", ""]
    return "\n".join(lines)
