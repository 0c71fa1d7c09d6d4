"""The learner's credential page, downloads, link preview, visibility and LinkedIn."""

from __future__ import annotations

import io
import json
import re
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest
from PIL import Image
from typer.testing import CliRunner

from issuer.baking.png import chunks, extract_png
from issuer.baking.svg import extract_svg
from issuer.cli import app as cli
from issuer.services.fetching import Fetcher
from issuer.services.verifying import verify_input
from tests.web.helpers import World, bearer, make_token

HTML = {"accept": "text/html"}


@pytest.fixture
def issued(world: World) -> tuple[World, str, bytes]:
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    stored = world.client.get(
        f"/credentials/{credential_id}", headers={"accept": "application/ld+json"}
    ).content
    return world, credential_id, stored


def test_content_negotiation_serves_the_signed_credential_exactly(
    issued: tuple[World, str, bytes],
) -> None:
    world, credential_id, stored = issued
    for accept in ("application/ld+json", "application/json"):
        response = world.client.get(f"/credentials/{credential_id}", headers={"accept": accept})
        assert response.content == stored
        assert response.headers["x-robots-tag"].startswith("noindex")
    assert json.loads(stored)["id"].endswith(credential_id)


def test_page_shows_badge_statements_status_and_link_preview(
    issued: tuple[World, str, bytes],
) -> None:
    world, credential_id, _ = issued
    page = world.client.get(f"/credentials/{credential_id}", headers=HTML)
    assert page.status_code == 200 and "noindex" in page.headers["x-robots-tag"]
    assert '<meta name="robots" content="noindex, nofollow">' in page.text
    assert "✔ Valid" in page.text and "Lee Learner" in page.text
    assert page.text.count("confirmed by Dr Sam Müller") == 10
    preview_url = re.search(r'<meta property="og:image" content="([^"]+)">', page.text).group(1)  # type: ignore[union-attr]
    assert preview_url.endswith(f"/credentials/{credential_id}/preview.png")
    image = Image.open(
        io.BytesIO(world.client.get(f"/credentials/{credential_id}/preview.png").content)
    )
    assert image.size[0] >= 1200 and image.size[1] >= 627
    owner = world.client.get(
        f"/credentials/{credential_id}", headers={**HTML, **bearer(world.learner)}
    ).text
    assert "https://www.linkedin.com/profile/add?startTask=CERTIFICATION_NAME&amp;name=" in owner
    assert "linkedin.com/profile/add" not in page.text  # strangers are not offered it
    revoke = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "error"},
        headers=bearer(world.coordinator),
    )
    assert revoke.status_code == 200
    assert "✘ Revoked" in world.client.get(f"/credentials/{credential_id}", headers=HTML).text


def test_every_download_round_trips_to_a_verified_credential(
    issued: tuple[World, str, bytes],
) -> None:
    world, credential_id, stored = issued
    base = f"/credentials/{credential_id}"
    downloads = {
        name: world.client.get(f"{base}/{name}")
        for name in (
            "credential.json",
            "badge.png",
            "badge.svg",
            "credential.jwt",
            "certificate.pdf",
        )
    }
    assert all(
        r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        for r in downloads.values()
    )
    assert downloads["credential.json"].content == stored
    png = downloads["badge.png"].content
    assert [kind for kind, _ in chunks(png)].count(b"iTXt") == 1 and extract_png(
        png
    ) == stored.decode()
    svg = downloads["badge.svg"].text
    assert svg.count("<openbadges:credential>") == 1 and extract_svg(svg) == stored.decode()
    token = downloads["credential.jwt"].text
    assert jwt.decode(token, options={"verify_signature": False})["vc"]["id"].endswith(
        credential_id
    )
    pdf = downloads["certificate.pdf"].content
    assert pdf.startswith(b"%PDF") and len(re.findall(rb"/Type\s*/Page\b", pdf)) == 2
    issuer = world.client.app.state.identity.get()  # type: ignore[attr-defined]
    from issuer.services.issuing import Issuer

    for data in (png, svg.encode(), token.encode(), stored):
        report = verify_input(
            data,
            session=None,
            issuer=Issuer(issuer, "http://127.0.0.1:8000"),
            fetcher=Fetcher(),
            now=datetime.now(UTC),
        )
        assert report.verified or [c.name for c in report.failed] == ["status"], report.failed


def test_the_learner_decides_who_sees_the_page(
    issued: tuple[World, str, bytes], db_settings
) -> None:  # type: ignore[no-untyped-def]
    world, credential_id, _ = issued
    path = f"/api/me/credentials/{credential_id}/visibility"
    assert world.client.post(
        path, json={"public": False}, headers=bearer(world.learner)
    ).json() == {"id": credential_id, "public": False}
    assert world.client.get(f"/credentials/{credential_id}", headers=HTML).status_code == 404
    assert world.client.get(f"/credentials/{credential_id}/badge.png").status_code == 404
    assert (
        world.client.get(
            f"/credentials/{credential_id}", headers={**HTML, **bearer(world.learner)}
        ).status_code
        == 200
    )
    other = make_token(db_settings, "other@example.org", "Other Learner", ["learner"])
    assert world.client.post(path, json={"public": True}, headers=bearer(other)).status_code == 404
    assert (
        world.client.post(path, json={"public": True}, headers=bearer(world.learner)).status_code
        == 200
    )
    assert world.client.get(f"/credentials/{credential_id}", headers=HTML).status_code == 200


def test_cli_bakes_and_verify_extracts(
    issued: tuple[World, str, bytes],
    runner: CliRunner,
    tmp_path: Path,
    db_settings,
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # type: ignore[no-untyped-def]
    world, credential_id, stored = issued
    credential = tmp_path / "c.json"
    credential.write_bytes(stored)
    for name in ("badge.png", "badge.svg"):
        image = tmp_path / name
        image.write_bytes(
            world.client.get("/achievements/29-2034.00/proficient/image.svg").content
            if name.endswith("svg")
            else world.client.get(f"/credentials/{credential_id}/badge.png").content
        )
        out = tmp_path / f"baked-{name}"
        result = runner.invoke(cli, ["bake", str(credential), str(image), "--out", str(out)])
        assert result.exit_code == 0, result.output
        again = runner.invoke(cli, ["bake", str(credential), str(out), "--out", str(out)])
        assert again.exit_code == 0
        data = out.read_bytes()
        assert (
            extract_png(data) if name.endswith("png") else extract_svg(data.decode())
        ) == stored.decode()
        monkeypatch.setenv("ISSUER_DATABASE_URL", db_settings.database_url)
        verified = runner.invoke(cli, ["verify", str(out)])
        assert verified.exit_code == 0, verified.output
    bad = runner.invoke(
        cli, ["bake", str(credential), str(credential), "--out", str(tmp_path / "x")]
    )
    assert bad.exit_code == 2
