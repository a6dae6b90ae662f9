"""Ingest: read source files into Documents with speaker turns, and report what was kept."""
