"""Typer CLI: one thin module per verb; logic lives in the library packages."""
