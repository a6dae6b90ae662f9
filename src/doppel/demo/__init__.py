"""A deterministic generator of a fictional person's corpus (and a neutral background) for demos and tests."""

from doppel.demo.persona import DEMO_PERSONA, DemoPersona
from doppel.demo.writers import generate_demo_sources

__all__ = ["DEMO_PERSONA", "DemoPersona", "generate_demo_sources"]
