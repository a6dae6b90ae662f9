"""The model card says whom the model imitates: the demo's made-up persona, or the person a config names."""

from __future__ import annotations

from doppel.config import ModelConfig, PersonaConfig, TrainConfig
from doppel.demo import DEMO_PERSONA
from doppel.export.card import model_card
from doppel.workspace import Workspace


def card(tmp_path, persona: PersonaConfig) -> str:
    ws = Workspace(tmp_path / "run").create()
    return model_card(ws, persona, ModelConfig(base="some/base"), TrainConfig(), {}, {}, {}, None, {})


def test_the_demo_persona_is_called_fictional_and_a_configured_person_is_not(tmp_path):
    demo = card(tmp_path, PersonaConfig(name=DEMO_PERSONA.name, description=DEMO_PERSONA.description))
    assert "imitates Mara Quell, a fictional persona made up for Doppel's demo" in demo
    assert "`doppel demo` generated" in demo and "consent" not in demo and "real person" not in demo

    # Same name, another description: not the generator's persona, so nothing is claimed about her.
    other = card(tmp_path, PersonaConfig(name="Mara Quell", description="A ferry captain."))
    assert "imitates Mara Quell, the person named in its config" in other
    assert "fictional" not in other and "text they wrote or said" in other and "Mara Quell's consent" in other
    for text in (demo, other):
        assert "must not be presented as their words" in text
