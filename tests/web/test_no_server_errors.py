"""No 500 from input (issue 15, item 10), over HTTP, against the real app on both databases.

Each of these was an unauthenticated or learner-made 500 (or a permanent 422): a VC-JWT whose
`alg` does not fit its key type, a PNG whose `iTXt` chunk has no separators, a supervisor's note
holding `]]>` (that credential's SVG could not be built), and a CSV sent to the enrolment API
the way `curl --data-binary @file.csv` sends it ("Stream consumed"). Each now gets a 4xx with a
message, or works. The layers below have their own tests (tests/proofs, tests/baking); these
prove the routes answer.
"""

from __future__ import annotations

import base64
import json
import struct
import time
import zlib
from typing import Any

import base58
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from issuer.baking.png import chunks
from issuer.baking.svg import extract_svg
from tests.web.helpers import SOC, World, bearer

HTML = {"accept": "text/html"}


def issued(world: World, **confirmation: Any) -> str:
    """The id of an award to the world's learner, statement 1 confirmed with `confirmation`."""
    assert world.confirm(1, **confirmation).status_code == 201
    for statement in range(2, 11):
        assert world.confirm(statement).status_code == 201
    response = world.attest()
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def with_header(token: str, **changes: str) -> str:
    """`token` with its protected header changed and its signature kept."""
    header, payload, signature = token.split(".")
    fields = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    return ".".join((b64url(json.dumps({**fields, **changes}).encode()), payload, signature))


def p256_labelled_eddsa() -> str:
    """A JWT signed with a P-256 did:key (ES256) whose header claims EdDSA."""
    private = ec.generate_private_key(ec.SECP256R1())
    point = private.public_key().public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.CompressedPoint
    )
    multikey = "z" + base58.b58encode(b"\x80\x24" + point).decode()
    did = f"did:key:{multikey}"
    token = jwt.encode(
        {"iss": did, "nbf": int(time.time()), "vc": {"issuer": did}},
        private,
        algorithm="ES256",
        headers={"kid": f"{did}#{multikey}"},
    )
    return with_header(token, alg="EdDSA")


@pytest.mark.parametrize(
    "forgery", ["ES256 on our Ed25519 key", "RS256 on our Ed25519 key", "EdDSA on a P-256 key"]
)
def test_a_jwt_whose_alg_does_not_fit_its_key_is_refused_with_a_message(
    world: World, forgery: str
) -> None:
    credential_id = issued(world)
    ours = world.client.get(f"/credentials/{credential_id}/credential.jwt")
    assert ours.status_code == 200, ours.text
    token = ours.text.strip()
    assert json.loads(base64.urlsafe_b64decode(token.split(".")[0] + "=="))["alg"] == "EdDSA"
    forged = {
        "ES256 on our Ed25519 key": lambda: with_header(token, alg="ES256"),
        "RS256 on our Ed25519 key": lambda: with_header(token, alg="RS256"),
        "EdDSA on a P-256 key": p256_labelled_eddsa,
    }[forgery]()

    answer = world.client.post("/credentials/verify", json={"verifiableCredential": forged})
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text)
    report = answer.json()
    assert report["verified"] is False
    messages = " ".join(str(e.get("message", "")) for e in report["errors"])
    assert "does not fit the key" in messages, report["errors"]

    page = world.client.post("/verify", data={"credential": forged}, headers=HTML)
    assert page.status_code < 500, page.status_code
    assert "does not fit the key" in page.text
    # The untouched token still verifies: the refusal is the header's, not the route's.
    genuine = world.client.post("/credentials/verify", json={"verifiableCredential": token})
    assert genuine.status_code == 200 and genuine.json()["verified"], genuine.text


def itxt(data: bytes) -> bytes:
    return (
        struct.pack(">I", len(data))
        + b"iTXt"
        + data
        + struct.pack(">I", zlib.crc32(b"iTXt" + data))
    )


@pytest.mark.parametrize(
    "payload", [b"", b"\x00", b"\x00\x00en", b"\x00\x00en\x00tr", b"\x07\x00\x00\x00{}"]
)
def test_a_png_with_a_malformed_itxt_chunk_is_a_4xx_with_a_message(
    world: World, payload: bytes
) -> None:
    """The learner's own baked badge, its credential chunk replaced by one without the
    separators iTXt requires (keyword, compression flag and method, language, translation)."""
    credential_id = issued(world)
    baked = world.client.get(f"/credentials/{credential_id}/badge.png").content
    rebuilt = baked[:8] + b"".join(
        itxt(b"openbadgecredential\x00" + payload)
        if kind == b"iTXt"
        else struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))
        for kind, data in chunks(baked)
    )
    assert rebuilt != baked and rebuilt.startswith(b"\x89PNG")
    answer = world.client.post(
        "/verify", files={"file": ("badge.png", rebuilt, "image/png")}, headers=HTML
    )
    assert 400 <= answer.status_code < 500, (answer.status_code, answer.text[-500:])
    assert "iTXt chunk is malformed" in answer.text
    # The badge as baked still verifies through the same form.
    genuine = world.client.post(
        "/verify", files={"file": ("badge.png", baked, "image/png")}, headers=HTML
    )
    assert genuine.status_code == 200 and "✔ Verified" in genuine.text


def test_a_note_holding_a_cdata_end_still_gives_a_verifying_svg(world: World) -> None:
    note = "Calm under pressure ]]> then ]]]> and <b>&amp;</b>"
    credential_id = issued(world, note=note)
    stored = world.client.get(f"/credentials/{credential_id}/credential.json").json()
    assert "]]>" in json.dumps(stored, ensure_ascii=False)  # the note reached the credential

    svg = world.client.get(f"/credentials/{credential_id}/badge.svg")
    assert svg.status_code == 200, (svg.status_code, svg.text[:500])
    assert json.loads(extract_svg(svg.text) or "null") == stored
    page = world.client.post(
        "/verify", files={"file": ("badge.svg", svg.content, "image/svg+xml")}, headers=HTML
    )
    assert page.status_code == 200 and "✔ Verified" in page.text, page.text[-1000:]


CSV = (
    "name,email,supervisor_email,framework,cohort\n"
    f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
)


@pytest.mark.parametrize(
    ("label", "body"),
    [
        ("curl --data-binary", {"content-type": "application/x-www-form-urlencoded"}),
        (
            "form-encoded with a charset",
            {"content-type": "application/x-www-form-urlencoded; charset=utf-8"},
        ),
        ("text/plain", {"content-type": "text/plain"}),
        ("octet-stream", {"content-type": "application/octet-stream"}),
        ("no content type", {}),
        ("a form field", "field"),
        ("curl -F file=@", "multipart"),
    ],
)
def test_a_csv_sent_any_way_to_the_enrolment_api_works_or_is_a_4xx(
    world: World, label: str, body: dict[str, str] | str
) -> None:
    sent: dict[str, Any]
    if body == "field":  # the CSV as the value of a form field: a form, not a CSV
        sent = {"data": {"file": CSV}}
    elif body == "multipart":
        sent = {"files": {"file": ("people.csv", CSV.encode(), "text/csv")}}
    else:
        assert isinstance(body, dict)
        sent = {"content": CSV.encode(), "headers": body}
    headers = {**bearer(world.coordinator), **sent.pop("headers", {})}
    for dry_run in ("true", "false"):
        answer = world.client.post(
            "/api/enrolments", params={"dry_run": dry_run}, headers=headers, **sent
        )
        assert answer.status_code < 500, (label, answer.status_code, answer.text)
        if answer.status_code == 200:
            statuses = [row["status"] for row in answer.json()["rows"]]
            assert statuses == ["valid" if dry_run == "true" else "enrolled"], (label, statuses)
        else:
            assert 400 <= answer.status_code < 500
            assert answer.json()["detail"], (label, answer.text)
    if body not in ("field", "multipart"):  # a raw CSV body, whatever its label, is read
        supervised = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor))
        assert "ana@example.org" in [learner["email"] for learner in supervised.json()], label
