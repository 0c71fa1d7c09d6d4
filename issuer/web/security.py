"""Security headers on every response: a strict Content-Security-Policy and its friends.

Each request gets a fresh nonce (`request.state.csp_nonce`, `{{ csp_nonce }}` in templates):
scripts and styles run only from this origin or with that nonce, so markup an attacker smuggles
into a page (an `onclick`, a `<script>`, a `javascript:` link) does nothing. Pages cannot be
framed (`frame-ancestors 'none'`: no clickjacking of coordinator forms). Pages that carry a
secret in their URL (claim links, wallet exchanges) send no Referer at all.

A plain ASGI middleware, not Starlette's BaseHTTPMiddleware: it adds headers to the
response start and never buffers a body.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable

from starlette.types import ASGIApp, Message, Receive, Scope, Send

# Paths whose URL holds a single-use secret: never leak it in a Referer header.
SECRET_PATHS = ("/claim/", "/exchanges/", "/interactions/", "/oid4vci/")
HSTS = "max-age=31536000; includeSubDomains"


def content_security_policy(nonce: str) -> str:
    """The policy: nothing from elsewhere but images (badge images live at their issuers)."""
    return "; ".join(
        (
            "default-src 'self'",
            f"script-src 'self' 'nonce-{nonce}'",
            f"style-src 'self' 'nonce-{nonce}'",
            "img-src 'self' data: https:",
            "font-src 'self'",
            "connect-src 'self'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        )
    )


class SecurityHeaders:
    """`https`: the public address (ISSUER_BASE_URL) is https, so browsers are told to use
    nothing else (HSTS), even when TLS ends at a proxy and the app hears plain http."""

    def __init__(self, app: ASGIApp, https: bool = False) -> None:
        self.app = app
        self.https = https

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        nonce = secrets.token_urlsafe(16)
        scope.setdefault("state", {})["csp_nonce"] = nonce
        path: str = scope.get("path", "")
        secure = self.https or scope.get("scheme") == "https"

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", []))
                present = {name.lower() for name, _ in headers}
                headers.extend(
                    (name, value)
                    for name, value in _headers(nonce, path, secure)
                    if name not in present
                )
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def _headers(nonce: str, path: str, secure: bool) -> Iterable[tuple[bytes, bytes]]:
    referrer = "no-referrer" if path.startswith(SECRET_PATHS) else "strict-origin-when-cross-origin"
    yield b"content-security-policy", content_security_policy(nonce).encode()
    yield b"x-content-type-options", b"nosniff"
    yield b"x-frame-options", b"DENY"
    yield b"referrer-policy", referrer.encode()
    yield b"cross-origin-opener-policy", b"same-origin"
    yield b"permissions-policy", b"camera=(), microphone=(), geolocation=()"
    if secure:
        yield b"strict-transport-security", HSTS.encode()
