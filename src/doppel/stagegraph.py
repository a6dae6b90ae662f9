"""The stage graph as data, and the plan of a run: what would run, what is skipped, and why.

Each stage declares its settings (config keys, or values computed from the config), the
stages whose outputs it reads, the switches that turn it on, which trained models it may
start from and what it needs. The skip-if-current keys, "which model" for every stage,
`doppel run --plan` and the needs check before the first stage all come from that table.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable

from doppel.config import Config
from doppel.needs import Ctx, Need, bundled_base, missing, package, pretrained_base
from doppel.workspace import StageResult, Workspace, fingerprint, hash_config

SECRETS = ("teacher.api_key",)  # never compared, never named
NEVER = "it never ran"


@dataclass(frozen=True)
class Setting:
    """A value a stage's hash covers that is computed from the config rather than read at one key."""

    name: str
    get: Callable[[Config], Any]
    keys: tuple[str, ...] = ()  # the config keys it is computed from; --plan names those that changed


def lookup(cfg: Any, dotted: str) -> Any:
    for part in dotted.split("."):
        cfg = getattr(cfg, part)
    return cfg


@dataclass(frozen=True)
class Stage:
    name: str
    # What the config hash covers, in order: dotted keys or Settings (a callable works too,
    # but then --plan cannot name the key that changed).
    config: tuple[str | Setting, ...] | Callable[[Config], Any]
    upstream: tuple[str, ...]  # stages whose outputs it reads (the order is part of the hash)
    # Keys that must be true for it to run ('!key': must be empty); or a callable.
    switches: tuple[str, ...] | Callable[[Config], bool]
    run: Callable[[Config, Workspace, str], StageResult]
    trains: bool = False  # writes a model under models/<name>/
    # The trained models it may start from, oldest first: it starts from the newest enabled one,
    # from the base model when none is; `ladder` takes the base and every enabled one. None: no model.
    model_from: tuple[str, ...] | None = None
    ladder: bool = False
    packages: tuple[str, ...] = ()  # import names it always needs
    needs: tuple[Need, ...] = ()  # needs that depend on settings
    files: Callable[[Config], list[Path]] | None = None  # files outside the run folder it reads

    def settings(self, cfg: Config) -> Any:
        if callable(self.config):
            return self.config(cfg)
        return [e.get(cfg) if isinstance(e, Setting) else lookup(cfg, e) for e in self.config]

    def disabled_by(self, cfg: Config) -> str | None:
        """Why the stage is off, or None when it is on."""
        if callable(self.switches):
            return None if self.switches(cfg) else "disabled in the config"
        for key in self.switches:
            if key.startswith("!") and lookup(cfg, key[1:]):
                return f"{key[1:]} is set"
            if not key.startswith("!") and not lookup(cfg, key):
                return f"{key} is false"
        return None

    def enabled(self, cfg: Config) -> bool:
        return self.disabled_by(cfg) is None

    @property
    def switch(self) -> str | None:
        """The setting that turns the stage off, for messages."""
        if callable(self.switches):
            return None
        return next((k for k in self.switches if not k.startswith("!")), None)

    def watched(self) -> tuple[str, ...]:
        if callable(self.config):
            return ()
        return tuple(k for e in self.config for k in (e.keys if isinstance(e, Setting) else (e,)))


class Graph:
    """The stage table with the rules read from it."""

    def __init__(self, stages: tuple[Stage, ...]):
        self.stages = stages
        self.by_name = {s.name: s for s in stages}
        order = [s.name for s in stages]
        for s in stages:
            # A stage must read (and so be rerun after) the model it starts from.
            wrong = [m for m in s.model_from or () if m not in s.upstream or not self.by_name[m].trains
                     or order.index(m) > order.index(s.name)]
            if wrong:
                raise ValueError(f"stage {s.name}: model_from {wrong} must be earlier training stages in upstream")

    def start_stage(self, cfg: Config, name: str) -> str | None:
        """The stage whose model `name` starts from: the newest enabled one it may; None: the base model."""
        return next((m for m in reversed(self.by_name[name].model_from or ()) if self.by_name[m].enabled(cfg)), None)

    def ladder(self, cfg: Config, name: str) -> list[str]:
        return [m for m in self.by_name[name].model_from or () if self.by_name[m].enabled(cfg)]

    def starts_from(self, cfg: Config, name: str) -> str | None:
        """How --plan names the model(s) a stage starts from."""
        stage = self.by_name[name]
        if stage.model_from is None:
            return None
        if stage.ladder:
            return "models: " + ", ".join(["base", *self.ladder(cfg, name)])
        return "from " + (self.start_stage(cfg, name) or "base")

    def switched_off(self, cfg: Config, stage: Stage) -> set[str]:
        """Models it may start from that are off now: they count as never run, so that switching
        one off reruns the stage (on another model)."""
        return {m for m in stage.model_from or () if not self.by_name[m].enabled(cfg)}

    def keys(self, stage: Stage, cfg: Config, ws: Workspace) -> tuple[str, str]:
        """(config hash, inputs hash): the stage is current when both match its last success."""
        off = self.switched_off(cfg, stage)
        parts = [ws.output_hash(u, counted=u not in off) for u in stage.upstream]
        if stage.files is not None:
            parts.append(fingerprint(stage.files(cfg)))
        return hash_config(stage.settings(cfg)), hash_config(parts)

    def needs(self, cfg: Config, name: str) -> list[Need]:
        """Everything the stage needs: its packages, its needs, and the model it starts from."""
        stage = self.by_name[name]
        off = f"set {stage.switch}: false" if stage.switch else ""
        found = [package(m, f"the {name} stage", off) for m in stage.packages] + list(stage.needs)
        if stage.model_from is None:
            return found
        start = None if stage.ladder else self.start_stage(cfg, name)
        if start is None:
            return found + [bundled_base(), pretrained_base()]
        from doppel.modeling.loading import stage_model

        key = self.by_name[start].switch or f"the {start} stage"
        return found + [Need(key, f"the {start} model, which {name} starts from and is not trained yet",
                             lambda ctx: start in ctx.runs or stage_model(ctx.ws.root, start) is not None,
                             f"run 'doppel run CONFIG' (or '--only {start}') first, or set {key}: false")]


@dataclass(frozen=True)
class Step:
    """One stage in the plan: run, skip (up to date) or disabled, and why."""

    name: str
    action: str
    why: str
    model: str | None = None  # the model(s) it starts from
    keys: tuple[str, str] | None = None


def plan(graph: Graph, cfg: Config, ws: Workspace, names: list[str], force: bool = False) -> list[Step]:
    """What `run` would do with these stages, stage by stage, without running any."""
    previous = _previous_config(ws)
    runs: set[str] = set()
    steps: list[Step] = []
    for stage in graph.stages:
        if stage.name not in names:
            continue
        off = stage.disabled_by(cfg)
        if off:
            steps.append(Step(stage.name, "disabled", off))
            continue
        keys = graph.keys(stage, cfg, ws)
        why = ["--force"] if force else _stale(stage, keys, ws, previous, cfg, graph.switched_off(cfg, stage))
        if why != ["--force"] and why != [NEVER]:
            why += [f"{u} runs first" for u in stage.upstream if u in runs]
        if why:
            runs.add(stage.name)
        steps.append(Step(stage.name, "run" if why else "skip", "; ".join(why) or "up to date",
                          graph.starts_from(cfg, stage.name), keys))
    return steps


def unmet(graph: Graph, cfg: Config, ws: Workspace, steps: list[Step]) -> list[str]:
    """Every need of the stages the plan runs that is not met here, one line each."""
    names = [s.name for s in steps if s.action == "run"]
    return missing([(name, need) for name in names for need in graph.needs(cfg, name)], Ctx(cfg, ws, set(names)))


def _previous_config(ws: Workspace) -> Config | None:
    """The config the last run started with (config.resolved.yaml), to name what changed."""
    from doppel.config import load_config
    from doppel.errors import UserError

    if not (ws.root / "config.resolved.yaml").exists():
        return None
    try:
        return load_config(ws.root)
    except UserError:
        return None


def _stale(stage: Stage, keys: tuple[str, str], ws: Workspace, previous: Config | None, cfg: Config,
           off: set[str]) -> list[str]:
    """Why a stage is not up to date ([] when it is)."""
    entry = ws.stage_entry(stage.name)
    status = entry.get("status")
    if status is None:
        return [NEVER]
    if status == "running":
        return ["its last run was interrupted"]
    if status == "failed":
        error = str(entry.get("error") or "")
        return [f"its last run failed ({error[:120]})" if error else "its last run failed"]
    why = []
    if entry.get("config_hash") != keys[0]:
        why.append(_changed_settings(stage, entry, previous, cfg))
    if entry.get("inputs_hash") != keys[1]:
        why.append(_changed_inputs(stage, entry, ws, off))
    gone = [rel for rel in entry.get("outputs", {}) if not (ws.root / rel).exists()]
    if gone:
        why.append(f"its output {gone[0]} is missing")
    return why


def _flat(obj: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(obj, dict):
        return {k: v for key, value in obj.items() for k, v in _flat(value, f"{prefix}{key}.").items()}
    return {prefix[:-1]: obj}


def _changed_settings(stage: Stage, entry: dict, previous: Config | None, cfg: Config) -> str:
    # The last run's config names the keys only when it is what this stage last ran with.
    if previous is None or hash_config(stage.settings(previous)) != entry.get("config_hash"):
        return "its settings changed since it last ran"
    now, before = _flat(cfg.model_dump(mode="json")), _flat(previous.model_dump(mode="json"))
    watched = stage.watched()
    keys = [k for k in dict.fromkeys([*now, *before]) if k not in SECRETS and now.get(k) != before.get(k)
            and any(k == w or k.startswith(w + ".") for w in watched)]
    return f"changed: {', '.join(keys)}" if keys else "its settings changed since it last ran"


def _changed_inputs(stage: Stage, entry: dict, ws: Workspace, off: set[str]) -> str:
    started = entry.get("started", "")
    newer = []
    for name in stage.upstream:
        up = ws.stage_entry(name)
        if name in off and up:
            newer.append(f"{name} is off now")
        elif up.get("status") in ("running", "failed"):
            newer.append(f"{name} did not finish its last run")
        elif up.get("finished", "") > started:
            newer.append(f"{name}'s outputs are newer")
    if newer:
        return "; ".join(newer)
    return "its source files changed" if stage.files is not None else "an earlier stage's outputs changed"


def plan_lines(steps: list[Step], problems: list[str]) -> list[str]:
    """The plan as text: one line a stage, then what is missing."""
    width = max([len(s.name) for s in steps] + [4])
    lines = []
    for s in steps:
        label = {"skip": "skip (up to date)", "run": "run", "disabled": "disabled"}[s.action]
        why = "" if s.action == "skip" else f": {s.why}"
        model = f"  [{s.model}]" if s.model and s.action != "disabled" else ""
        lines.append(f"  {s.name:<{width}}  {label}{why}{model}")
    if problems:
        lines += ["it would stop before the first stage, for what is missing here:", *(f"  - {p}" for p in problems)]
    elif any(s.action == "run" for s in steps):
        lines.append("everything the stages to run need is here")
    return lines
