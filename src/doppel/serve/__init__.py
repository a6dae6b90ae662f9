"""Serve: the chat REPL, the OpenAI-compatible HTTP server and its web chat page, over transformers or llama.cpp."""
