"""Bulk enrolment from CSV: a dry run row by row, an idempotent apply, 2,000 rows at once."""

from __future__ import annotations

from tests.web.helpers import SOC, World, bearer

HEADER = "name,email,supervisor_email,framework,cohort\n"


def post(world: World, csv: str, dry_run: bool) -> dict:  # type: ignore[type-arg]
    response = world.client.post(
        "/api/enrolments",
        params={"dry_run": str(dry_run).lower()},
        content=csv.encode(),
        headers={**bearer(world.coordinator), "content-type": "text/csv"},
    )
    assert response.status_code == 200, response.text
    report: dict = response.json()  # type: ignore[type-arg]
    return report


def test_dry_run_reports_each_row_and_writes_nothing(world: World) -> None:
    csv = HEADER + (
        f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
        f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
        f"Bo Li,not-an-email,sam@example.org,{SOC},\n"
        f"Cy Park,cy@example.org,nobody@example.org,{SOC},\n"
        "Di Moss,di@example.org,sam@example.org,99-9999.99,\n"
        f",ed@example.org,sam@example.org,{SOC},\n"
        f"Lee Learner,lee@example.org,sam@example.org,{SOC},\n"
        f"Fay Ng,fay@example.org,lee@example.org,{SOC},\n"
    )
    report = post(world, csv, dry_run=True)
    assert [(r["row"], r["status"]) for r in report["rows"]] == [
        (2, "valid"),
        (3, "duplicate"),
        (4, "bad email"),
        (5, "unknown supervisor"),
        (6, "unknown framework"),
        (7, "missing name"),
        (8, "unchanged"),
        (9, "not a supervisor"),
    ]
    assert report["applied"] is False
    learners = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor)).json()
    assert [learner["email"] for learner in learners] == ["lee@example.org"]

    applied = post(world, csv, dry_run=False)
    assert applied["summary"]["enrolled"] == 1
    learners = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor)).json()
    assert sorted(learner["email"] for learner in learners) == [
        "ana@example.org",
        "lee@example.org",
    ]
    again = post(world, csv, dry_run=False)
    assert "valid" not in again["summary"] and again["summary"]["unchanged"] == 2


def test_unreadable_files_are_clear_errors(world: World) -> None:
    for body, message in (
        (b"\xff\xfe", "not UTF-8"),
        (b"name,email\nx,y\n", "missing supervisor_email, framework"),
    ):
        response = world.client.post(
            "/api/enrolments", content=body, headers=bearer(world.coordinator)
        )
        assert response.status_code == 422 and message in response.json()["detail"]


def test_two_thousand_rows_in_one_request(world: World) -> None:
    rows = "".join(
        f"Learner {n},learner{n}@example.org,sam@example.org,{SOC},bulk\n" for n in range(2000)
    )
    applied = post(world, HEADER + rows, dry_run=False)
    assert applied["summary"] == {"enrolled": 2000}
    assert post(world, HEADER + rows, dry_run=True)["summary"] == {"unchanged": 2000}
    learners = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor)).json()
    assert len(learners) == 2001


def test_a_value_too_long_for_its_column_costs_its_row_only(world: World) -> None:
    """Issue 15: a 250-character name passed the dry run, then its INSERT failed on PostgreSQL
    and took the whole apply with it (a 500; SQLite stored it)."""
    csv = HEADER + (
        f"{'N' * 250},long@example.org,sam@example.org,{SOC},\n"
        f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},{'C' * 101}\n"
        f"Cy Park,{'c' * 320}@example.org,sam@example.org,{SOC},\n"
        f"Di Moss,di@example.org,sam@example.org,{SOC},2026-A\n"
        f'"Bo\nLi",bo@example.org,sam@example.org,{SOC},\n'
    )
    report = post(world, csv, dry_run=True)
    assert [(r["row"], r["status"], r["message"]) for r in report["rows"]] == [
        (2, "too long", "the name is longer than 200 characters"),
        (3, "too long", "the cohort is longer than 100 characters"),
        (4, "too long", "the email is longer than 320 characters"),
        (5, "valid", "will be enrolled"),
        (6, "control character", "the name contains a line break or another control character"),
    ]
    applied = post(world, csv, dry_run=False)
    assert applied["summary"] == {"too long": 3, "control character": 1, "enrolled": 1}
    learners = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor)).json()
    assert sorted(learner["email"] for learner in learners) == [
        "di@example.org",
        "lee@example.org",
    ]


def test_a_csv_sent_as_a_form_is_read_not_a_500(world: World) -> None:
    """`curl --data-binary @file.csv` labels the body application/x-www-form-urlencoded;
    the CSRF check once read it as a form and the route found the stream consumed."""
    csv = HEADER + f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
    response = world.client.post(
        "/api/enrolments",
        params={"dry_run": "true"},
        content=csv.encode(),
        headers={**bearer(world.coordinator), "content-type": "application/x-www-form-urlencoded"},
    )
    assert response.status_code == 200, response.text
    assert [r["status"] for r in response.json()["rows"]] == ["valid"]


def test_a_coordinator_cannot_enrol_themselves(world: World) -> None:
    other = world.client.post(
        "/api/users",
        json={"email": "co2@example.org", "name": "Co Two", "roles": ["coordinator"]},
        headers=bearer(world.coordinator),
    )
    assert other.status_code == 201
    csv = HEADER + f"Casey Coordinator,coord@example.org,sam@example.org,{SOC},\n"
    report = post(world, csv, dry_run=False)
    assert [(r["status"], r["message"]) for r in report["rows"]] == [
        ("yourself", "another coordinator must enrol you")
    ]


def test_a_coordinator_who_is_also_a_learner_cannot_enrol_themselves(world: World) -> None:
    """Issue 15: a coordinator who is also a learner could pick their own supervisor in the
    CSV. Their own row is refused in the dry run and in the apply, and nothing is written;
    another coordinator's file enrols them."""
    from tests.web.test_accounts_hardening import _second_coordinator

    me = world.client.get("/api/whoami", headers=bearer(world.coordinator)).json()
    other = _second_coordinator(world)
    made = world.client.post(
        f"/api/users/{me['id']}/roles", json={"role": "learner"}, headers=bearer(other)
    )
    assert made.status_code == 200 and "learner" in made.json()["roles"]
    csv = HEADER + (
        f"Casey Coordinator,COORD@example.org,sam@example.org,{SOC},2026-A\n"
        f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
    )
    refused = ("yourself", "another coordinator must enrol you")
    report = post(world, csv, dry_run=True)
    assert [(r["email"], r["status"], r["message"]) for r in report["rows"]] == [
        ("coord@example.org", *refused),
        ("ana@example.org", "valid", "will be enrolled"),
    ]
    applied = post(world, csv, dry_run=False)
    assert [(r["email"], r["status"], r["message"]) for r in applied["rows"]] == [
        ("coord@example.org", *refused),
        ("ana@example.org", "enrolled", "enrolled"),
    ]
    assert applied["summary"] == {"yourself": 1, "enrolled": 1}
    supervised = world.client.get("/api/supervisor/learners", headers=bearer(world.supervisor))
    assert sorted(learner["email"] for learner in supervised.json()) == [
        "ana@example.org",
        "lee@example.org",
    ]
    # Another coordinator may enrol them: the same row is then valid.
    by_another = world.client.post(
        "/api/enrolments",
        params={"dry_run": "false"},
        content=csv.encode(),
        headers={**bearer(other), "content-type": "text/csv"},
    )
    assert by_another.status_code == 200, by_another.text
    assert [r["status"] for r in by_another.json()["rows"]] == ["enrolled", "unchanged"]


def test_applied_rows_say_enrolled_and_a_sample_csv_is_offered(world: World) -> None:
    csv = HEADER + f"Ana Ruiz,ana@example.org,sam@example.org,{SOC},2026-A\n"
    applied = post(world, csv, dry_run=False)
    assert [(r["status"], r["message"]) for r in applied["rows"]] == [("enrolled", "enrolled")]
    from tests.web.test_accounts_hardening import as_session, sign_in

    cookie, _ = sign_in(world.client, "coord@example.org")
    sample = as_session(world.client, cookie).get("/coordinator/enrolment/sample.csv")
    world.client.cookies.clear()
    assert sample.status_code == 200 and sample.headers["content-type"].startswith("text/csv")
    assert sample.text.startswith("name,email,supervisor_email,framework,cohort\r\n")
    assert SOC in sample.text
