"""Evaluate: held-out perplexity and sample answers for every model of a run."""
