"""The application factory: `create_app(settings)` builds everything; nothing happens at import."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from functools import partial

from fastapi import FastAPI

from issuer import __version__
from issuer.config import Settings
from issuer.profiles import IssuerProfile
from issuer.render_method import certificate_template, render_method
from issuer.services.identity import IssuerIdentity, load_identity
from issuer.services.key_versions import Reloading
from issuer.services.keyring import KeyRing
from issuer.services.sso import OpenIdProvider
from issuer.store.db import counter_engine, make_engine, read_session_factory, session_factory
from issuer.web import assets, errors, limits
from issuer.web.assets import Assets
from issuer.web.gate import AuthenticateFirst
from issuer.web.ratelimit import RateLimiter
from issuer.web.routes import (
    account,
    coordinator,
    docs,
    endorsements,
    learner,
    ob_api,
    public,
    render,
    sso,
    supervisor,
    vc_api,
    verify,
    wallets,
)
from issuer.web.routes.render import render_template_url
from issuer.web.security import SecurityHeaders
from issuer.web.templating import make_templates


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    # Everything built at start-up (libraries, compiled templates) lives as long as the
    # process: freezing it keeps the collector from walking it on every full collection,
    # which bench/scale.py saw as 130 ms pauses (dashboard p95 183 ms at 10k stored).
    environment = app.state.templates.env
    for name in environment.list_templates():
        environment.get_template(name)
    gc.freeze()
    yield
    app.state.engine.dispose()  # close pooled connections when the server stops
    app.state.counter_engine.dispose()  # SQLite's counters file (the same engine otherwise)


def create_app(settings: Settings) -> FastAPI:
    # /docs is ours (templates/docs.html): FastAPI's loads Swagger UI from a CDN with an inline
    # script, which neither works offline nor passes the Content-Security-Policy.
    app = FastAPI(
        title="Open Badges 3.0 issuer",
        version=__version__,
        lifespan=lifespan,
        docs_url=None,
        redoc_url=None,
    )
    # Innermost first: the gate sees a request only once its size is known to be allowed.
    app.add_middleware(AuthenticateFirst)
    # Before SecurityHeaders, which so wraps it: a 413 sent before the app runs has the headers.
    limits.install(
        app, max_body_bytes=settings.max_body_bytes, max_upload_bytes=settings.max_upload_bytes
    )
    app.add_middleware(SecurityHeaders, https=settings.base_url.startswith("https://"))
    app.state.settings = settings
    app.state.brand = settings.brand()
    logo, logo_type = app.state.brand.logo_file()
    logo_name = "logo.svg" if logo_type == "image/svg+xml" else "logo.png"
    # Made at start-up: the logo (also the favicon) and the brand colour as custom properties.
    brand_css = app.state.brand.stylesheet().encode()
    app.state.assets = Assets.load(
        settings.static_dir, {logo_name: logo, "brand.css": brand_css}, favicon=logo_name
    )
    app.state.templates = make_templates(
        settings.templates_dir, app.state.assets, app.state.brand, logo_name
    )
    # Settings are read once per app: the Profile, the brand and the rest live on app.state.
    app.state.issuer_profile = settings.issuer_profile()
    app.state.creator_profile = app.state.issuer_profile.to_json()
    # The certificate template wallets draw our credentials with, at a content-addressed URL.
    app.state.render_template = certificate_template(app.state.brand.colour)
    app.state.render_method = (
        render_method(
            render_template_url(settings.base_url, app.state.render_template),
            app.state.render_template,
        )
        if settings.render_method
        else None
    )
    app.state.engine = make_engine(settings.database_url)
    app.state.sessions = session_factory(app.state.engine)
    app.state.read_sessions = read_session_factory(app.state.engine)
    app.state.mail_transport = settings.mail_transport(app.state.brand)  # on the brand
    app.state.counter_engine = counter_engine(settings.database_url, app.state.engine)
    app.state.rate_limiter = RateLimiter(session_factory(app.state.counter_engine))
    # The issuer's keys, reloaded when `issuer keys rotate` records a new version: every
    # instance then signs with a key every instance's DID document lists.
    app.state.identity = Reloading(
        partial(_identity, settings, app.state.issuer_profile), app.state.engine
    )
    errors.install(app)
    # One router per audience, each with its JSON and its pages side by side.
    for audience in (account, coordinator, supervisor, learner, wallets, vc_api, verify):
        app.include_router(audience.router)
    app.include_router(ob_api.router)  # the Open Badges API and the learner's backpacks
    app.include_router(endorsements.router)
    app.include_router(render.router)
    app.include_router(public.router)  # last: its /{path}/did.json would shadow others
    app.include_router(assets.router)
    app.include_router(docs.router)
    app.state.sso = _sso_provider(settings)
    if app.state.sso is not None:
        app.include_router(sso.router)
    return app


def _identity(settings: Settings, profile: IssuerProfile) -> IssuerIdentity | None:
    """The issuer's identity from its key ring, or None before a signing key exists."""
    if not KeyRing(settings.keys_dir).exists():
        return None
    return load_identity(
        settings.keys_dir,
        settings.key_passphrase,
        settings.did,
        profile,
        proofs=settings.proofs,
        jwt_algorithm=settings.jwt_alg,
    )


def _sso_provider(settings: Settings) -> OpenIdProvider | None:
    """The institution's OpenID provider, when this deployment signs people in with one."""
    if not (settings.oidc_issuer and settings.oidc_client_id and settings.oidc_client_secret):
        return None
    return OpenIdProvider(
        settings.oidc_issuer,
        settings.oidc_client_id,
        settings.oidc_client_secret,
        redirect_uri=f"{settings.base_url}/sso/callback",
        allow_loopback_http=settings.oidc_allow_loopback_http,
    )


def app_from_env() -> FastAPI:
    """The factory `issuer serve` hands to uvicorn: settings from ISSUER_* variables."""
    return create_app(Settings.from_env())
