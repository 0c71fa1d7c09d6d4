"""The application factory: `create_app(settings)` builds everything; nothing happens at import."""

from __future__ import annotations

from fastapi import FastAPI

from issuer import __version__
from issuer.config import Settings
from issuer.services.catalog import build_catalog, framework_files, load_frameworks
from issuer.services.identity import load_identity
from issuer.services.keyring import KeyRing
from issuer.web import errors
from issuer.web.routes import public
from issuer.web.templating import make_templates


def create_app(settings: Settings) -> FastAPI:
    app = FastAPI(title="Open Badges 3.0 issuer", version=__version__)
    app.state.settings = settings
    app.state.templates = make_templates(settings.templates_dir)
    creator = settings.issuer_profile()
    app.state.creator_profile = creator.to_json()
    frameworks = load_frameworks(
        framework_files(settings.frameworks_dir, settings.frameworks_upload_dir)
    )
    app.state.catalog = build_catalog(
        frameworks, base_url=settings.base_url, creator=creator, language=settings.language
    )
    ring = KeyRing(settings.keys_dir)
    app.state.identity = (
        load_identity(
            settings.keys_dir, settings.key_passphrase, settings.did, settings.issuer_profile()
        )
        if ring.exists()
        else None
    )
    errors.install(app)
    app.include_router(public.router)
    return app


def app_from_env() -> FastAPI:
    """The factory `issuer serve` hands to uvicorn: settings from ISSUER_* variables."""
    return create_app(Settings.from_env())
