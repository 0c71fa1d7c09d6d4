"""The supervisor's checklist page: htmx requests (`HX-Request: true`) get a fragment, any
other the page again by redirect; forms start from the previous confirmation; errors come back
beside their statement; before attesting, a summary says what will be issued to whom."""

from __future__ import annotations

import json
import re
from datetime import date
from hashlib import sha256
from itertools import product

from issuer.config import Settings
from issuer.services import accounts, roster, signoff
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import Confirmation
from tests.conftest import ROOT
from tests.web.helpers import LEVEL, SOC, World, make_token
from tests.web.test_pages import sign_in
from tests.web.test_signoff_journey import count

HTMX = {"hx-request": "true"}
PASSWORD = "supervisor-pass-1"


def checklist_url(world: World) -> str:
    return f"/supervisor/learners/{world.learner_id}/{SOC}/{LEVEL}"


def confirmation(csrf: str, statement: int, **extra: str) -> dict[str, str]:
    return {
        "csrf_token": csrf,
        "statement": str(statement),
        "observed_on": "2026-01-05",
        "method": "simulation",
        "setting": "Skills lab, St Example",
        **extra,
    }


def item(html: str, number: int) -> str:
    """The markup of statement `number`'s <li> (items never nest)."""
    start = html.index(f'<li id="statement-{number}"')
    return html[start : html.index("</li>", start)]


def field(html: str, name: str, number: int) -> str:
    """The value of statement `number`'s input `name` (date, setting, note) or selected method."""
    if name == "method":
        select = item(html, number).split(f'id="method-{number}"', 1)[1].split("</select>", 1)[0]
        found = re.search(r'<option value="([^"]+)" selected>', select)
        return found.group(1) if found else re.findall(r'<option value="([^"]+)"', select)[0]
    found = re.search(rf'id="{name}-{number}"[^>]*? value="([^"]*)"', html)
    assert found, (name, number)
    return found.group(1)


def test_a_confirmation_by_htmx_answers_the_changed_parts_only(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    response = world.client.post(f"{url}/confirm", data=confirmation(csrf, 1), headers=HTMX)
    assert response.status_code == 200
    html = response.text
    assert "<html" not in html and "<main" not in html
    # The statement, collapsed to one line, focus sent to the next one to confirm.
    assert html.lstrip().startswith('<li id="statement-1" class="confirmed"')
    assert 'data-focus="statement-2-text"' in item(html, 1)
    assert "5 Jan</time> · Observed in simulation · Skills lab, St Example" in item(html, 1)
    assert "Withdraw<span" in item(html, 1)
    # Out of band: the counter, the attest section, the other forms and the live region.
    assert re.search(r'id="checklist-count" class="count" hx-swap-oob="true"', html)
    assert "1 of 10 statements confirmed." in html
    assert '<section id="attest" class="attest" aria-labelledby="attest-title" hx-swap-oob' in html
    for n in range(2, 11):
        assert f'<li id="statement-{n}" class="open" hx-swap-oob="true"' in html
    assert '<p class="done" role="status">Done: statement 1 confirmed.</p>' in html
    # Nothing left for the next page load: the fragment said it all.
    page = world.client.get(url)
    assert "Done:" not in page.text.split('id="checklist-status"', 1)[0]


def test_a_confirmation_without_javascript_comes_back_to_the_page(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    response = world.client.post(
        f"{url}/confirm", data=confirmation(csrf, 3), follow_redirects=False
    )
    # Back at the next statement still to confirm, unfolded, though 1 and 2 come first.
    assert response.status_code == 303
    assert response.headers["location"] == f"{url}?next=4#statement-4"
    page = world.client.get(response.headers["location"])
    assert 'role="status">Done: statement 3 confirmed.' in page.text
    assert 'class="confirmed"' in item(page.text, 3)
    assert "1 of 10 statements confirmed." in page.text
    assert '<details class="todo" open>' in item(page.text, 4)
    assert all('<details class="todo">' in item(page.text, n) for n in (1, 2, 5))
    # Without `next`, the first still to confirm is unfolded.
    assert '<details class="todo" open>' in item(world.client.get(url).text, 1)

    # The last one: the page comes back at the summary, ready to attest.
    for statement in (1, 2, 4, 5, 6, 7, 8, 9, 10):
        last = world.client.post(
            f"{url}/confirm", data=confirmation(csrf, statement), follow_redirects=False
        )
    assert last.headers["location"] == f"{url}#attest"
    assert "Attest the Proficient level" in world.client.get(last.headers["location"]).text


def test_withdrawing_answers_a_fragment_or_the_page(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    for statement in (1, 2):
        world.client.post(f"{url}/confirm", data=confirmation(csrf, statement), headers=HTMX)
    withdraw = {"csrf_token": csrf, "statement": "2"}
    response = world.client.post(f"{url}/withdraw", data=withdraw, headers=HTMX)
    assert response.status_code == 200
    html = response.text
    # Back to a form, which gets focus: it is the next statement still to confirm.
    opened = '<li id="statement-2" class="open" data-focus="statement-2-text"'
    assert html.lstrip().startswith(opened)
    assert 'name="observed_on"' in item(html, 2) and "1 of 10 statements confirmed." in html
    assert "Done: statement 2 withdrawn." in html

    plain = world.client.post(
        f"{url}/withdraw", data={**withdraw, "statement": "1"}, follow_redirects=False
    )
    assert plain.status_code == 303
    assert plain.headers["location"] == f"{url}?next=1#statement-1"
    page = world.client.get(url)
    assert "Done: statement 1 withdrawn." in page.text and "0 of 10" in page.text


def test_forms_start_from_the_previous_confirmation(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    first = world.client.get(url).text
    today = date.today().isoformat()
    assert [field(first, name, 4) for name in ("date", "method", "setting")] == [
        today,
        "clinical-practice",
        "",
    ]
    sent = confirmation(csrf, 3, observed_on="2026-01-07", method="discussion", setting="Ward 4")
    fragment = world.client.post(f"{url}/confirm", data=sent, headers=HTMX).text
    page = world.client.get(url).text
    for html in (fragment, page):
        for number in (1, 4, 10):
            assert field(html, "date", number) == "2026-01-07"
            assert field(html, "method", number) == "discussion"
            assert field(html, "setting", number) == "Ward 4"


def test_defaults_pass_over_withdrawals_and_other_supervisors(
    world: World, db_settings: Settings
) -> None:
    make_token(db_settings, "kim@example.org", "Kim Other", ["supervisor"])
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        sam = accounts.user_by_email(session, "sam@example.org")
        kim = accounts.user_by_email(session, "kim@example.org")
        coordinator = accounts.user_by_email(session, "coord@example.org")
        roster.assign(
            session,
            coordinator,
            learner_email="lee@example.org",
            supervisor_email=kim.email,
            soc=SOC,
        )
        where = {"learner_id": world.learner_id, "soc": SOC, "level": LEVEL}
        for who, statement, setting in ((sam, 1, "CT suite"), (sam, 2, "Typo"), (kim, 3, "MRI")):
            signoff.confirm_statement(
                session,
                who,
                **where,
                statement=statement,
                observed_on=date(2026, 1, statement),
                method="simulation",
                setting=setting,
            )
        signoff.withdraw_confirmation(session, sam, **where, statement=2)
        found = signoff.checklist(session, sam, **where, today=date(2026, 2, 1))
        assert found.defaults == signoff.Defaults(date(2026, 1, 1), "simulation", "CT suite")
        fresh = signoff.checklist(session, kim, **where, today=date(2026, 2, 1))
        assert fresh.defaults.setting == "MRI"
        assert found.next_to_confirm(1) == 2 and found.next_to_confirm(11) == 2
    engine.dispose()


def test_errors_come_back_beside_their_statement(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    world.client.post(f"{url}/confirm", data=confirmation(csrf, 1), headers=HTMX)

    twice = world.client.post(f"{url}/confirm", data=confirmation(csrf, 1), headers=HTMX)
    assert twice.status_code == 409
    assert 'role="alert" tabindex="-1">statement 1 is already confirmed</p>' in item(twice.text, 1)
    assert 'data-focus="statement-1-error"' in twice.text
    assert "hx-swap-oob" not in twice.text  # nothing else changed

    future = confirmation(csrf, 5, observed_on="2999-01-01", setting="Theatre 2", note="Late")
    refused = world.client.post(f"{url}/confirm", data=future, headers=HTMX)
    assert refused.status_code == 422
    assert "the date observed cannot be in the future" in item(refused.text, 5)
    # What was typed is still there, to correct rather than retype.
    assert field(refused.text, "setting", 5) == "Theatre 2"
    assert field(refused.text, "note", 5) == "Late"
    assert field(refused.text, "date", 5) == "2999-01-01"

    nothing = world.client.post(
        f"{url}/withdraw", data={"csrf_token": csrf, "statement": "7"}, headers=HTMX
    )
    assert nothing.status_code == 404
    assert 'role="alert"' in item(nothing.text, 7) and "no confirmation to withdraw" in nothing.text

    plain = world.client.post(f"{url}/confirm", data=future, follow_redirects=False)
    assert plain.status_code == 303 and plain.headers["location"] == url  # the error is on top
    page = world.client.get(url).text
    assert '<p class="error" role="alert">the date observed cannot be in the future' in page


def test_someone_elses_learner_is_not_found_either_way(world: World, db_settings: Settings) -> None:
    make_token(db_settings, "kim@example.org", "Kim Other", ["supervisor"])
    with transaction(world.client.app.state.sessions) as session:  # type: ignore[attr-defined]
        accounts.set_password(accounts.user_by_email(session, "kim@example.org"), PASSWORD)
    csrf = sign_in(world, "kim@example.org", PASSWORD)
    url = checklist_url(world)
    for action, headers in product(("confirm", "withdraw"), (HTMX, {})):
        response = world.client.post(f"{url}/{action}", data=confirmation(csrf, 1), headers=headers)
        assert response.status_code == 404, action
        assert response.json() == {"detail": "no such learner among yours"}
    assert world.client.get(url).status_code == 404
    assert count(db_settings, Confirmation) == 0
    # An id no database integer holds is refused as input, not looked up.
    assert world.client.get(f"/supervisor/learners/{2**40}/{SOC}/{LEVEL}").status_code == 422


def test_before_attesting_a_summary_says_what_is_issued_to_whom(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    for statement in range(1, 10):
        world.client.post(f"{url}/confirm", data=confirmation(csrf, statement), headers=HTMX)
    assert "Attest the Proficient level" not in world.client.get(url).text
    noted = confirmation(
        csrf, 10, method="discussion", setting="Ward 4", note="Calm under pressure"
    )
    last = world.client.post(f"{url}/confirm", data=noted, headers=HTMX).text
    assert 'data-focus="attest-title"' in last  # nothing left: focus goes to the summary

    achievement = world.client.get(
        f"/achievements/{SOC}/{LEVEL}", headers={"accept": "application/json"}
    ).json()
    for html in (last, world.client.get(url).text):
        summary = html.split('<section id="attest"', 1)[1].split("</section>", 1)[0]
        assert f'<img src="/achievements/{SOC}/{LEVEL}/image.svg"' in summary
        assert achievement["name"] in summary and "Issued to Lee Learner" in summary
        assert summary.count("<li>") == 10
        for statement in achievement["resultDescription"]:
            assert statement["name"] in summary
        assert summary.count("5 Jan 2026</time> · Observed in simulation · Skills lab") == 9
        assert "Professional discussion · Ward 4<br>Note: Calm under pressure" in summary
        # The button comes after everything it attests to.
        assert summary.index("Calm under pressure") < summary.index("Attest the Proficient level")

    attested = world.client.post(f"{url}/attest", data={"csrf_token": csrf})
    assert "level attested: the credential is issued" in attested.text
    assert "The credential is issued" in attested.text


def test_the_page_loads_htmx_from_here_configured_for_the_policy(world: World) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    page = world.client.get(checklist_url(world)).text
    scripts = re.findall(r'<script src="(/static/[^"]+)" defer>', page)
    assert any(s.startswith("/static/htmx.min.") for s in scripts)
    assert any(s.startswith("/static/checklist.") for s in scripts)
    assert re.search(r'<link rel="stylesheet" href="/static/supervisor\.[0-9a-f]{12}\.css">', page)
    config = re.search(r"<meta name=\"htmx-config\" content='([^']+)'>", page)
    assert config and '"includeIndicatorStyles": false' in config.group(1)
    assert '"allowEval": false' in config.group(1)
    assert "hx-on" not in page and " style=" not in page
    # The CSRF token travels with every htmx request as a header, besides each form's field.
    headers = re.search(r"<div class=\"checklist\" hx-headers='([^']+)'>", page)
    assert headers and json.loads(headers[1]) == {"X-CSRF-Token": csrf}
    # Vendored unchanged from the npm package named in its licence file.
    pinned = re.search(r"sha256\(htmx.min.js\) = ([0-9a-f]{64})", read("static/htmx.LICENSE"))
    assert pinned and sha256((ROOT / "static/htmx.min.js").read_bytes()).hexdigest() == pinned[1]


def read(path: str) -> str:
    return (ROOT / path).read_text()


def test_htmx_requests_need_the_csrf_token_as_a_field_or_a_header(
    world: World, db_settings: Settings
) -> None:
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    url = checklist_url(world)
    for headers, token in (
        (HTMX, ""),
        (HTMX, "forged"),
        ({}, ""),
        (HTMX | {"x-csrf-token": "x"}, csrf),
    ):
        sent = confirmation(csrf, 1) | {"csrf_token": token}
        refused = world.client.post(f"{url}/confirm", data=sent, headers=headers)
        assert refused.status_code == 403, headers
        assert refused.json() == {"detail": "missing or wrong CSRF token"}
    assert count(db_settings, Confirmation) == 0
    # The header alone will do (htmx sends it from the page's hx-headers).
    header = HTMX | {"x-csrf-token": csrf}
    sent = confirmation(csrf, 1) | {"csrf_token": ""}
    assert world.client.post(f"{url}/confirm", data=sent, headers=header).status_code == 200
    withdraw = {"statement": "1"}
    assert world.client.post(f"{url}/withdraw", data=withdraw, headers=header).status_code == 200
    assert count(db_settings, Confirmation) == 1


def test_only_a_supervisor_confirms_and_never_for_themselves(
    world: World, db_settings: Settings
) -> None:
    url = checklist_url(world)
    for email, password in (
        ("lee@example.org", "learner-password-1"),
        ("coord@example.org", "correct horse battery"),
    ):
        csrf = sign_in(world, email, password)
        assert world.client.get(url).status_code == 403
        for action, headers in product(("confirm", "withdraw"), (HTMX, {})):
            response = world.client.post(
                f"{url}/{action}", data=confirmation(csrf, 1), headers=headers
            )
            assert response.status_code == 403, (email, action)
            assert response.json() == {"detail": "this page is for the supervisor role"}

    # Sam, a learner too: his own checklist is refused, whatever the assignments say.
    engine = make_engine(db_settings.database_url)
    with transaction(session_factory(engine)) as session:
        coordinator = accounts.user_by_email(session, "coord@example.org")
        sam = accounts.user_by_email(session, "sam@example.org")
        accounts.add_role(session, sam, "learner", actor=coordinator)
    engine.dispose()
    csrf = sign_in(world, "sam@example.org", PASSWORD)
    own = f"/supervisor/learners/{world.supervisor_id}/{SOC}/{LEVEL}"
    assert world.client.get(own).status_code == 403
    for action, headers in product(("confirm", "withdraw"), (HTMX, {})):
        response = world.client.post(f"{own}/{action}", data=confirmation(csrf, 1), headers=headers)
        assert response.status_code == 403, action
        assert "cannot confirm or attest for themselves" in response.json()["detail"]
    assert count(db_settings, Confirmation) == 0
