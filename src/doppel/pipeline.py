"""The ordered stages that `run` and `demo` walk, and the skip-if-current logic.

Each stage names the config it depends on and the stages whose outputs it reads; a stage
is skipped when both are unchanged since its last success and its outputs still exist.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, Callable

from doppel.config import Config, check_paths, dump_resolved
from doppel.errors import UserError
from doppel.modeling.loading import ModelSource, stage_model
from doppel.workspace import StageResult, Workspace, atomic_write_text, fingerprint, hash_config


@dataclass(frozen=True)
class Stage:
    name: str
    settings: Callable[[Config], Any]  # the part of the config the stage depends on
    upstream: tuple[str, ...]  # stages whose outputs it reads
    enabled: Callable[[Config], bool]
    run: Callable[[Config, Workspace, str], StageResult]


def _env(cfg: Config, resume: str = "auto"):
    from doppel.train.env import TrainEnv

    return TrainEnv.from_config(cfg.train.device, cfg.train.bf16, cfg.seed, resume)


def base_source(cfg: Config, ws: Workspace) -> ModelSource:
    if cfg.model.base:
        from doppel.modeling.bases import resolve_base

        return ModelSource("base", resolve_base(cfg.model.base))
    src = stage_model(ws.root, "pretrain", "base")
    if src is None:
        raise UserError("the base model has not been pretrained yet; run 'doppel run CONFIG' "
                        "(or '--only pretrain') first")
    return src


def tuned_source(cfg: Config, ws: Workspace, stage: str) -> ModelSource:
    """The model a stage builds on: the newest enabled earlier stage's model."""
    if stage == "sft" and cfg.train.cpt.enabled:
        src = stage_model(ws.root, "cpt")
        if src is None:
            raise UserError("the cpt model is missing; run 'doppel run CONFIG --only cpt' first")
        return src
    return base_source(cfg, ws)


def eval_models(cfg: Config, ws: Workspace) -> list[ModelSource]:
    models = [base_source(cfg, ws)]
    for stage in ("cpt", "sft", "pref", "rl"):
        if getattr(cfg.train, stage).enabled:
            src = stage_model(ws.root, stage)
            if src is not None:
                models.append(src)
    return models


def _run_ingest(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.ingest import stage

    return stage.run(cfg.sources, cfg.background, cfg.persona, ws, cfg.ingest)


def _run_build(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.data import stage

    return stage.run(cfg.data, cfg.persona, cfg.model, cfg.seed, ws)


def _run_synth(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.synth import stage

    return stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)


def _synth_settings(c: Config) -> list:
    import os

    # The endpoint may come from the environment; the key never enters the hash.
    return [c.synth, c.teacher.model_dump(mode="json", exclude={"api_key"}), c.persona, c.seed,
            os.environ.get("OPENAI_BASE_URL")]


def _run_pretrain(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import pretrain

    return pretrain.run(cfg.train.pretrain, cfg.model, _env(cfg, resume), ws, key)


def _run_cpt(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import cpt

    return cpt.run(cfg.train.cpt, base_source(cfg, ws), _env(cfg, resume), ws, key)


def _run_sft(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import sft

    return sft.run(cfg.train.sft, tuned_source(cfg, ws, "sft"), _env(cfg, resume), ws, key, cfg.model.chat_template,
                   system_prompt=cfg.persona.prompt(), synth=cfg.synth.enabled)


def _run_pref(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import preference

    src = stage_model(ws.root, "sft") if cfg.train.sft.enabled else None
    return preference.run(cfg.train.pref, src or tuned_source(cfg, ws, "sft"), _env(cfg, resume), ws, key)


def _sft_policy(cfg: Config, ws: Workspace) -> ModelSource:
    """The SFT model that the reward model and RL start from (the model before SFT when SFT is off)."""
    src = stage_model(ws.root, "sft") if cfg.train.sft.enabled else None
    return src or tuned_source(cfg, ws, "sft")


def _run_reward(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import reward

    return reward.run(cfg.train.reward, _sft_policy(cfg, ws), _env(cfg, resume), ws, key)


def _run_rl(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import rl

    if cfg.train.rl.reward_model_weight and not cfg.train.reward.enabled:
        raise UserError("train.rl.reward_model_weight > 0 needs the reward model: set train.reward.enabled: true "
                        "(it trains on the preference pairs), or set train.rl.reward_model_weight: 0 to reward "
                        "person-likeness alone")
    return rl.run(cfg.train.rl, _sft_policy(cfg, ws), _env(cfg, resume), ws, key)


def _run_eval(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import stage

    return stage.run(cfg.eval, cfg.persona, eval_models(cfg, ws), _env(cfg).device, cfg.seed, ws,
                     teacher=cfg.teacher)


def _run_export(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.export import stage

    newest = [stage_model(ws.root, s) for s in ("rl", "pref", "sft") if getattr(cfg.train, s).enabled]
    src = next((m for m in newest if m is not None), None)
    return stage.run(cfg.export, src or tuned_source(cfg, ws, "sft"), cfg.persona, cfg.model, cfg.train,
                     cfg.eval.generation, ws)


def _run_eval_gguf(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import gguf_stage

    return gguf_stage.run(cfg.eval, cfg.persona, cfg.seed, ws, teacher=cfg.teacher)


def _run_report(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import report

    return report.run(cfg.persona, ws)


def _train_env(c: Config) -> dict:
    return {"device": c.train.device, "bf16": c.train.bf16, "seed": c.seed}


STAGES: tuple[Stage, ...] = (
    Stage("ingest", lambda c: [c.sources, c.background, c.persona, c.ingest], (), lambda c: True, _run_ingest),
    Stage("build", lambda c: [c.data, c.persona, c.model, c.seed], ("ingest",), lambda c: True, _run_build),
    Stage("synth", _synth_settings, ("build",), lambda c: c.synth.enabled, _run_synth),
    Stage("pretrain", lambda c: [c.train.pretrain, c.model, _train_env(c)], ("build",),
          lambda c: not c.model.base and c.train.pretrain.enabled, _run_pretrain),
    Stage("cpt", lambda c: [c.train.cpt, c.model.base, _train_env(c)], ("build", "pretrain"),
          lambda c: c.train.cpt.enabled, _run_cpt),
    Stage("sft", lambda c: [c.train.sft, c.model.base, c.model.chat_template, c.persona.prompt(), c.synth.enabled,
                            _train_env(c)], ("build", "synth", "pretrain", "cpt"),
          lambda c: c.train.sft.enabled, _run_sft),
    Stage("pref", lambda c: [c.train.pref, c.model.base, _train_env(c)], ("build", "synth", "sft"),
          lambda c: c.train.pref.enabled, _run_pref),
    Stage("reward", lambda c: [c.train.reward, c.model.base, _train_env(c)],
          ("build", "synth", "pretrain", "cpt", "sft"), lambda c: c.train.reward.enabled, _run_reward),
    Stage("rl", lambda c: [c.train.rl, c.model.base, _train_env(c)],
          ("ingest", "build", "synth", "pretrain", "cpt", "sft", "reward"), lambda c: c.train.rl.enabled, _run_rl),
    Stage("eval", lambda c: [c.eval, c.persona, c.seed, c.train.device, c.teacher.base_url, c.teacher.model],
          ("build", "pretrain", "cpt", "sft", "pref", "rl"), lambda c: c.eval.enabled, _run_eval),
    Stage("export", lambda c: [c.export, c.persona, c.eval.generation, c.seed],
          ("build", "pretrain", "cpt", "sft", "pref", "rl", "eval"), lambda c: c.export.enabled, _run_export),
    # Each exported GGUF as a rung of the eval ladder: after export, its rows in eval/gguf.json.
    Stage("eval_gguf", lambda c: [c.eval, c.persona, c.seed, c.teacher.base_url, c.teacher.model],
          ("build", "eval", "export"),
          lambda c: c.eval.enabled and c.export.enabled, _run_eval_gguf),
    # eval's and eval_gguf's files read as one ladder (doppel.eval_results): eval/report.html.
    Stage("report", lambda c: [c.persona], ("pretrain", "cpt", "sft", "pref", "reward", "rl", "eval", "eval_gguf"),
          lambda c: c.eval.enabled, _run_report),
)
STAGE_NAMES = tuple(s.name for s in STAGES)
GROUPS = {"train": ("pretrain", "cpt", "sft", "pref", "reward", "rl")}


def expand(names: list[str]) -> list[str]:
    out: list[str] = []
    for name in names:
        for n in GROUPS.get(name, (name,)):
            if n not in STAGE_NAMES:
                raise UserError(f"unknown stage '{name}'; stages are: {', '.join(STAGE_NAMES)} (or 'train')")
            out.append(n)
    return out


def selected(only: list[str] | None, start: str | None) -> list[str]:
    names = list(STAGE_NAMES)
    if start:
        first = expand([start])[0]
        names = names[names.index(first):]
    if only:
        wanted = set(expand(only))
        names = [n for n in names if n in wanted]
    return names


def prepare(cfg: Config) -> Workspace:
    """Check paths, create the run folder and write config.resolved.yaml."""
    check_paths(cfg)
    if not cfg.model.base and not cfg.background and cfg.train.pretrain.enabled:
        raise UserError("model.base is empty and there are no background sources to pretrain a base "
                        "model on; set model.base to a model name or path, or add background: sources")
    from doppel.train.distributed import barrier, is_main

    ws = Workspace(cfg.run_dir).create()
    if is_main():  # with several training processes, rank 0 alone writes the run folder
        atomic_write_text(ws.root / "config.resolved.yaml", dump_resolved(cfg))
    barrier()
    return ws


def stage_keys(stage: Stage, cfg: Config, ws: Workspace) -> tuple[str, str]:
    config_hash = hash_config(stage.settings(cfg))
    parts = [ws.output_hash(u) for u in stage.upstream]
    if stage.name == "ingest":
        parts.append(fingerprint([s.path for s in [*cfg.sources, *cfg.background] if s.path is not None]))
    return config_hash, hash_config(parts)


def run_pipeline(cfg: Config, ws: Workspace, names: list[str], force: bool = False,
                 report: Callable[[str, str, dict], None] | None = None, resume: str = "auto") -> dict[str, str]:
    """Run the named stages in order; returns each stage's outcome (done/skipped/disabled).

    `resume` (doppel train --resume / --restart) goes to the training stages that run; "require"
    only to the first of them, the later ones start normally.
    """
    report = report or (lambda name, status, summary: None)
    if any(s.name in names and s.name != "ingest" for s in STAGES):
        from doppel.modeling import quiet_libraries

        quiet_libraries()
    from doppel.train.distributed import barrier, is_main

    main = is_main()
    outcome: dict[str, str] = {}
    for stage in STAGES:
        if stage.name not in names:
            continue
        if not stage.enabled(cfg):
            outcome[stage.name] = "disabled"
            report(stage.name, "disabled", {})
            continue
        barrier()  # every rank sees the manifest rank 0 wrote for the previous stage
        config_hash, inputs_hash = stage_keys(stage, cfg, ws)
        if not force and ws.is_current(stage.name, config_hash, inputs_hash):
            outcome[stage.name] = "skipped"
            report(stage.name, "skipped", ws.stage_entry(stage.name).get("summary", {}))
            continue
        report(stage.name, "start", {})
        barrier()  # no rank may see this stage as started before all have checked it
        started = ws.begin(stage.name, config_hash, inputs_hash) if main else time.time()
        try:
            training = {"resume": resume} if stage.name in GROUPS["train"] else {}
            result = stage.run(cfg, ws, f"{config_hash}:{inputs_hash}", **training)
            resume = "auto" if training and resume == "require" else resume
        except BaseException as err:
            if main:
                ws.fail(stage.name, started, f"{type(err).__name__}: {err}")
            raise
        if main:
            ws.finish(stage.name, started, result)
        outcome[stage.name] = "done"
        wrote = [str(p.relative_to(ws.root)) if p.is_relative_to(ws.root) else str(p) for p in result.outputs]
        report(stage.name, "done", {**result.summary, "wrote": ", ".join(wrote),
                                    "seconds": round(time.time() - started, 1)})
    barrier()
    return outcome
