"""Issue 16's "Done when", in a real browser (Debian's Chromium driven by Playwright) against the
app served by uvicorn on 127.0.0.1: everyone gets in and finishes their job from the pages alone.

A coordinator invites a supervisor, who sets a password from the e-mail and signs in; a learner
claims their badge, signs out and back in by an e-mailed link, adds the badge to a wallet (the
test wallet, signed by the JavaScript reference stack, completes the VC-API exchange) and makes
its page private; the coordinator revokes it with confirmation, the learner is e-mailed, and the
public page says so without share actions; a person signs in through a loopback OpenID provider.

Mail is read from the real outbox (the .eml files of the development transport), each link
taken from the text/plain part. Every distinct page is screenshotted at 1280 and 375 px
(test-artifacts/people/journey/ and …/sso/) and checked with axe-core at both widths.
"""

from __future__ import annotations

import email
import email.policy
import os
import re
import time
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import date
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import httpx
import pytest

from issuer.config import Settings
from issuer.services import accounts
from issuer.services.keyring import KeyRing
from issuer.store.db import make_engine, session_factory, transaction
from tests.browser.pages import Pages, browser, new_page, said, sign_in, sign_out, signed_in_as
from tests.browser.test_journey import browser_available
from tests.conftest import ROOT, prepare_database
from tests.interop import reference
from tests.web import test_sso

__all__ = ["browser_available"]

pytestmark = pytest.mark.browser
ARTIFACTS = ROOT / "test-artifacts" / "people"
COORDINATOR, COORDINATOR_PASSWORD = "coord@example.org", "correct horse battery"
# known@example.org is also the loopback provider's "known" account (tests/oidc/provider.mjs).
SUPERVISOR, SUPERVISOR_NAME = "known@example.org", "Kim Known"
SUPERVISOR_PASSWORD = "violet harbour quartz lantern"
LEARNER, LEARNER_NAME = "zoe@example.org", "Zoë Nguyễn"
SOC, LEVEL, STATEMENTS = "29-2034.00", "proficient", 10
WALLET_SEED = "22" * 32
REASON = "Issued in error: the observations were recorded against the wrong learner."
WAIT = 15.0  # seconds, for any one e-mail to arrive


@pytest.fixture(scope="module", autouse=True)
def wallet_available() -> None:
    reason = reference.missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the test wallet must run in CI: {reason}")
    if reason:
        pytest.skip(reason)


# ── the app, its outbox, and the pages ──


def settings_for(tmp_path: Path, port: int, **more: Any) -> Settings:
    settings = Settings(
        base_url=f"http://127.0.0.1:{port}",
        data_dir=tmp_path / "data",
        keys_dir=tmp_path / "keys",
        database_url=f"sqlite:///{tmp_path / 'data' / 'issuer.db'}",
        issuer_name="St Example Hospital",
        **more,
    )
    prepare_database(settings)
    KeyRing(settings.keys_dir).generate(None, dev=True)
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        accounts.create_user(
            session,
            email=COORDINATOR,
            name="Casey Coordinator",
            roles=["coordinator"],
            password=COORDINATOR_PASSWORD,
        )
    engine.dispose()
    return settings


class Outbox:
    """The development transport's .eml files, each read once, links from the text part."""

    def __init__(self, settings: Settings) -> None:
        self.directory = settings.data_dir / "outbox"
        self.base = settings.base_url
        self.read: set[Path] = set()

    def wait(self, to: str, path: str) -> tuple[EmailMessage, str]:
        """The next message to `to` with a link under `path` ("" for any), and that link."""
        pattern = re.compile(rf"{re.escape(self.base)}{re.escape(path)}[\w\-/?=&%.]*")
        deadline = time.monotonic() + WAIT
        while time.monotonic() < deadline:
            for eml in sorted(self.directory.glob("*.eml"), key=lambda p: p.stat().st_mtime):
                if eml in self.read:
                    continue
                message = email.message_from_bytes(eml.read_bytes(), policy=email.policy.default)
                assert isinstance(message, EmailMessage)
                found = pattern.search(text_of(message))
                if to in str(message["To"]) and found:
                    self.read.add(eml)
                    return message, found.group(0).rstrip(".")
            time.sleep(0.1)
        raise AssertionError(f"no e-mail to {to} with a link to {path} within {WAIT} s")


def text_of(message: EmailMessage) -> str:
    part = message.get_body(preferencelist=("plain",))
    assert part is not None, "the message has no text/plain part"
    return str(part.get_content())


# ── the steps ──


def attest_by_api(settings: Settings) -> None:
    """The supervisor's sign-off, through the JSON API with their own bearer token: the
    checklist page has its own browser test (test_checklist_phone.py)."""
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        token = accounts.create_token(session, accounts.user_by_email(session, SUPERVISOR))
        learner_id = accounts.user_by_email(session, LEARNER).id
    engine.dispose()
    api = f"{settings.base_url}/api/supervisor/learners/{learner_id}"
    with httpx.Client(headers={"authorization": f"Bearer {token}"}, timeout=60) as http:
        for statement in range(1, STATEMENTS + 1):
            confirmed = http.post(
                f"{api}/confirmations",
                json={
                    "soc": SOC,
                    "level": LEVEL,
                    "statement": statement,
                    "observed_on": date.today().isoformat(),
                    "method": "clinical-practice",
                    "setting": "CT suite, St Example Hospital",
                },
            )
            assert confirmed.status_code == 201, confirmed.text
        attested = http.post(f"{api}/attestations", json={"soc": SOC, "level": LEVEL})
        assert attested.status_code == 201, attested.text


def wallet_takes(interaction_url: str, base: str) -> dict[str, Any]:
    """The test wallet: reads the interaction URL (as from the QR code), answers the
    DIDAuthentication request with a presentation the reference stack signs, and gets its
    bound copy of the credential, which our verifier then verifies."""
    with httpx.Client(timeout=30) as wallet:
        protocols = wallet.get(interaction_url, headers={"accept": "application/json"}).json()
        vcapi = protocols["protocols"]["vcapi"]
        asked = wallet.post(vcapi, json={}).json()["verifiablePresentationRequest"]
        assert asked["query"][0]["type"] == "DIDAuthentication"
        presentation = reference.run_reference(
            "present",
            timeout=120,
            seedHex=WALLET_SEED,
            challenge=asked["challenge"],
            domain=asked["domain"],
        )
        answer = wallet.post(vcapi, json={"verifiablePresentation": presentation})
        assert answer.status_code == 200, answer.text
        credential: dict[str, Any] = answer.json()["verifiablePresentation"][
            "verifiableCredential"
        ][0]
        assert credential["credentialSubject"]["id"] == presentation["holder"]
        checked = wallet.post(
            f"{base}/credentials/verify", json={"verifiableCredential": credential}
        ).json()
        assert checked["verified"] is True, checked
    return credential


@dataclass
class Journey:
    """The app, its outbox, one browser, and the pages checked so far."""

    base: str
    outbox: Outbox
    chromium: Any
    shots: Pages

    def page(self) -> Any:
        return new_page(self.chromium)


def coordinator_invites(journey: Journey) -> Any:
    """The coordinator adds the supervisor and the learner from the people page."""
    desk, shots = journey.page(), journey.shots
    desk.goto(f"{journey.base}/login")
    shots.check(desk, "login")
    sign_in(desk, journey.base, COORDINATOR, COORDINATOR_PASSWORD)
    desk.wait_for_url(re.compile(r"/coordinator$"))
    desk.goto(f"{journey.base}/coordinator/people")
    shots.check(desk, "people")
    for name, address, role in (
        (SUPERVISOR_NAME, SUPERVISOR, "Supervisor"),
        (LEARNER_NAME, LEARNER, "Learner"),
    ):
        adding = desk.get_by_role("region", name="Add a person")
        adding.get_by_label("Name", exact=True).fill(name)
        adding.get_by_label("Email", exact=True).fill(address)
        adding.get_by_label("Role", exact=True).select_option(label=role)
        adding.get_by_role("button", name="Add and invite").click()
        desk.wait_for_load_state()
        assert address in desk.inner_text("main")
    row = desk.get_by_role("row").filter(has_text=SUPERVISOR)
    assert "Invited" in row.inner_text() and "never" in row.inner_text()
    shots.check(desk, "people-invited")
    return desk


def supervisor_accepts(journey: Journey) -> None:
    """A password from the invitation e-mail; signed in, out, and in again with it."""
    invitation, link = journey.outbox.wait(SUPERVISOR, "/invitations/")
    assert "invited" in str(invitation["Subject"]).lower()
    ward = journey.page()
    ward.goto(link)
    assert SUPERVISOR_NAME in ward.inner_text("h1")
    journey.shots.check(ward, "invitation")
    ward.get_by_label(re.compile(r"^Password")).fill(SUPERVISOR_PASSWORD)
    ward.get_by_label("The same password again").fill(SUPERVISOR_PASSWORD)
    ward.get_by_role("button", name="Set my password and sign in").click()
    ward.wait_for_url(re.compile(r"/supervisor$"))
    signed_in_as(ward, SUPERVISOR_NAME)
    journey.shots.check(ward, "supervisor-home")
    sign_out(ward)
    sign_in(ward, journey.base, SUPERVISOR, SUPERVISOR_PASSWORD)
    ward.wait_for_url(re.compile(r"/supervisor$"))
    signed_in_as(ward, SUPERVISOR_NAME)
    again = journey.page().goto(link)  # the invitation works once
    assert again is not None and again.status == 404


def coordinator_assigns(journey: Journey, desk: Any) -> None:
    """From the learner's page, the coordinator picks their supervisor."""
    desk.goto(f"{journey.base}/coordinator/people")
    row = desk.get_by_role("row").filter(has_text=SUPERVISOR)
    assert "Active" in row.inner_text() and "never" not in row.inner_text()
    desk.get_by_role("link", name=LEARNER_NAME, exact=True).click()
    desk.wait_for_url(re.compile(r"/coordinator/people/\d+$"))
    assign = desk.locator("form").filter(has=desk.get_by_role("button", name="Assign"))
    assign.get_by_label("Supervisor", exact=True).fill(SUPERVISOR)
    assign.get_by_label("Framework", exact=True).select_option(value=SOC)
    assign.get_by_role("button", name="Assign", exact=True).click()
    said(desk, "supervisor assigned")
    assert SUPERVISOR_NAME in desk.inner_text("main")
    journey.shots.check(desk, "learner-assigned")


def learner_claims_and_comes_back(journey: Journey) -> tuple[Any, str]:
    """The claim link, sign out, a sign-in link by e-mail: the learner's page and badge URL."""
    _, claim = journey.outbox.wait(LEARNER, "/claim/")
    own, shots = journey.page(), journey.shots
    own.goto(claim)
    assert own.get_by_role("button", name="Continue to my badge").count() == 1
    shots.check(own, "claim")
    own.get_by_role("button", name="Continue to my badge").click()
    own.wait_for_url(re.compile(r"/credentials/[^/]+$"))
    credential_url = own.url
    assert "Radiologic Technologists" in own.inner_text("h1")
    signed_in_as(own, LEARNER_NAME)
    shots.check(own, "credential-owner")
    sign_out(own)
    link_form = own.locator("form").filter(has=own.get_by_label("Your email"))
    link_form.get_by_label("Your email").fill(LEARNER)
    link_form.get_by_role("button", name="E-mail me a sign-in link").click()
    said(own, "sign-in link")
    shots.check(own, "sign-in-link-sent")
    _, sign_in_link = journey.outbox.wait(LEARNER, "/account/sign-in/")
    own.goto(sign_in_link)
    shots.check(own, "sign-in-link")
    own.get_by_role("main").get_by_role("button", name="Sign in").click()
    own.wait_for_url(re.compile(r"/learner$"))
    signed_in_as(own, LEARNER_NAME)
    shots.check(own, "learner-home")
    return own, credential_url


def learner_adds_to_a_wallet(journey: Journey, own: Any, credential_url: str) -> dict[str, Any]:
    """The credential page's wallet button; the test wallet completes the exchange."""
    own.goto(credential_url)
    own.get_by_role("button", name="Learner Credential Wallet").click()
    own.wait_for_load_state()
    signed_in_as(own, LEARNER_NAME)
    journey.shots.check(own, "wallet-exchange")
    interaction = own.get_by_label("Or copy the link into your wallet").input_value()
    assert interaction.startswith(f"{journey.base}/interactions/")
    copy = wallet_takes(interaction, journey.base)
    own.get_by_role("link", name="Back to your badge").click()
    own.wait_for_url(credential_url)
    assert "In your wallets" in own.inner_text("main")
    assert own.get_by_role("link", name="Wallet copy").get_attribute("href") == copy["id"]
    journey.shots.check(own, "credential-in-a-wallet")
    return copy


def learner_hides_the_page(journey: Journey, own: Any, credential_url: str) -> Any:
    """Private: a visitor gets 404; public again: the visitor (returned) sees it."""
    own.get_by_role("button", name="Make it private").click()
    own.wait_for_url(credential_url)
    assert "Private page." in own.inner_text("main")
    journey.shots.check(own, "credential-private")
    visitor = journey.page()
    hidden = visitor.goto(credential_url)
    assert hidden is not None and hidden.status == 404
    journey.shots.check(visitor, "private-to-a-visitor")
    own.get_by_role("button", name="Make it public").click()
    own.wait_for_url(credential_url)
    shown = visitor.goto(credential_url)
    assert shown is not None and shown.status == 200
    return visitor


def coordinator_revokes(journey: Journey, desk: Any) -> None:
    """After a confirmation that states the consequences, the reason required."""
    desk.goto(f"{journey.base}/coordinator/credentials")
    journey.shots.check(desk, "credentials")
    desk.get_by_role("link", name=re.compile(r"^Revoke")).click()
    consequences = desk.inner_text("main")
    assert "cannot be undone" in consequences and "(1 copy)" in consequences
    journey.shots.check(desk, "revoke-confirmation")
    desk.get_by_label("Reason").fill(REASON)
    desk.get_by_role("button", name="Revoke it").click()
    desk.wait_for_url(re.compile(r"/coordinator/credentials$"))
    said(desk, "revoked")
    row = desk.get_by_role("row").filter(has_text=LEARNER_NAME)
    assert "Revoked" in row.inner_text()
    assert row.get_by_role("button", name="Re-send claim link").count() == 0
    journey.shots.check(desk, "credentials-revoked")


def everyone_sees_it_revoked(
    journey: Journey, own: Any, visitor: Any, credential_url: str, copy: dict[str, Any]
) -> None:
    """The wallet's copy fails to verify, the learner is e-mailed the reason, and the public
    page has the banner with the date and reason and no share actions."""
    verdict = httpx.post(
        f"{journey.base}/credentials/verify", json={"verifiableCredential": copy}, timeout=30
    ).json()
    assert verdict["verified"] is False, verdict
    told, _ = journey.outbox.wait(LEARNER, "/credentials/")
    assert "revoked" in text_of(told).lower() and REASON in text_of(told)
    visitor.goto(credential_url)
    banner = visitor.get_by_role("status").filter(has_text="Revoked on")
    assert REASON in banner.inner_text()
    for action in ("LinkedIn", "Learner Credential Wallet", "OpenID4VCI", "Copy link"):
        assert visitor.get_by_text(action).count() == 0, action
    downloads = ("credential.json", "badge.png", "badge.svg", "credential.jwt", ".pdf")
    hrefs = visitor.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
    assert not [h for h in hrefs if h.endswith(downloads)], hrefs
    journey.shots.check(visitor, "public-revoked")
    own.goto(credential_url)  # the owner is offered nothing to share either
    assert own.get_by_role("button", name="Learner Credential Wallet").count() == 0
    assert own.get_by_text("LinkedIn").count() == 0


def test_everyone_gets_in_and_finishes_their_job_from_the_pages(tmp_path: Path) -> None:
    port = test_sso.free_port()
    settings = settings_for(tmp_path, port)
    shots = Pages(ARTIFACTS / "journey")
    with test_sso.serve(settings, port), browser() as chromium:
        journey = Journey(settings.base_url, Outbox(settings), chromium, shots)
        desk = coordinator_invites(journey)
        supervisor_accepts(journey)
        coordinator_assigns(journey, desk)
        attest_by_api(settings)  # the claim e-mail goes out
        own, credential_url = learner_claims_and_comes_back(journey)
        copy = learner_adds_to_a_wallet(journey, own, credential_url)
        visitor = learner_hides_the_page(journey, own, credential_url)
        coordinator_revokes(journey, desk)
        everyone_sees_it_revoked(journey, own, visitor, credential_url, copy)
    shots.assert_clean()


# ── single sign-on ──


def test_a_person_signs_in_through_the_institutions_provider(tmp_path: Path) -> None:
    """An invited supervisor who never set a password signs in with the institution."""
    reason = test_sso.missing()
    if reason and os.environ.get("CI"):
        pytest.fail(f"the single sign-on step must run in CI: {reason}")
    if reason:
        pytest.skip(reason)
    port = test_sso.free_port()
    base = f"http://127.0.0.1:{port}"
    with ExitStack() as stack:
        issuer = stack.enter_context(
            test_sso.provider(f"{base}/sso/callback", tmp_path / "provider.log")
        )
        settings = settings_for(
            tmp_path,
            port,
            oidc_issuer=issuer,
            oidc_client_id="issuer",
            oidc_client_secret=test_sso.SECRET,
            oidc_display_name="St Example Hospital",
            oidc_allow_loopback_http=True,
        )
        engine = make_engine(settings.database_url)
        with transaction(session_factory(engine)) as session:
            accounts.create_user(
                session, email=SUPERVISOR, name=SUPERVISOR_NAME, roles=["supervisor"]
            )
        engine.dispose()
        stack.enter_context(test_sso.serve(settings, port))
        chromium = stack.enter_context(browser())
        page = new_page(chromium)
        page.goto(f"{base}/login")
        shots = Pages(ARTIFACTS / "sso")
        shots.check(page, "login-with-sso")
        page.get_by_role("link", name="Sign in with St Example Hospital").click()
        page.wait_for_url(f"{issuer}/**")
        shots.check(page, "provider-login", axe=False)  # the provider's page, not ours
        page.get_by_placeholder("Enter any login").fill("known")
        page.get_by_placeholder("and password").fill("anything")
        page.get_by_role("button", name="Sign-in").click()
        page.wait_for_url(re.compile(rf"^{re.escape(base)}/supervisor$"))
        signed_in_as(page, SUPERVISOR_NAME)
        shots.check(page, "supervisor-home-after-sso")
        sign_out(page)
    shots.assert_clean()
