"""The export stage: merged HF folder, adapter bundle, GGUF files, parity gate, Modelfile, card.

Every GGUF is measured against the merged full-precision model before anything points at
it; the Modelfile uses the smallest file that passed (`pick`) or the first requested one
that passed, and the model card lists every file with its numbers, failures included.
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path

from doppel.config import ExportConfig, GenerationSettings, ModelConfig, PersonaConfig, TrainConfig
from doppel.errors import UserError
from doppel.export.card import model_card
from doppel.export.merge import merge_to_folder
from doppel.modeling.loading import ModelSource
from doppel.records import Example, TextChunk, read_jsonl
from doppel.workspace import StageResult, Workspace, atomic_dir, atomic_write_json, atomic_write_text

FLOATS = ("f32", "f16", "bf16")
LORA_ROW = "lora"  # the parity gate's name for the base GGUF + LoRA adapter GGUF pair


def _copy_adapter(src: ModelSource, ws: Workspace) -> Path | None:
    if not src.adapter:
        return None
    folder = ws.export / "adapter"
    with atomic_dir(folder) as tmp:
        shutil.copytree(src.adapter, tmp, dirs_exist_ok=True)
    return folder


def write_files(merged: Path, export: Path, stem: str, types: list[str]) -> dict[str, Path]:
    """Write the requested GGUFs (type → path); quantizations start from an f16 (or bf16/f32) file."""
    from doppel.export.gguf import write_gguf

    files: dict[str, Path] = {}
    floats = [t for t in types if t in FLOATS]
    for ftype in floats:
        files[ftype] = export / f"{stem}-{ftype}.gguf"
        write_gguf(merged, files[ftype], ftype, name=stem)
    quants = [t for t in types if t not in FLOATS]
    if quants:
        from doppel.export.quantize import quantize

        source = files.get("f16") or files.get("bf16") or files.get("f32")
        scratch = None
        if source is None:
            scratch = source = export / f".{stem}-f16.scratch.gguf"
            write_gguf(merged, source, "f16", name=stem)
        for quant in quants:
            files[quant] = export / f"{stem}-{quant}.gguf"
            quantize(source, files[quant], quant)
        if scratch is not None:
            scratch.unlink(missing_ok=True)
    return files


def write_lora_files(src: ModelSource, export: Path, stem: str) -> dict[str, Path]:
    """The adapter(s) alone as one GGUF LoRA adapter, and an f16 GGUF of the base they apply to."""
    from doppel.export.gguf_lora import local_folder, write_base_gguf, write_lora_gguf

    if not src.adapter:
        raise UserError(f"export.lora_gguf is true but the exported model ({src.describe()}) has no LoRA "
                        f"adapter: its last training stage trained the full model. Set export.lora_gguf: false, "
                        f"or train.sft.method: lora")
    files = {"base": export / f"{stem}-base-f16.gguf", "adapter": export / f"{stem}-lora.gguf"}
    # The adapter first: it is small and is where an unsupported fine-tune is refused.
    write_lora_gguf(local_folder(src.path), [*src.pre_adapters, src.adapter], files["adapter"], name=f"{stem}-lora")
    write_base_gguf(src.path, Path(src.adapter), files["base"], "f16", name=f"{stem}-base")
    return files


def remove_stale(export: Path, keep: list[Path]) -> None:
    """GGUFs of an earlier export that this one did not write (and so did not measure)."""
    for old in export.glob("*.gguf"):
        if old not in keep:
            old.unlink()


def _spread(items: list, n: int) -> list:
    if n <= 0 or not items:
        return []
    step = max(1, len(items) // n)
    return items[::step][:n]


def parity_inputs(ws: Workspace, n_texts: int, n_prompts: int) -> tuple[list[str], list[list[dict]]]:
    chunks = read_jsonl(ws.data / "heldout" / "text.jsonl", TextChunk)
    dialogues = read_jsonl(ws.data / "heldout" / "dialogues.jsonl", Example)
    texts = [c.full_text() for c in _spread(chunks, n_texts)]
    prompts = [[m.model_dump() for m in ex.messages[:-1]] for ex in _spread(dialogues, n_prompts)]
    return texts, prompts


def run_parity(cfg: ExportConfig, merged: Path, files: dict[str, Path], lora: dict[str, Path],
               ws: Workspace) -> dict:
    """The gate over every GGUF; the LoRA pair (base + adapter) is measured too and reported apart."""
    from doppel.export.likeness import likeness_scorer
    from doppel.export.parity import run_gate
    from doppel.modeling.loading import load_model

    gate: dict = {t: str(p) for t, p in files.items()}
    if lora:
        gate[LORA_ROW] = (str(lora["base"]), str(lora["adapter"]))
    if not gate:
        return {"files": {}}
    texts, prompts = parity_inputs(ws, cfg.parity.texts, cfg.parity.prompts)
    scorer, note = likeness_scorer(ws)
    model, tokenizer = load_model(ModelSource("merged", str(merged)), device="cpu", dtype="float32")
    result = run_gate(model, tokenizer, gate, texts, prompts, cfg.parity, scorer)
    result["likeness"] = note
    row = result["files"].pop(LORA_ROW, None)
    if row is not None:
        result["lora_adapter"] = {**row, "base_file": lora["base"].name, "adapter_file": lora["adapter"].name,
                                  "bytes": {k: p.stat().st_size for k, p in lora.items()}}
    return result


def choose(types: list[str], rows: dict, sizes: dict[str, int], pick: bool) -> str | None:
    from doppel.export.parity import pick as smallest

    if pick:
        return smallest(rows, sizes)
    return next((t for t in types if rows.get(t, {}).get("passed")), None)


def run(cfg: ExportConfig, src: ModelSource, persona: PersonaConfig, model_cfg: ModelConfig,
        train: TrainConfig, generation: GenerationSettings, ws: Workspace) -> StageResult:
    merged = ws.export / "merged"
    info = merge_to_folder(src, merged, cfg.dtype)
    adapter = _copy_adapter(src, ws)
    outputs = [merged] + ([adapter] if adapter else [])
    stem = ws.root.name
    files = write_files(merged, ws.export, stem, cfg.gguf) if cfg.gguf else {}
    lora = write_lora_files(src, ws.export, stem) if cfg.lora_gguf else {}
    remove_stale(ws.export, [*files.values(), *lora.values()])
    parity = run_parity(cfg, merged, files, lora, ws)
    sizes = {t: p.stat().st_size for t, p in files.items()}
    chosen = choose(cfg.gguf, parity["files"], sizes, cfg.pick)
    parity["chosen"] = chosen
    parity["picked_smallest"] = cfg.pick
    names = {t: p.name for t, p in files.items()}
    atomic_write_json(ws.export / "parity.json", {**parity, "file_names": names, "sizes": sizes})
    outputs += [*files.values(), *lora.values(), ws.export / "parity.json"]
    outputs += _lora_modelfile(parity.get("lora_adapter"), merged, persona, generation, stem, ws)
    if chosen:
        from doppel.export.ollama import modelfile
        from doppel.modeling.tokenizer import load_tokenizer

        tok = load_tokenizer(merged)
        context = min(8192, json.loads((merged / "config.json").read_text())["max_position_embeddings"])
        text = modelfile(names[chosen], tok, persona.prompt(), generation, context, f"{stem} ({persona.name})")
        atomic_write_text(ws.export / "Modelfile", text)
        outputs.append(ws.export / "Modelfile")
    else:
        (ws.export / "Modelfile").unlink(missing_ok=True)  # it would point at a file no longer vouched for
    card = model_card(ws, persona, model_cfg, train, info, parity, sizes, chosen, names)
    atomic_write_text(ws.export / "README.md", card)
    outputs.append(ws.export / "README.md")
    summary = {**info, "folder": str(merged), "gguf": {t: _row_summary(parity["files"].get(t)) for t in files},
               "modelfile_uses": names.get(chosen) if chosen else None}
    if lora:
        summary["lora_gguf"] = {"files": [p.name for p in lora.values()],
                                "parity": _row_summary(parity.get("lora_adapter"))}
    return StageResult(summary, outputs)


def _lora_modelfile(row: dict | None, merged: Path, persona: PersonaConfig, generation: GenerationSettings,
                    stem: str, ws: Workspace) -> list[Path]:
    """Modelfile.lora (FROM the base GGUF, ADAPTER the LoRA GGUF) when that pair passed the gate."""
    path = ws.export / "Modelfile.lora"
    if not row or not row["passed"]:
        path.unlink(missing_ok=True)
        return []
    from doppel.export.ollama import modelfile
    from doppel.modeling.tokenizer import load_tokenizer

    context = min(8192, json.loads((merged / "config.json").read_text())["max_position_embeddings"])
    text = modelfile(row["base_file"], load_tokenizer(merged), persona.prompt(), generation, context,
                     f"{stem} ({persona.name}), base + LoRA adapter", adapter=row["adapter_file"])
    atomic_write_text(path, text)
    return [path]


def _row_summary(row: dict | None) -> str:
    if row is None:
        return "written (not measured)"
    if row["passed"]:
        return f"pass (top-1 {row['top1_agreement']:.3f}, KL {row['mean_kl']:.4f})"
    return "FAILED: " + "; ".join(row["failures"])
