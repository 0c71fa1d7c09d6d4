"""Static assets (stylesheet, scripts, the API docs' bundle) under content-hashed names.

`/static/app.3f2a9c1b7d04.css`: the name changes whenever the content does, so each file is
cached for a year (`immutable`) and a deployment never serves a stale one. Everything is
served by the app itself: no CDN, and nothing the Content-Security-Policy would have to allow.
"""

from __future__ import annotations

import mimetypes
from dataclasses import dataclass
from hashlib import sha256
from importlib import resources
from pathlib import Path

from fastapi import APIRouter, Request
from fastapi.responses import Response

from issuer.errors import NotFound

CACHE_FOREVER = "public, max-age=31536000, immutable"
ONE_DAY = "public, max-age=86400"
# Swagger UI for /docs, as packaged (with its licence) by fastapi-offline.
SWAGGER_FILES = ("swagger-ui-bundle.js", "swagger-ui.css")


@dataclass(frozen=True, slots=True)
class Asset:
    name: str
    content: bytes
    media_type: str

    @property
    def hashed_name(self) -> str:
        stem, dot, suffix = self.name.rpartition(".")
        return f"{stem}.{sha256(self.content).hexdigest()[:12]}{dot}{suffix}"


@dataclass(frozen=True, slots=True)
class Assets:
    """Every asset by its logical name (`app.css`) and by its hashed name."""

    by_name: dict[str, Asset]
    by_hashed_name: dict[str, Asset]
    favicon: str | None = None  # the logical name of the icon `/favicon.ico` answers with

    @classmethod
    def load(
        cls, directory: Path, extra: dict[str, bytes] | None = None, favicon: str | None = None
    ) -> Assets:
        """The files of `directory`, Swagger UI's, and `extra` ones made at start-up (the
        brand's logo as `logo.svg` or `logo.png`, its colours as `brand.css`)."""
        found = [_asset(path.name, path.read_bytes()) for path in sorted(directory.iterdir())]
        found += [_asset(name, content) for name, content in (extra or {}).items()]
        swagger = resources.files("fastapi_offline") / "static"
        found += [_asset(name, (swagger / name).read_bytes()) for name in SWAGGER_FILES]
        return cls({a.name: a for a in found}, {a.hashed_name: a for a in found}, favicon)

    def url(self, name: str) -> str:
        """The cache-forever URL of `name`; a KeyError (a template typo) fails loudly."""
        return f"/static/{self.by_name[name].hashed_name}"


def _asset(name: str, content: bytes) -> Asset:
    media_type = mimetypes.guess_type(name)[0] or "application/octet-stream"
    if media_type.startswith("text/") or media_type.endswith("javascript"):
        media_type += "; charset=utf-8"
    return Asset(name, content, media_type)


router = APIRouter(include_in_schema=False)


@router.get("/static/{name}")
def static_asset(request: Request, name: str) -> Response:
    assets: Assets = request.app.state.assets
    asset = assets.by_hashed_name.get(name)
    if asset is None:
        raise NotFound(f"no asset {name}")
    return Response(
        asset.content, media_type=asset.media_type, headers={"cache-control": CACHE_FOREVER}
    )


@router.get("/favicon.ico")
def favicon(request: Request) -> Response:
    """The brand's icon at the address browsers (and Lighthouse) ask for whatever the page
    links: a 404 here is an error in every console. Cached for a day, not forever: the
    address stays the same when the logo changes."""
    assets: Assets = request.app.state.assets
    asset = assets.by_name.get(assets.favicon or "")
    if asset is None:
        raise NotFound("no icon")
    return Response(asset.content, media_type=asset.media_type, headers={"cache-control": ONE_DAY})
