"""The certificate template our credentials' `renderMethod` points at (issuer/render_method.py).

Its URL carries the template's digest, so it can be cached for good; a wallet asking for an
older template (the brand colour changed since) is told it is gone, not given other bytes than
its credential's `digestMultibase` promises."""

from __future__ import annotations

import hashlib

from fastapi import APIRouter, Request
from fastapi.responses import Response

from issuer.errors import NotFound
from issuer.render_method import TEMPLATE_MEDIA_TYPE
from issuer.web.assets import CACHE_FOREVER

router = APIRouter()


def render_template_url(base_url: str, template: bytes) -> str:
    return f"{base_url}/render/{_key(template)}/certificate.svg"


@router.get("/render/{key}/certificate.svg")
def certificate_template(request: Request, key: str) -> Response:
    template: bytes = request.app.state.render_template
    if key != _key(template):
        raise NotFound("no such template: the issuer's certificate template has changed")
    # Wallets fetch it from their own origin (a WebView, an app): let them.
    headers = {"Cache-Control": CACHE_FOREVER, "Access-Control-Allow-Origin": "*"}
    return Response(template, media_type=TEMPLATE_MEDIA_TYPE, headers=headers)


def _key(template: bytes) -> str:
    return hashlib.sha256(template).hexdigest()[:20]
