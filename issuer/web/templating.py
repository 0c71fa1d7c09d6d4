"""Jinja2 templates with autoescaping on for every file (HTML and SVG alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2
from fastapi import Request, Response
from fastapi.templating import Jinja2Templates


def make_templates(directory: Path) -> Jinja2Templates:
    """One environment for every template; StrictUndefined turns a typo into an error."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    return Jinja2Templates(env=environment)


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page from `templates/` for this request (typed wrapper over TemplateResponse)."""
    templates: Jinja2Templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response
