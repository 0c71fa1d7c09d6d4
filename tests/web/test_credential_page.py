"""The credential page and the claim page (issue 17, item 4): the badge prominent with the
earner's name, the issuer's logo and the level's place in the framework ("Level 3 of 4", every
level shown); each statement once, with how it was confirmed in words, its date and setting;
dates for people; big actions for LinkedIn, wallets and downloads; the claim page with the
badge and the earner; a link preview that names the earner only while the page is public."""

from __future__ import annotations

import html
import re
from typing import Any

import pytest
from fastapi.testclient import TestClient

from issuer.config import Settings
from tests.web.helpers import World, bearer
from tests.web.test_invitations import outbox
from tests.web.test_owner_page import LEARNER_PASSWORD, browser

HTML = {"accept": "text/html"}
LEVELS = ("Emerging", "Developing", "Proficient", "Advanced")


@pytest.fixture
def issued(world: World) -> tuple[World, str, dict[str, Any]]:
    world.confirm_all()
    response = world.attest()
    assert response.status_code == 201, response.text
    return world, response.json()["id"], response.json()["credential"]


def visible(page: str) -> str:
    """What a person reads: the body's text, no tags or attribute values, spaces collapsed."""
    body = page.split("<body", 1)[-1]
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", body)).split())


def section(page: str, css_class: str) -> str:
    found = re.search(rf'<section class="{css_class}".*?</section>', page, re.S)
    assert found is not None, css_class
    return found.group(0)


def test_the_badge_with_the_earner_the_issuers_logo_and_the_levels_place(
    issued: tuple[World, str, dict[str, Any]],
) -> None:
    world, credential_id, credential = issued
    page = world.client.get(f"/credentials/{credential_id}", headers=HTML).text
    hero = section(page, "credential-hero")
    image = credential["credentialSubject"]["achievement"]["image"]
    assert f'<img class="credential-badge" src="{image["id"]}"' in hero
    assert re.search(r'<img src="/static/logo\.[0-9a-f]+\.(svg|png)" alt=""', hero)
    words = visible(hero)
    assert "Earned by Lee Learner" in words and "Issued by Development Issuer" in words
    assert "Level 3 of 4: Proficient" in words
    levels = section(page, "progression")
    assert re.findall(r'<span class="level-label">([^<]+)</span>', levels) == list(LEVELS)
    assert re.findall(r'<li class="current" aria-current="step">.*?level-label">(\w+)', levels) == [
        "Proficient"
    ]
    assert page.index("credential-hero") < page.index("progression") < page.index("actions")


def test_each_statement_appears_once_with_how_it_was_confirmed(
    issued: tuple[World, str, dict[str, Any]],
) -> None:
    world, credential_id, credential = issued
    page = world.client.get(f"/credentials/{credential_id}", headers=HTML).text
    words = visible(page)
    names = [d["name"] for d in credential["credentialSubject"]["achievement"]["resultDescription"]]
    assert len(names) == 10
    for name in names:
        assert words.count(name) == 1, name
    how = "Observed in clinical practice · 2 November 2026 · CT suite, St Example Hospital · "
    assert words.count(how + "confirmed by Dr Sam Müller") == 10
    assert "clinical-practice" not in page  # the method in words, never its code
    assert page.count('<time datetime="2026-11-02">2 November 2026</time>') == 10


def test_dates_are_written_for_people(issued: tuple[World, str, dict[str, Any]]) -> None:
    world, credential_id, _ = issued
    page = world.client.get(f"/credentials/{credential_id}", headers=HTML).text
    words = visible(page)
    assert re.search(r"Issued \d{1,2} (January|February|March|April|May|June|July|August|"
                     r"September|October|November|December) \d{4}", words)  # fmt: skip
    assert not re.search(r"\d{4}-\d{2}-\d{2}", words)  # no ISO dates or timestamps
    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "issued in error"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200
    words = visible(world.client.get(f"/credentials/{credential_id}", headers=HTML).text)
    assert re.search(r"✘ Revoked on \d{1,2} [A-Z][a-z]+ \d{4} ?: issued in error", words)
    assert not re.search(r"\d{4}-\d{2}-\d{2}", words)


def test_big_actions_for_linkedin_wallets_and_downloads(
    issued: tuple[World, str, dict[str, Any]],
) -> None:
    world, credential_id, _ = issued
    path = f"/credentials/{credential_id}"
    owner, _ = browser(world, "lee@example.org", LEARNER_PASSWORD)
    page = owner.get(path, headers=HTML).text
    actions = section(page, "actions")
    assert 'class="button primary" href="https://www.linkedin.com/profile/add?' in actions
    assert 'class="button secondary" href="https://www.linkedin.com/sharing/' in actions
    assert f'action="{path}/wallet"' in actions and f'action="{path}/openid-offer"' in actions
    for name, kind in (
        ("certificate.pdf", "PDF"),
        ("badge.png", "PNG"),
        ("badge.svg", "SVG"),
        ("credential.json", "JSON"),
    ):
        link = re.search(rf'<a class="button secondary" href="[^"]+{name}" download>[^<]+'
                         rf'<span class="kind">{kind}</span></a>', actions)  # fmt: skip
        assert link is not None, name
    assert 'data-copy="page-link"' in actions
    # LinkedIn's form fields by the names LinkedIn's form shows, not its parameter names.
    by_hand = page.split('<details class="linkedin-by-hand">', 1)[1]
    labels = re.findall(r'<label for="li-\w+">([^<]+)</label>', by_hand)
    assert "Issuing organization" in labels and "Credential URL" in labels
    assert not {"organizationName", "certUrl", "certId", "issueYear"} & set(labels)
    stranger = world.client.get(path, headers=HTML).text
    assert "linkedin.com" not in stranger and f'action="{path}/wallet"' not in stranger
    assert f'href="http://127.0.0.1:8000{path}/certificate.pdf" download' in stranger


def test_the_claim_page_shows_the_badge_and_the_earner(
    issued: tuple[World, str, dict[str, Any]], db_settings: Settings
) -> None:
    world, credential_id, credential = issued
    link = outbox(db_settings, "lee@example.org")[-1].link("/claim/")
    for _ in range(2):  # reading it spends nothing (mail scanners open links first)
        page = world.client.get(link, headers=HTML)
        assert page.status_code == 200
        words = visible(page.text)
        assert "Congratulations, Lee Learner" in words
        assert "Radiologic Technologists and Technicians: Proficient" in words
        assert "Level 3 of 4: Proficient" in words
        image = credential["credentialSubject"]["achievement"]["image"]["id"]
        assert f'<img class="claim-badge" src="{image}"' in page.text
    used = world.client.post(link, follow_redirects=False)
    assert used.status_code == 303 and used.headers["location"] == f"/credentials/{credential_id}"
    stranger = TestClient(world.client.app)  # the POST signed this client in as Lee
    spent = stranger.get(link, headers=HTML)
    assert spent.status_code == 404
    assert "This link no longer works" in spent.text and "Lee Learner" not in spent.text
    assert "Lee Learner" not in stranger.get("/claim/not-a-token", headers=HTML).text


def test_the_link_preview_names_the_earner_only_while_the_page_is_public(
    issued: tuple[World, str, dict[str, Any]],
) -> None:
    world, credential_id, _ = issued
    path = f"/credentials/{credential_id}"
    learner = bearer(world.learner)
    description = re.compile(r'<meta property="og:description" content="([^"]+)">')
    public = world.client.get(path, headers=HTML).text
    assert "to Lee Learner" in description.search(public).group(1)  # type: ignore[union-attr]
    named = world.client.get(f"{path}/preview.png").content
    hidden = world.client.post(
        f"/api/me/credentials/{credential_id}/visibility", json={"public": False}, headers=learner
    )
    assert hidden.status_code == 200
    own = world.client.get(path, headers={**HTML, **learner}).text
    assert "Lee Learner" not in description.search(own).group(1)  # type: ignore[union-attr]
    anonymous = world.client.get(f"{path}/preview.png", headers=learner).content
    assert anonymous != named  # the same badge, without the name
    assert world.client.get(f"{path}/preview.png").status_code == 404
