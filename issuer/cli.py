"""The `issuer` command line: a thin edge over the services, for operators.

Errors raised on purpose (IssuerError) become one line on stderr and exit status 2 for bad
input; verification failures exit 1. Tracebacks are for bugs only.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated

import typer

from issuer.config import Settings
from issuer.errors import IssuerError
from issuer.services import catalog

app = typer.Typer(
    help="Open Badges 3.0 issuer for occupational skills frameworks.", no_args_is_help=True
)
achievements_app = typer.Typer(help="Build Open Badges 3.0 Achievements from skills frameworks.")
app.add_typer(achievements_app, name="achievements")

EXIT_INVALID = 2


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn our own errors into a message on stderr and exit status 2."""
    try:
        yield
    except IssuerError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


def settings() -> Settings:
    with reported_errors():
        try:
            return Settings.from_env()
        except ValueError as error:
            raise typer.BadParameter(f"invalid ISSUER_* setting: {error}") from None


@achievements_app.command("build")
def achievements_build(
    frameworks: Annotated[list[Path], typer.Argument(help="Framework JSON files.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("achievements"),
) -> None:
    """Validate frameworks and write one Achievement per level to OUT/<soc>/<level>.json.

    Every file is validated before anything is written: on any error nothing is written.
    """
    config = settings()
    with reported_errors():
        written = catalog.build_achievement_files(
            frameworks,
            out,
            base_url=config.base_url,
            creator=config.creator_profile(),
            language=config.language,
        )
    for path in written:
        typer.echo(str(path))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default ISSUER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ISSUER_PORT).")] = None,
) -> None:
    """Serve the issuer's web app and API."""
    import uvicorn

    from issuer.web.app import create_app

    config = settings()
    with reported_errors():
        application = create_app(config)
    uvicorn.run(application, host=host or config.host, port=port or config.port)
