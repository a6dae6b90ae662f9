"""Serve: the chat REPL (and, later, the HTTP server and web page)."""
