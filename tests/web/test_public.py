"""Public pages: the achievement list, each Achievement by Accept, and its badge image."""

import json
import re
import xml.etree.ElementTree as ElementTree

from fastapi.testclient import TestClient

from issuer.config import Settings
from issuer.services import catalog
from issuer.store.db import make_engine, session_factory, transaction
from tests.conftest import RADIOLOGY, framework_document

HTML = {"accept": "text/html,application/xhtml+xml,*/*;q=0.8"}


def test_home_lists_every_achievement_with_its_badge_image(client: TestClient) -> None:
    page = client.get("/", headers=HTML)
    assert page.status_code == 200
    badges = re.findall(
        r'<img src="http://127\.0\.0\.1:8000/achievements/[^"]+/image\.svg"', page.text
    )
    assert len(badges) == 8  # one per level of the two bundled frameworks
    assert "Nuclear Medicine Technologists" in page.text
    assert 'src="http://127.0.0.1:8000/achievements/29-2034.00/advanced/image.svg"' in page.text


def test_achievement_is_served_as_json_ld_when_asked(client: TestClient) -> None:
    for accept in ("application/ld+json", "application/json"):
        response = client.get("/achievements/29-2034.00/proficient", headers={"accept": accept})
        assert response.status_code == 200
        assert response.headers["content-type"].startswith("application/ld+json")
        assert response.json()["id"] == "http://127.0.0.1:8000/achievements/29-2034.00/proficient"


def test_achievement_is_a_page_for_a_browser(client: TestClient) -> None:
    response = client.get("/achievements/29-2033.00/emerging", headers=HTML)
    assert response.headers["content-type"].startswith("text/html")
    assert "Nuclear Medicine Technologists: Emerging" in response.text


def test_badge_image_is_well_formed_svg_naming_occupation_and_level(client: TestClient) -> None:
    response = client.get("/achievements/29-2034.00/advanced/image.svg")
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ElementTree.fromstring(response.text)
    text = " ".join(t.text or "" for t in root.iter("{http://www.w3.org/2000/svg}text"))
    assert "Radiologic" in text and "Advanced" in text and "Level 4 of 4" in text


def test_levels_differ_in_colour(client: TestClient) -> None:
    images = {
        level: client.get(f"/achievements/29-2034.00/{level}/image.svg").text
        for level in ("emerging", "developing", "proficient", "advanced")
    }
    fills = {level: svg.split('fill="', 1)[1].split('"', 1)[0] for level, svg in images.items()}
    assert len(set(fills.values())) == 4


def test_unknown_achievement_is_404(client: TestClient) -> None:
    response = client.get("/achievements/29-2034.00/expert", headers={"accept": "application/json"})
    assert response.status_code == 404
    assert "expert" in response.json()["detail"]
    assert client.get("/achievements/29-2034.00/expert", headers=HTML).status_code == 404


def test_text_is_escaped_in_pages_and_images(client: TestClient, settings: Settings) -> None:
    document = framework_document(RADIOLOGY)
    document["occupation"]["title"] = "Techs <script>alert(1)</script> & co"
    document["occupation"]["soc"] = "99-0000.00"
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        catalog.import_framework(
            session,
            json.dumps(document).encode(),
            "x.json",
            base_url=settings.base_url,
            creator=settings.issuer_profile(),
            language="en",
        )
    engine.dispose()
    page = client.get("/achievements/99-0000.00/emerging", headers=HTML).text
    assert "<script>alert(1)</script>" not in page
    assert "&lt;script&gt;" in page
    svg = client.get("/achievements/99-0000.00/emerging/image.svg").text
    ElementTree.fromstring(svg)
