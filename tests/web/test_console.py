"""The coordinator's console (issue 17, item 3): separate pages under one navigation; tables
searched, sorted and paged by the server; empty states that say what to do next; the
overview's SVG charts; an audit log of names and reasons."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ElementTree
from datetime import UTC, datetime

import pytest

from issuer.config import Settings
from issuer.services import accounts
from issuer.store.db import make_engine, session_factory, transaction
from issuer.web.routes.coordinator import records
from tests.web.helpers import World, bearer, confirmed_learners
from tests.web.test_people import as_coordinator

HTML = {"accept": "text/html"}
SECTIONS = {
    "/coordinator": "Overview",
    "/coordinator/people": "People",
    "/coordinator/frameworks": "Frameworks",
    "/coordinator/enrolment": "Enrolment",
    "/coordinator/credentials": "Credentials",
    "/coordinator/audit": "Audit log",
}


def text_of(html: str) -> str:
    """What a person reads: no tags, whitespace collapsed."""
    return " ".join(re.sub(r"<[^>]+>", " ", html).split())


def rows(html: str) -> list[str]:
    """The text of each row of the page's first table body."""
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    return [text_of(row) for row in re.split(r"<tr[^>]*>", body)[1:]]


def issue_three(world: World, settings: Settings) -> None:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        coordinator = accounts.user_by_email(session, "coord@example.org")
        supervisor = accounts.user_by_email(session, "sam@example.org")
        learners = confirmed_learners(session, coordinator, supervisor, 3)
    engine.dispose()
    for learner_id in learners:
        assert world.attest(learner_id=learner_id).status_code == 201


def test_each_console_page_is_its_own_under_one_navigation(world: World) -> None:
    as_coordinator(world)
    for path, label in SECTIONS.items():
        page = world.client.get(path, headers=HTML)
        assert page.status_code == 200, path
        nav = page.text.split('<nav class="subnav" aria-label="Console">', 1)[1].split("</nav>")[0]
        for href, other in SECTIONS.items():
            assert f'href="{href}">{other}' in nav, (path, other)
        assert re.findall(r'aria-current="page" href="([^"]+)"', nav) == [path], path
        assert f"<title>{label}" in page.text or path == "/coordinator/credentials", path
    # Each page holds its own job: the import form only on Frameworks, the CSV on Enrolment.
    forms = {path: world.client.get(path, headers=HTML).text for path in SECTIONS}
    assert [p for p, t in forms.items() if 'id="framework-file"' in t] == [
        "/coordinator/frameworks"
    ]
    assert [p for p, t in forms.items() if 'id="csv-file"' in t] == ["/coordinator/enrolment"]
    assert [p for p, t in forms.items() if 'id="assign-learner"' in t] == ["/coordinator/enrolment"]
    world.client.cookies.clear()


def test_the_people_table_sorts_by_its_columns_both_ways(world: World) -> None:
    as_coordinator(world)
    by_name = rows(world.client.get("/coordinator/people", headers=HTML).text)
    assert [r.split(" ")[0] for r in by_name] == ["Casey", "Dr", "Lee"]
    page = world.client.get("/coordinator/people?sort=-name", headers=HTML).text
    assert [r.split(" ")[0] for r in rows(page)] == ["Lee", "Dr", "Casey"]
    # The header says how the table is sorted, and its link sorts it the other way.
    assert (
        '<th scope="col" aria-sort="descending"><a class="sort" href="/coordinator/people">' in page
    )
    by_email = rows(world.client.get("/coordinator/people?sort=-email", headers=HTML).text)
    assert [r.split(" ")[0] for r in by_email] == ["Dr", "Lee", "Casey"]  # sam, lee, coord
    # A search keeps the sort, and a sort keeps the search.
    found = world.client.get("/coordinator/people?q=example&sort=-name", headers=HTML).text
    assert 'href="/coordinator/people?q=example">' in found  # the Name header, ascending
    assert 'name="sort" value="-name"' in found
    # A sort the page does not offer is the default, not an error.
    assert world.client.get("/coordinator/people?sort=password", headers=HTML).status_code == 200
    world.client.cookies.clear()


def test_the_credentials_table_finds_sorts_and_pages(
    world: World, db_settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(records, "CREDENTIALS_PER_PAGE", 2)
    issue_three(world, db_settings)
    as_coordinator(world)
    get = world.client.get
    newest = rows(get("/coordinator/credentials", headers=HTML).text)
    assert [r.split(" Learner ")[1][0] for r in newest] == ["2", "1"]
    oldest = rows(get("/coordinator/credentials?sort=issued", headers=HTML).text)
    assert [r.split(" Learner ")[1][0] for r in oldest] == ["0", "1"]
    second = get("/coordinator/credentials?sort=issued&page=2", headers=HTML).text
    assert [r.split(" Learner ")[1][0] for r in rows(second)] == ["2"]
    assert 'rel="prev"' in second and 'rel="next"' not in second and "Page 2" in second
    by_learner = get("/coordinator/credentials?sort=-learner", headers=HTML).text
    assert [r.split(" Learner ")[1][0] for r in rows(by_learner)] == ["2", "1"]
    found = get("/coordinator/credentials?q=l1@example", headers=HTML).text
    assert [r.split(" Learner ")[1][0] for r in rows(found)] == ["1"]
    revoked = get("/coordinator/credentials?status=revoked", headers=HTML).text
    assert "No credential matches" in revoked and 'href="/coordinator/credentials"' in revoked
    world.client.cookies.clear()


@pytest.mark.parametrize(
    ("path", "says", "next_step"),
    [
        ("/coordinator/credentials", "No credentials issued yet", "/coordinator/enrolment"),
        ("/coordinator/people?q=nobody-at-all", "Nobody matches.", "/coordinator/people"),
        ("/coordinator/audit?action=mail.retried", "Nothing matches", "/coordinator/audit"),
    ],
)
def test_an_empty_table_says_what_to_do_next(
    world: World, path: str, says: str, next_step: str
) -> None:
    as_coordinator(world)
    page = world.client.get(path, headers=HTML).text
    empty = page.split('<div class="empty">', 1)[1].split("</div>", 1)[0]
    assert says in empty and f'<a class="button primary" href="{next_step}">' in empty
    assert "<table" not in page.split('<nav class="subnav"', 1)[1]
    world.client.cookies.clear()


def test_the_overview_draws_each_cohort_by_level_and_each_month(world: World) -> None:
    world.confirm_all()
    assert world.attest().status_code == 201
    as_coordinator(world)
    page = world.client.get("/coordinator", headers=HTML).text
    svgs = re.findall(r"<svg .*?</svg>", page, flags=re.S)
    assert len(svgs) == 2  # one cohort (no name) in one framework; the months
    cohort, months = (ElementTree.fromstring(svg) for svg in svgs)
    ns = "{http://www.w3.org/2000/svg}"
    title = cohort.find(f"{ns}title").text or ""  # type: ignore[union-attr]
    assert title == "No cohort, Radiologic Technologists and Technicians: 1 learner by level"
    desc = cohort.find(f"{ns}desc").text or ""  # type: ignore[union-attr]
    assert desc == (
        "Emerging: 0 earned, 0 in progress, 1 not started; Developing: 0 earned, 0 in progress, "
        "1 not started; Proficient: 1 earned, 0 in progress, 0 not started; Advanced: 0 earned, "
        "0 in progress, 1 not started."
    )
    labels = [t.text for t in cohort.iter(f"{ns}text")]
    assert labels[4:6] == ["Proficient", "1 of 1"] and labels[:2] == ["Emerging", "0 of 1"]
    bars = [r.get("class") for r in cohort.iter(f"{ns}rect")]
    assert bars.count("bar-track") == 4 and bars.count("bar-done") == 1
    month = f"{datetime.now(UTC):%B %Y}"
    assert (months.find(f"{ns}desc").text or "").endswith(f"{month}: 1.")  # type: ignore[union-attr]
    assert "1 in the last 12 months." in page
    # The same numbers, as a table, for whoever cannot see the chart.
    assert f'<th scope="row">{month}</th><td class="num">1</td>' in page
    assert "style=" not in "".join(svgs) and "<script" not in "".join(svgs)
    world.client.cookies.clear()


def test_an_overview_with_nobody_enrolled_says_how_to_start(world: World) -> None:
    engine = make_engine(world.client.app.state.settings.database_url)  # type: ignore[attr-defined]
    with transaction(session_factory(engine)) as session:
        from issuer.store.models import Assignment

        session.query(Assignment).delete()
    engine.dispose()
    as_coordinator(world)
    page = world.client.get("/coordinator", headers=HTML).text
    assert "No learners enrolled yet" in page and 'href="/coordinator/enrolment">Enrol' in page
    assert "Nothing expires in the next 30 days" in page
    world.client.cookies.clear()


def test_the_audit_log_names_people_and_gives_reasons(world: World) -> None:
    world.confirm_all()
    credential = world.attest().json()
    credential_id = credential["id"].rsplit("/", 1)[-1] if "id" in credential else ""
    listed = world.client.get("/api/credentials", headers=bearer(world.coordinator)).json()
    credential_id = credential_id or listed[0]["id"]
    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "sign-off found invalid"},
        headers=bearer(world.coordinator),
    )
    assert revoked.status_code == 200, revoked.text
    as_coordinator(world)
    page = world.client.get("/coordinator/audit?action=credential.revoked", headers=HTML).text
    [row] = rows(page)
    assert "Casey Coordinator" in row and "Revoked a credential" in row
    assert "Radiologic Technologists and Technicians: Proficient of Lee Learner" in row
    assert "sign-off found invalid" in row
    assert credential_id not in row  # the id is the link's address, not its words
    assigned = rows(
        world.client.get("/coordinator/audit?action=assignment.created", headers=HTML).text
    )
    assert assigned and "Lee Learner" in assigned[0] and "Casey Coordinator" in assigned[0]
    by_name = world.client.get("/coordinator/audit?actor=casey", headers=HTML).text
    assert all("Casey Coordinator" in r for r in rows(by_name))
    world.client.cookies.clear()
