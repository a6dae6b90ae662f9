"""The ordered stages that `run` and `demo` walk, and the skip-if-current logic.

Each stage declares as data (doppel.stagegraph.Stage) the config it depends on, the stages
whose outputs it reads, the switches that turn it on, the trained models it may start from
and what it needs; a stage is skipped when its settings and inputs are unchanged since its
last success and its outputs still exist. Before the first stage runs, the needs of every
stage that would run are checked.
"""

from __future__ import annotations

import os
import time
from typing import Callable

from doppel.config import Config, check_paths, dump_resolved
from doppel.errors import UserError
from doppel.modeling.loading import ModelSource, stage_model
from doppel.needs import CUDA_DEVICE, bundled_base, llama_cpp, preference_pairs, qlora, reward_model
from doppel.stagegraph import Graph, Setting, Stage, Step, plan, unmet
from doppel.workspace import StageResult, Workspace, atomic_write_text


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


def start_model(cfg: Config, ws: Workspace, stage: str) -> ModelSource:
    """The model a stage builds on: the newest enabled stage of its model_from, else the base."""
    start = GRAPH.start_stage(cfg, stage)
    if start is None:
        return base_source(cfg, ws)
    src = stage_model(ws.root, start)
    if src is None:
        raise UserError(f"{stage} starts from the {start} model, which is missing; run 'doppel run CONFIG "
                        f"--only {start}' first (or set train.{start}.enabled: false)")
    return src


def eval_models(cfg: Config, ws: Workspace) -> list[ModelSource]:
    """The ladder: the base, then every enabled trained model that exists."""
    found = [stage_model(ws.root, s) for s in GRAPH.ladder(cfg, "eval")]
    return [base_source(cfg, ws), *(m for m in found if m is not None)]


def _run_ingest(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.ingest import stage

    return stage.run(cfg.sources, cfg.background, cfg.persona, ws, cfg.ingest)


def _run_build(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.data import stage

    return stage.run(cfg.data, cfg.persona, cfg.model, cfg.seed, ws)


def _run_synth(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.synth import stage

    return stage.run(cfg.synth, cfg.teacher, cfg.persona, cfg.seed, ws)


def _run_pretrain(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import pretrain

    return pretrain.run(cfg.train.pretrain, cfg.model, _env(cfg, resume), ws, key)


def _run_cpt(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import cpt

    return cpt.run(cfg.train.cpt, start_model(cfg, ws, "cpt"), _env(cfg, resume), ws, key)


def _run_sft(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import sft

    return sft.run(cfg.train.sft, start_model(cfg, ws, "sft"), _env(cfg, resume), ws, key, cfg.model.chat_template,
                   system_prompt=cfg.persona.prompt(), synth=cfg.synth.enabled)


def _run_pref(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import preference

    return preference.run(cfg.train.pref, start_model(cfg, ws, "pref"), _env(cfg, resume), ws, key)


def _run_reward(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import reward

    return reward.run(cfg.train.reward, start_model(cfg, ws, "reward"), _env(cfg, resume), ws, key)


def _run_rl(cfg: Config, ws: Workspace, key: str, resume: str = "auto") -> StageResult:
    from doppel.train import rl

    return rl.run(cfg.train.rl, start_model(cfg, ws, "rl"), _env(cfg, resume), ws, key)


def _run_eval(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import stage

    return stage.run(cfg.eval, cfg.persona, eval_models(cfg, ws), _env(cfg).device, cfg.seed, ws,
                     teacher=cfg.teacher)


def _run_export(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.export import stage

    return stage.run(cfg.export, start_model(cfg, ws, "export"), cfg.persona, cfg.model, cfg.train,
                     cfg.eval.generation, ws)


def _run_eval_gguf(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import gguf_stage

    return gguf_stage.run(cfg.eval, cfg.persona, cfg.seed, ws, teacher=cfg.teacher)


def _run_report(cfg: Config, ws: Workspace, key: str) -> StageResult:
    from doppel.evaluate import report

    return report.run(cfg.persona, ws)


def _train_env(c: Config) -> dict:
    return {"device": c.train.device, "bf16": c.train.bf16, "seed": c.seed}


TRAIN_ENV = Setting("train device, bf16 and seed", _train_env, ("train.device", "train.bf16", "seed"))
PROMPT = Setting("the persona's system prompt", lambda c: c.persona.prompt(), ("persona",))
# The endpoint may come from the environment; the key never enters the hash.
TEACHER = Setting("teacher", lambda c: c.teacher.model_dump(mode="json", exclude={"api_key"}), ("teacher",))
ENDPOINT = Setting("$OPENAI_BASE_URL", lambda c: os.environ.get("OPENAI_BASE_URL"))
TRAINING = ("torch", "transformers", "accelerate", "peft")
GGUF = llama_cpp("export.gguf", lambda c: bool(c.export.gguf), "set export.gguf: []")
LOCAL_TEACHER = llama_cpp("teacher.local", lambda c: bool(c.teacher.local), "set teacher.local: null")
LOCAL_JUDGE = llama_cpp("teacher.local (the judge)", lambda c: bool(c.teacher.local) and c.eval.judge.enabled,
                        "set teacher.local: null or eval.judge.enabled: false")


def _sources(c: Config) -> list:
    return [s.path for s in [*c.sources, *c.background] if s.path is not None]


STAGES: tuple[Stage, ...] = (
    Stage("ingest", ("sources", "background", "persona", "ingest"), (), (), _run_ingest, files=_sources),
    Stage("build", ("data", "persona", "model", "seed"), ("ingest",), (), _run_build,
          packages=("tokenizers",), needs=(bundled_base(),)),
    Stage("synth", ("synth", TEACHER, "persona", "seed", ENDPOINT), ("build",), ("synth.enabled",), _run_synth,
          needs=(LOCAL_TEACHER,)),
    Stage("pretrain", ("train.pretrain", "model", TRAIN_ENV), ("build",), ("!model.base", "train.pretrain.enabled"),
          _run_pretrain, trains=True, packages=TRAINING, needs=(CUDA_DEVICE,)),
    Stage("cpt", ("train.cpt", "model.base", TRAIN_ENV), ("build", "pretrain"), ("train.cpt.enabled",), _run_cpt,
          trains=True, model_from=(), packages=TRAINING, needs=(CUDA_DEVICE, *qlora("cpt"))),
    Stage("sft", ("train.sft", "model.base", "model.chat_template", PROMPT, "synth.enabled", TRAIN_ENV),
          ("build", "synth", "pretrain", "cpt"), ("train.sft.enabled",), _run_sft,
          trains=True, model_from=("cpt",), packages=(*TRAINING, "trl"), needs=(CUDA_DEVICE, *qlora("sft"))),
    Stage("pref", ("train.pref", "model.base", TRAIN_ENV), ("build", "synth", "pretrain", "cpt", "sft"),
          ("train.pref.enabled",), _run_pref, trains=True, model_from=("cpt", "sft"), packages=(*TRAINING, "trl"),
          needs=(CUDA_DEVICE, preference_pairs("train.pref"))),
    Stage("reward", ("train.reward", "model.base", TRAIN_ENV), ("build", "synth", "pretrain", "cpt", "sft"),
          ("train.reward.enabled",), _run_reward, trains=True, model_from=("cpt", "sft"),
          packages=(*TRAINING, "trl"), needs=(CUDA_DEVICE, preference_pairs("train.reward"))),
    Stage("rl", ("train.rl", "model.base", TRAIN_ENV), ("ingest", "build", "synth", "pretrain", "cpt", "sft", "reward"),
          ("train.rl.enabled",), _run_rl, trains=True, model_from=("cpt", "sft"), packages=(*TRAINING, "trl"),
          needs=(CUDA_DEVICE, reward_model())),
    Stage("eval", ("eval", "persona", "seed", "train.device", "teacher.base_url", "teacher.model", "teacher.local",
                   "teacher.local_quant", "teacher.structured_output"),
          ("build", "pretrain", "cpt", "sft", "pref", "rl"), ("eval.enabled",), _run_eval,
          model_from=("cpt", "sft", "pref", "rl"), ladder=True, packages=("torch", "transformers", "sklearn"),
          needs=(CUDA_DEVICE, LOCAL_JUDGE)),
    Stage("export", ("export", "persona", "eval.generation", "seed"),
          ("build", "pretrain", "cpt", "sft", "pref", "rl", "eval"), ("export.enabled",), _run_export,
          model_from=("cpt", "sft", "pref", "rl"), packages=("torch", "transformers", "gguf"),
          needs=(GGUF, llama_cpp("export.lora_gguf: true", lambda c: c.export.lora_gguf,
                                 "set export.lora_gguf: false"))),
    # Each exported GGUF as a rung of the eval ladder: after export, its rows in eval/gguf.json.
    Stage("eval_gguf", ("eval", "persona", "seed", "teacher.base_url", "teacher.model", "teacher.local",
                        "teacher.local_quant", "teacher.structured_output"),
          ("build", "eval", "export"),
          ("eval.enabled", "export.enabled"), _run_eval_gguf, needs=(GGUF,)),
    # eval's and eval_gguf's files read as one ladder (doppel.eval_results): eval/report.html.
    Stage("report", ("persona",), ("pretrain", "cpt", "sft", "pref", "reward", "rl", "eval", "eval_gguf"),
          ("eval.enabled",), _run_report),
)
GRAPH = Graph(STAGES)
STAGE_NAMES = tuple(s.name for s in STAGES)
GROUPS = {"train": tuple(s.name for s in STAGES if s.trains)}


def stage_keys(stage: Stage, cfg: Config, ws: Workspace) -> tuple[str, str]:
    return GRAPH.keys(stage, cfg, ws)


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


def validate(cfg: Config) -> None:
    """Fail on missing source paths, or a run with neither a base model nor a way to pretrain one."""
    check_paths(cfg)
    if not cfg.model.base and not cfg.background and cfg.train.pretrain.enabled:
        raise UserError("model.base is empty and there are no background sources to pretrain a base "
                        "model on; set model.base to a model name or path, or add background: sources")


def prepare(cfg: Config) -> Workspace:
    """Check paths, create the run folder and write config.resolved.yaml."""
    validate(cfg)
    from doppel.train.distributed import barrier, is_main

    ws = Workspace(cfg.run_dir).create()
    if is_main():  # with several training processes, rank 0 alone writes the run folder
        atomic_write_text(ws.root / "config.resolved.yaml", dump_resolved(cfg))
    barrier()
    return ws


def plan_run(cfg: Config, ws: Workspace, names: list[str], force: bool = False) -> tuple[list[Step], list[str]]:
    """What `run` would do with these stages, and what they need that is missing; runs nothing."""
    steps = plan(GRAPH, cfg, ws, names, force)
    return steps, unmet(GRAPH, cfg, ws, steps)


def run_pipeline(cfg: Config, ws: Workspace, names: list[str], force: bool = False,
                 report: Callable[[str, str, dict], None] | None = None, resume: str = "auto") -> dict[str, str]:
    """Run the named stages in order; returns each stage's outcome (done/skipped/disabled).

    `resume` (doppel train --resume / --restart) goes to the training stages that run; "require"
    only to the first of them, the later ones start normally.
    """
    report = report or (lambda name, status, summary: None)
    steps, problems = plan_run(cfg, ws, names, force)
    if problems:
        raise UserError("no stage has run: the stages to run need what is missing here\n"
                        + "\n".join(f"  - {p}" for p in problems))
    if any(s.name in names and s.name != "ingest" for s in STAGES):
        from doppel.modeling import quiet_libraries

        quiet_libraries()
    from doppel.train.distributed import barrier, is_main

    main = is_main()
    planned = {s.name: s.keys for s in steps}
    outcome: dict[str, str] = {}
    for stage in STAGES:
        if stage.name not in names:
            continue
        if not stage.enabled(cfg):
            outcome[stage.name] = "disabled"
            report(stage.name, "disabled", {})
            continue
        barrier()  # every rank sees the manifest rank 0 wrote for the previous stage
        # The plan's keys hold while nothing this stage reads has run since.
        ran = any(outcome.get(u) == "done" for u in stage.upstream)
        config_hash, inputs_hash = stage_keys(stage, cfg, ws) if ran else planned[stage.name]
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
