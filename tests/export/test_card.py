"""The model card says whom the model imitates: a made-up persona (the demo's), or the person a config names."""

from __future__ import annotations

from doppel.config import ModelConfig, PersonaConfig, TrainConfig
from doppel.demo.config import demo_config
from doppel.export.card import model_card
from doppel.workspace import Workspace


def card(tmp_path, persona: PersonaConfig) -> str:
    ws = Workspace(tmp_path / "run").create()
    return model_card(ws, persona, ModelConfig(base="some/base"), TrainConfig(), {}, {}, {}, None, {})


def test_the_demo_persona_is_called_fictional_and_a_configured_person_is_not(tmp_path):
    demo = card(tmp_path, PersonaConfig(**demo_config(0)["persona"]))  # the demo's config marks her made up
    assert "imitates Mara Quell, a fictional persona (made up, as its config says)" in demo
    assert "made-up texts" in demo and "consent" not in demo and "real person" not in demo

    # The same persona without the mark: nothing is claimed about her.
    fields = {k: v for k, v in demo_config(0)["persona"].items() if k != "fictional"}
    other = card(tmp_path, PersonaConfig(**fields))
    assert "imitates Mara Quell, the person named in its config" in other
    assert "fictional" not in other and "text they wrote or said" in other and "Mara Quell's consent" in other
    for text in (demo, other):
        assert "must not be presented as their words" in text
