"""Request body caps, enforced at the ASGI edge before anything reads a body.

A route that takes a body (a Pydantic model, Form fields, `await request.body()`) holds all of
it in memory before any check of ours runs: 20 MB to the unauthenticated `POST /verify` took
3 s and 160 MB. Here a declared Content-Length over the cap is answered 413 before the app
runs at all, and a body without one (chunked) is cut off as soon as it passes the cap.

Every route gets `max_body_bytes` (ISSUER_MAX_BODY_BYTES, 1 MiB: a 1 MB credential with its
JSON or multipart envelope); the framework and CSV uploads get `max_upload_bytes`
(ISSUER_MAX_UPLOAD_BYTES). The services still check the files themselves, with the limits of
limits.py, and say which limit a file broke.

FastAPI 0.165's own limiter (`FastAPI(max_body_size=...)`, Starlette's
RequestBodyLimitMiddleware) was the first choice, but it looks at Content-Length only when the
route first reads the body or has already answered: a route that never reads its body runs to
the end, its transaction committed, before a 413 replaces its answer. Its per-route caps are
an argument of each route decorator, spread over the route modules.
"""

from __future__ import annotations

from typing import TypedDict

from fastapi import FastAPI, Request, Response
from starlette.datastructures import Headers
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from issuer.web.errors import error_response


# Form fields of the upload pages, whose check page sends the CSV back for applying: parsed
# forms allow 1 MiB a field by default, and a 10,000-row file failed there (a bare 400) though
# its dry run had passed. Their bodies are capped at ISSUER_MAX_UPLOAD_BYTES before any parse,
# so no field can be larger than that; this only lifts the parser's own smaller ceiling.
class FormLimits(TypedDict, total=False):
    """The shape of FastAPI's `form_limits` (its own type is private)."""

    max_fields: int
    max_files: int
    max_part_size: int


UPLOAD_FORM_LIMITS: FormLimits = {"max_part_size": 256 * 1024 * 1024}

# The routes whose body is a framework file, an enrolment CSV or a CSV of sign-off records
# (tests/web/test_limits.py checks that each is still a route of the app).
UPLOAD_PATHS = frozenset(
    {
        "/api/frameworks",
        "/coordinator/frameworks",
        "/api/enrolments",
        "/coordinator/enrolment",
        "/api/records/imports",
        "/coordinator/imports",
    }
)


class ContentTooLarge(HTTPException):
    """A body over its cap (HTTP 413).

    An HTTPException on purpose: raised from `receive` while FastAPI parses a body, any other
    exception becomes its "There was an error parsing the body" 400; this one passes through
    to our handler (`install`)."""

    def __init__(self, limit: int) -> None:
        super().__init__(413, f"the request body is larger than {limit:,} bytes")


class BodyLimit:
    """The ASGI middleware; one instance per app, with the caps from the settings."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        max_body_bytes: int,
        max_upload_bytes: int,
        upload_paths: frozenset[str] = UPLOAD_PATHS,
    ) -> None:
        self.app = app
        self.max_body_bytes = max_body_bytes
        self.max_upload_bytes = max_upload_bytes
        self.upload_paths = upload_paths

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = self.max_upload_bytes if scope["path"] in self.upload_paths else self.max_body_bytes
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(scope, receive, send, ContentTooLarge(limit))
            return
        received = 0
        started = False

        async def counted() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > limit:
                    raise ContentTooLarge(limit)
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except ContentTooLarge as error:
            # Only when nothing inside answered it (the handler of `install` normally does).
            if started:
                raise
            await _refuse(scope, receive, send, error)


def install(app: FastAPI, *, max_body_bytes: int, max_upload_bytes: int) -> None:
    """Cap request bodies and answer 413 as our other errors: JSON, or the error page."""
    app.add_middleware(BodyLimit, max_body_bytes=max_body_bytes, max_upload_bytes=max_upload_bytes)

    @app.exception_handler(ContentTooLarge)
    async def content_too_large(request: Request, error: ContentTooLarge) -> Response:
        return error_response(request, error.status_code, error.detail, _CLOSE)


# The rest of the body is never read, so the connection cannot carry another request.
_CLOSE = {"Connection": "close"}


async def _refuse(scope: Scope, receive: Receive, send: Send, error: ContentTooLarge) -> None:
    response = error_response(Request(scope, receive), error.status_code, error.detail, _CLOSE)
    await response(scope, receive, send)


def _content_length(scope: Scope) -> int | None:
    value = Headers(scope=scope).get("content-length")
    try:
        return int(value) if value is not None else None
    except ValueError:
        return None  # the server refuses such a request; if not, the bytes are counted
