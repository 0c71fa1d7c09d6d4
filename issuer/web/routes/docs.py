"""The JSON API's documentation at /docs: Swagger UI served from this origin."""

from __future__ import annotations

from fastapi import APIRouter, Request
from fastapi.responses import Response

from issuer.web.templating import render

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def api_docs(request: Request) -> Response:
    return render(request, "docs.html", {})
