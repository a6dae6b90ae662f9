"""`python -m doppel` runs the CLI."""

from doppel.cli import main

main()
