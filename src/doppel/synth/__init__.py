"""Synthetic training data from a teacher LLM: questions, answers, scores, guard, identity, preferences."""
