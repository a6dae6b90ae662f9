"""The export stage: the newest trained model as a merged, standalone HF folder."""

from __future__ import annotations

from doppel.config import ExportConfig
from doppel.export.merge import merge_to_folder
from doppel.modeling.loading import ModelSource
from doppel.workspace import StageResult, Workspace


def run(cfg: ExportConfig, src: ModelSource, ws: Workspace) -> StageResult:
    folder = ws.export / "merged"
    summary = merge_to_folder(src, folder, cfg.dtype)
    summary["folder"] = str(folder)
    return StageResult(summary, [folder])
