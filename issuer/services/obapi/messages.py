"""OAuth requests and answers as plain values, and the forms Authlib's server takes.

The web edge reads a request (method, our public URL for it, headers, query or form pairs, a
JSON body) into an `OAuthRequest`; the services answer with an `OAuthAnswer` (status, JSON
body, headers such as `Location` or `Cache-Control: no-store`). Nothing here knows FastAPI:
these are Authlib's framework integration, written once for our own edge.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from authlib.oauth2.rfc6749 import JsonPayload, JsonRequest, OAuth2Payload, OAuth2Request


@dataclass(frozen=True, slots=True)
class OAuthRequest:
    """`uri` is the request's address at our public base URL (ISSUER_BASE_URL), not the one
    the server heard: behind a TLS proxy that is plain http, which OAuth refuses."""

    method: str
    uri: str
    headers: Mapping[str, str] = field(default_factory=dict)
    params: tuple[tuple[str, str], ...] = ()
    json: Any = None

    def param(self, name: str) -> str | None:
        return next((value for key, value in self.params if key == name), None)


@dataclass(frozen=True, slots=True)
class OAuthAnswer:
    status: int
    body: dict[str, Any]
    headers: dict[str, str]

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


def answer(status: int, body: Any, headers: Iterable[tuple[str, str]]) -> OAuthAnswer:
    """Authlib's (status, body, headers) as an OAuthAnswer."""
    return OAuthAnswer(status, dict(body) if body else {}, dict(headers))


class Headers(dict[str, str]):
    """Header names looked up in any case (Authlib asks for "Authorization")."""

    def __init__(self, headers: Mapping[str, str]) -> None:
        super().__init__((name.lower(), value) for name, value in headers.items())

    def get(self, name: str, default: Any = None) -> Any:
        return super().get(name.lower(), default)

    def __getitem__(self, name: str) -> str:
        return super().__getitem__(name.lower())

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and super().__contains__(name.lower())


class _Payload(OAuth2Payload):  # type: ignore[misc]
    def __init__(self, params: Iterable[tuple[str, str]]) -> None:
        self._datalist: defaultdict[str, list[str]] = defaultdict(list)
        for key, value in params:
            self._datalist[key].append(value)
        self._data = {key: values[0] for key, values in self._datalist.items()}

    @property
    def data(self) -> dict[str, str]:
        return self._data

    @property
    def datalist(self) -> defaultdict[str, list[str]]:
        return self._datalist


class _FormRequest(OAuth2Request):  # type: ignore[misc]
    def __init__(self, request: OAuthRequest) -> None:
        super().__init__(request.method, request.uri, headers=Headers(request.headers))
        self.payload = _Payload(request.params)

    @property
    def args(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data

    @property
    def form(self) -> dict[str, str]:
        data: dict[str, str] = self.payload.data
        return data


class _JsonPayload(JsonPayload):  # type: ignore[misc]
    def __init__(self, document: Any) -> None:
        self._document = document

    @property
    def data(self) -> Any:
        return self._document


def oauth2_request(request: OAuthRequest) -> Any:
    """The request as Authlib's OAuth2Request (InsecureTransportError for plain http but on a
    loopback address)."""
    return _FormRequest(request)


def json_request(request: OAuthRequest) -> Any:
    """The request as Authlib's JsonRequest (client registration)."""
    made = JsonRequest(request.method, request.uri, Headers(request.headers))
    made.payload = _JsonPayload(request.json)
    return made
