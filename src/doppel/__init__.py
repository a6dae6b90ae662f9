"""Doppel: turn one person's words into a language model in their voice, and measure it."""

__version__ = "0.1.0"
