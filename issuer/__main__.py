"""`python -m issuer` runs the CLI."""

from issuer.cli import app

app()
