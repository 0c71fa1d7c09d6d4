"""Jinja2 templates with autoescaping on for every file (HTML and SVG alike)."""

from __future__ import annotations

from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import jinja2
from fastapi import Request, Response
from fastapi.templating import Jinja2Templates

from issuer.brand import Brand
from issuer.credentials import METHODS
from issuer.dates import human_date, human_time, short_date
from issuer.web.assets import Assets
from issuer.web.deps import signed_in


def make_templates(
    directory: Path,
    assets: Assets | None = None,
    brand: Brand | None = None,
    logo_name: str = "logo.svg",
) -> Jinja2Templates:
    """One environment for every template; StrictUndefined turns a typo into an error.

    `asset('app.css')` in a template is the content-hashed URL of a static file."""
    environment = jinja2.Environment(
        loader=jinja2.FileSystemLoader(directory),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
        # `{% do list.append(x) %}`: a template builds a macro's options without a helper.
        extensions=["jinja2.ext.do"],
    )
    environment.filters["http_url"] = http_url
    # Every date a page shows is written one way: `{{ x|human_date }}` → "2 November 2026".
    environment.filters["human_date"] = human_date
    environment.filters["short_date"] = short_date
    environment.filters["human_time"] = human_time
    # How a statement was confirmed, in words: templates never show the stored code.
    environment.globals["method_words"] = METHODS
    if assets is not None:
        environment.globals["asset"] = assets.url
    if brand is not None:
        # `brand.name`, `brand.colour`; the logo under its content-hashed name.
        environment.globals["brand"] = brand
        environment.globals["logo_url"] = assets.url(logo_name) if assets is not None else ""
    # Every page's header knows who is signed in (deps.signed_in), whatever its route passes.
    return Jinja2Templates(env=environment, context_processors=[signed_in])


def http_url(value: object) -> str | None:
    """`value` when it is an absolute http(s) URL, else None: the only addresses that data
    (a credential's issuer.url, a profile's image) may turn into links or image sources, so
    a `javascript:` or `data:` URL is shown as text at most, never followed."""
    if not isinstance(value, str) or any(c in value for c in "\x00\r\n\t"):
        return None
    parts = urlsplit(value.strip())
    if parts.scheme not in ("http", "https") or not parts.netloc:
        return None
    return value.strip()


def render(
    request: Request, name: str, context: dict[str, Any], status_code: int = 200
) -> Response:
    """A page from `templates/` for this request (typed wrapper over TemplateResponse)."""
    templates: Jinja2Templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response
