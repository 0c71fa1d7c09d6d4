"""Content negotiation: JSON-LD for machines, HTML for people, by the Accept header."""

from __future__ import annotations

from fastapi import Request

JSON_TYPES = ("application/ld+json", "application/json")


def wants_json(request: Request) -> bool:
    """True when the client asks for JSON (or JSON-LD) rather than a page.

    Browsers send `text/html` first; API clients and wallets send a JSON type. A request with
    no Accept at all gets JSON too: it is a program, not a person.
    """
    accept = request.headers.get("accept", "")
    if not accept or accept.strip() == "*/*":
        return True
    best_json = min((accept.find(t) for t in JSON_TYPES if t in accept), default=-1)
    html = accept.find("text/html")
    return best_json >= 0 and (html < 0 or best_json < html)


def safe_next(next: str) -> str:
    """`next` when it is a path on this site, else "". A backslash counts as a slash to
    browsers, so `/\\evil.example` would leave the site as surely as `//evil.example`."""
    if not next.startswith("/") or next.startswith(("//", "/\\")):
        return ""
    return "" if any(c < " " or c == "\x7f" for c in next) else next
