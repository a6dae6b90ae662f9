"""Evaluate: the persona ladder (base, prompted base, every trained stage) scored on held-out text and questions, with an LLM judge, human A/B votes and an HTML report."""
