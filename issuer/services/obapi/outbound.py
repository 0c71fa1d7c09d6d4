"""POST requests to a backpack through `Fetcher.post`, under the rules it sets for every
outbound request: its scheme and address checks (the host resolved once, the connection pinned
to the checked address), its size cap and its deadline. Redirects are not followed."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from issuer.services.fetching import Fetcher


@dataclass(frozen=True, slots=True)
class Reply:
    status: int
    content_type: str
    body: bytes

    def json(self) -> Any:
        """The body as JSON; None when it is not JSON at all."""
        try:
            return parse_json(self.body)
        except ValueError:
            return None


def parse_json(body: bytes) -> Any:
    """JSON from a backpack; ValueError when it is not JSON, nested too deeply included."""
    try:
        return json.loads(body)
    except RecursionError:
        # json.loads recurses once per nested array or object: "[" * 300000 exhausts the
        # stack as RecursionError, which is no ValueError and would escape as a 500.
        raise ValueError("JSON nested too deeply") from None


def post(fetcher: Fetcher, url: str, body: bytes, headers: dict[str, str]) -> Reply:
    """POST `body` to `url`; FetchRefused when policy forbids it or the server cannot be had."""
    return Reply(*fetcher.post(url, body, headers))
