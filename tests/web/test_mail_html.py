"""E-mails people trust: every message is plain text and branded HTML (multipart/alternative),
from the issuer's name, with the badge and the logo as inline images and nothing remote; the
one-time links and codes are gone from every column of the outbox once a message is sent.

Each kind of message is caused the way the service causes it (the API, or the use case in a
transaction) and read back from what the transport delivered: .eml files, or a real SMTP
server on loopback (aiosmtpd)."""

from __future__ import annotations

import io
import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from html import unescape
from html.parser import HTMLParser
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from fastapi.testclient import TestClient
from markupsafe import escape
from PIL import Image
from sqlalchemy import select

from issuer.badge_images import BadgeFace
from issuer.brand import Brand
from issuer.config import Settings
from issuer.services import letters, mail, recovery
from issuer.services.letters import Action, Code, Letter
from issuer.store import migrate
from issuer.store.db import make_engine, session_factory, transaction
from issuer.store.models import OutboxMessage
from issuer.web.app import create_app
from tests.web.helpers import World, bearer, build_world, free_port
from tests.web.test_mail import Inbox, columns

ISSUER = "St Example Hospital, NHS Trust"  # a comma: the display name must be quoted
SENDER = "badges@example.org"
HOSTILE = '<script>alert("x")</script> Lee'
BASE = "http://127.0.0.1:8000"
COLOUR = "#7c3aed"
LOGO_RGB = (0x0F, 0x76, 0x6E)
FACE = BadgeFace("Radiologic Technologists and Technicians", "Proficient", "29-2034.00", 3, 4)
# Subject -> whether the message is about a credential (and so shows its badge).
KINDS = {
    "Your badge: ": True,
    "Your code to add your badge to a wallet": True,
    "Your badge is suspended: ": True,
    "Your badge is valid again: ": True,
    "Your badge was revoked: ": True,
    "You are invited to the Open Badges issuer": False,
    "Reset your password": False,
    "Your sign-in link": False,
    "Confirm your new e-mail address": False,
    "Your sign-in address is about to change": False,
}


def png_logo(path: Path) -> Path:
    """A real 600×200 PNG logo, wider than tall, as an operator would configure."""
    Image.new("RGB", (600, 200), LOGO_RGB).save(path)
    return path


@pytest.fixture
def branded(db_settings: Settings, tmp_path: Path) -> Settings:
    return replace(
        db_settings,
        issuer_name=ISSUER,
        mail_from=SENDER,
        brand_colour=COLOUR,
        logo=png_logo(tmp_path / "logo.png"),
        suspension=True,
    )


@pytest.fixture
def branded_world(branded: Settings) -> Iterator[World]:
    with TestClient(create_app(branded)) as client:
        yield build_world(client, branded)


def delivered(settings: Settings) -> list[EmailMessage]:
    """Every message the .eml transport wrote, parsed as a mail client would."""
    files = sorted((settings.data_dir / "outbox").glob("*.eml"), key=lambda p: p.stat().st_mtime_ns)
    return [message_from_bytes(p.read_bytes(), policy=policy.default) for p in files]


def subject(message: EmailMessage) -> str:
    # A long subject is folded right after "Subject:"; the parsed value keeps that space.
    return str(message["Subject"]).strip()


def part(message: EmailMessage, kind: str) -> str:
    body = message.get_body((kind,))
    assert body is not None, f"no text/{kind} part"
    return str(body.get_content())


def images(message: EmailMessage) -> dict[str, bytes]:
    """The inline images of the HTML part, by Content-ID (without its angle brackets)."""
    found: dict[str, bytes] = {}
    for each in message.walk():
        if each.get_content_type() == "image/png":
            assert each.get_content_disposition() == "inline"
            png = each.get_payload(decode=True)
            assert isinstance(png, bytes)
            found[str(each["Content-ID"]).strip("<>")] = png
    return found


# What no mail client must be asked to run or fetch, and what Gmail, Outlook and Apple Mail
# drop or mangle: the HTML part keeps to tables, inline styles and inline images.
FORBIDDEN_TAGS = {"script", "style", "link", "iframe", "object", "embed", "form", "input"}
FORBIDDEN_TAGS |= {"button", "svg", "video", "audio", "base", "frame", "frameset", "applet"}
FORBIDDEN_IN_STYLE = ("url(", "@import", "expression(", "javascript:", "position:")
VOID_TAGS = {"meta", "img", "br", "hr", "wbr"}
GMAIL_CLIPS_AFTER = 102 * 1024  # bytes of HTML; Gmail shows "[Message clipped]" beyond
BUTTON_FALLBACK = "If the button does not work, copy this address into your browser:"


class Reader(HTMLParser):
    """The HTML part as a reader gets it: its words, each image's alt text in its place (what
    a screen reader says, and what shows when images are off), and every way it strays from
    what mail clients render."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.words: list[str] = []
        self.open: list[str] = []
        self.problems: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attributes = dict(attrs)
        if tag in FORBIDDEN_TAGS:
            self.problems.append(f"<{tag}>")
        for name, value in attributes.items():
            if name.startswith("on") or name in ("class", "id", "srcset", "background"):
                self.problems.append(f"<{tag} {name}>")
            if name == "style" and any(bad in (value or "") for bad in FORBIDDEN_IN_STYLE):
                self.problems.append(f"<{tag} style={value!r}>")
        if tag == "meta" and "http-equiv" in attributes:
            self.problems.append("<meta http-equiv>")
        if tag == "img":
            if not (attributes.get("src") or "").startswith("cid:"):
                self.problems.append(f"<img src={attributes.get('src')!r}>")
            if not {"width", "height", "alt"} <= attributes.keys():
                self.problems.append(f"<img> without width, height and alt: {attributes}")
            self.words += (attributes.get("alt") or "").split()
        if tag == "a" and not (attributes.get("href") or "").startswith(("https://", "http://")):
            self.problems.append(f"<a href={attributes.get('href')!r}>")
        if tag not in VOID_TAGS:
            self.open.append(tag)

    def handle_endtag(self, tag: str) -> None:
        if not self.open or self.open.pop() != tag:
            self.problems.append(f"</{tag}> closes nothing open")

    def handle_data(self, data: str) -> None:
        if self.open[-1:] != ["title"]:  # the title is the subject, a header in the text
            self.words += data.split()


def read_html(html: str) -> Reader:
    reader = Reader()
    reader.feed(html)
    reader.close()
    assert reader.problems == [] and reader.open == [], (reader.problems, reader.open)
    assert len(html.encode()) < GMAIL_CLIPS_AFTER
    return reader


def words(text: str) -> Counter[str]:
    tokens = (token.strip('.,:;!?"()') for token in text.split())
    return Counter(token for token in tokens if token and token != "--")


def assert_same_content(plain: str, html: str, issuer: str) -> None:
    """The text part says what the HTML part says, word for word: all but the letterhead's
    name at the top and the line under the button, which only the HTML needs."""
    shown, issuer = " ".join(read_html(html).words), " ".join(issuer.split())
    assert shown.startswith(f"{issuer} "), shown
    shown = shown.removeprefix(f"{issuer} ").replace(BUTTON_FALLBACK, "", 1)
    assert words(shown) == words(plain), (words(shown) - words(plain), words(plain) - words(shown))


def assert_one_line_headers(message: EmailMessage) -> None:
    """Serialised and parsed back, the message has one From, To and Subject, and no header
    that a name, a title or an address smuggled in."""
    raw = message.as_bytes()
    head = raw.split(b"\n\n", 1)[0]
    names = [line.split(b":", 1)[0] for line in head.split(b"\n") if line[:1] not in (b" ", b"\t")]
    assert sorted(names) == sorted(
        [b"From", b"To", b"Subject", b"Date", b"Message-ID", b"Content-Type", b"MIME-Version"]
        + [b"Content-Transfer-Encoding"] * (message.get_content_type() == "text/plain")
    )
    assert all(len(line) <= 998 for line in raw.split(b"\n"))  # RFC 5322's line limit
    parsed = message_from_bytes(raw, policy=policy.default)
    assert len(parsed["To"].addresses) == 1 and parsed["Bcc"] is None and parsed["Cc"] is None


def assert_well_formed(message: EmailMessage, about_a_credential: bool) -> None:
    """The shape every message has: text and HTML alternatives, the HTML with its images
    related by Content-ID, from the issuer's name, saying who sent it and why, no tracking."""
    assert message.get_content_type() == "multipart/alternative"
    text, related = message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert related.get_content_type() == "multipart/related"
    html_part, *pictures = related.iter_parts()
    assert html_part.get_content_type() == "text/html"
    assert [p.get_content_type() for p in pictures] == ["image/png"] * len(pictures)
    author = message["From"].addresses[0]
    assert (author.display_name, author.addr_spec) == (ISSUER, SENDER)
    assert f'"{ISSUER}" <{SENDER}>' in message.as_string()

    plain, html = part(message, "plain"), part(message, "html")
    assert f"Sent by {ISSUER}." in plain and "You receive this e-mail because" in plain
    assert f"Sent by {ISSUER}." in unescape(html)
    # Every image is one of ours, by Content-ID; nothing loads from anywhere, nothing tracks.
    sources = re.findall(r'src="([^"]*)"', html)
    cids = images(message)
    assert sorted(s.removeprefix("cid:") for s in sources) == sorted(cids)
    assert all(s.startswith("cid:") for s in sources)
    assert len(cids) == (2 if about_a_credential else 1)  # the logo, and the badge
    assert all(Image.open(io.BytesIO(png)).format == "PNG" for png in cids.values())
    assert ('alt="The badge: ' in html) == about_a_credential
    # The settings' brand: its colour on the letterhead, and the configured logo itself.
    assert f"border-top:6px solid {COLOUR};" in html
    logo = re.search(r'<img src="cid:([^"]+)" width="120" height="40" alt=""', html)
    assert logo is not None
    assert Image.open(io.BytesIO(cids[logo.group(1)])).convert("RGB").getpixel((5, 5)) == LOGO_RGB
    # One action at most: its link is the button and the text under it, and in the text part.
    links = re.findall(rf"{re.escape(BASE)}/\S+", plain)
    hrefs = [unescape(href) for href in re.findall(r'href="([^"]+)"', html)]
    assert len(links) <= 1
    assert hrefs == links * 2  # none, or the button and the address under it
    assert_same_content(plain, html, ISSUER)
    assert_one_line_headers(message)


def test_every_kind_of_message_is_text_and_branded_html(
    branded_world: World, branded: Settings
) -> None:
    world, coordinator = branded_world, bearer(branded_world.coordinator)
    renamed = world.client.patch(
        f"/api/users/{world.learner_id}", json={"name": HOSTILE}, headers=coordinator
    )
    assert renamed.status_code == 200
    world.confirm_all()
    credential_id = world.attest().json()["id"]
    offer = f"/api/me/credentials/{credential_id}/openid-offer"
    assert world.client.post(offer, headers=bearer(world.learner)).status_code == 201
    for change, body in (("suspend", {"reason": "a <b>review</b>"}), ("unsuspend", None)):
        path = f"/api/credentials/{credential_id}/{change}"
        assert world.client.post(path, json=body, headers=coordinator).status_code == 200
    revoked = world.client.post(
        f"/api/credentials/{credential_id}/revoke",
        json={"reason": "found invalid"},
        headers=coordinator,
    )
    assert revoked.status_code == 200
    invited = {"email": "ana@example.org", "name": "Ana Ruiz", "roles": ["supervisor"]}
    assert world.client.post("/api/users", json=invited, headers=coordinator).status_code == 201
    engine = make_engine(branded.database_url)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        recovery.request_reset(session, "lee@example.org", BASE)
        recovery.request_sign_in_link(session, "lee@example.org", BASE)
    mail.deliver_due(sessions, branded.mail_transport(), sender=branded.mail_from)
    engine.dispose()
    moved = world.client.patch(
        f"/api/users/{world.learner_id}", json={"email": "lee.new@example.org"}, headers=coordinator
    )
    assert moved.status_code == 200

    messages = delivered(branded)
    kinds = [next(k for k in KINDS if subject(m).startswith(k)) for m in messages]
    assert sorted(kinds) == sorted(KINDS)  # each kind once
    for message, kind in zip(messages, kinds, strict=True):
        assert_well_formed(message, KINDS[kind])
        if str(message["To"]) == "lee@example.org":  # the hostile name, shown, never run
            html = part(message, "html")
            assert "<script>" not in html and "&lt;script&gt;alert(&#34;x&#34;)" in html
            assert f"Hello {HOSTILE}," in part(message, "plain")
    [suspended] = [m for m in messages if subject(m).startswith("Your badge is suspended")]
    assert "Reason: a &lt;b&gt;review&lt;/b&gt;" in part(suspended, "html")


def test_the_claim_email_shows_the_badge_and_the_learners_name(
    branded_world: World, branded: Settings
) -> None:
    branded_world.confirm_all()
    assert branded_world.attest().status_code == 201
    [claim] = delivered(branded)
    html, plain = part(claim, "html"), part(claim, "plain")
    assert "Hello Lee Learner," in html and "Hello Lee Learner," in plain
    name = "Radiologic Technologists and Technicians: Proficient"
    assert f"You have earned the Open Badge &#34;{name}&#34;." in html
    badge_cid = re.search(r'<img src="cid:([^"]+)"[^>]*alt="The badge: ([^"]+)"', html)
    assert badge_cid is not None
    assert badge_cid.group(2) == f"{name.replace(': ', ', ')} (level 3 of 4)"
    badge = Image.open(io.BytesIO(images(claim)[badge_cid.group(1)]))
    assert badge.size == (2 * letters.BADGE_SIZE,) * 2 and badge.mode == "RGBA"
    link = re.search(rf"{re.escape(BASE)}/claim/\S+", plain)
    assert link is not None and f'href="{link.group(0)}"' in html
    assert "This link signs you in once and works for 14 days." in html
    assert ">Open your badge</a>" in html


def outbox_rows(settings: Settings) -> list[OutboxMessage]:
    engine = make_engine(settings.database_url)
    with transaction(session_factory(engine)) as session:
        rows = list(session.query(OutboxMessage).order_by(OutboxMessage.id))
    engine.dispose()
    return rows


def test_no_column_keeps_a_link_or_code_once_sent(branded_world: World, branded: Settings) -> None:
    branded_world.confirm_all()
    credential_id = branded_world.attest().json()["id"]
    offer = f"/api/me/credentials/{credential_id}/openid-offer"
    assert (
        branded_world.client.post(offer, headers=bearer(branded_world.learner)).status_code == 201
    )
    claim, code = delivered(branded)
    token = re.search(r"/claim/(\S+)", part(claim, "plain"))
    tx_code = re.search(r"wallet asks: (\d{6})", part(code, "plain"))
    assert token is not None and tx_code is not None
    # Both parts carried them, the HTML's code in large type.
    assert token.group(1) in part(claim, "html") and f">{tx_code.group(1)}</p>" in part(
        code, "html"
    )

    engine = make_engine(branded.database_url)
    sessions = session_factory(engine)
    for row, secret in zip(outbox_rows(branded), (token.group(1), tx_code.group(1)), strict=True):
        assert row.sent_at is not None and row.secrets_erased_at == row.sent_at
        assert row.redacted_body is None and row.redacted_letter is None
        assert secret not in columns(sessions, row.id)
        assert row.letter is not None and mail.REDACTED in row.letter
    engine.dispose()


def test_a_real_smtp_server_receives_the_html_and_its_images(
    db_settings: Settings, tmp_path: Path
) -> None:
    settings = replace(
        db_settings,
        issuer_name="Hôpital Saint-Éloi",  # encoded in the header, read back as written
        mail_from=SENDER,
        logo=png_logo(tmp_path / "logo.png"),
        smtp_host="127.0.0.1",
        smtp_port=free_port(),
        smtp_starttls=False,
    )
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=settings.smtp_port)
    controller.start()
    try:
        with TestClient(create_app(settings)) as client:
            world = build_world(client, settings)
            world.confirm_all()
            assert world.attest().status_code == 201  # delivered after the response
    finally:
        controller.stop()
    [raw] = inbox.messages
    assert b"=?utf-8?" in re.split(rb"\r?\n\r?\n", raw, maxsplit=1)[0]  # RFC 2047, in the headers
    message = message_from_bytes(raw, policy=policy.default)
    assert message["From"].addresses[0].display_name == "Hôpital Saint-Éloi"
    assert message["From"].addresses[0].addr_spec == SENDER
    html = part(message, "html")
    assert "Hôpital Saint-Éloi" in html and "Hello Lee Learner," in html
    cids = images(message)
    assert len(cids) == 2 and all(f"cid:{cid}" in html for cid in cids)
    assert "/claim/" in part(message, "plain")


# ── the letterhead: logos, colours, the sender ──

LETTER = Letter(
    greeting="Hello Lee,",
    before=("Something happened.",),
    action=Action("Open it", f"{BASE}/somewhere"),
    reason="You receive this e-mail because of a test.",
    badge=FACE,
)


def compose(brand: Brand, sender: str = SENDER, letter: Letter | None = LETTER) -> EmailMessage:
    return letters.compose(
        sender=sender,
        recipient="lee@example.org",
        subject="A subject",
        body=LETTER.text(),
        letter=letter,
        brand=brand,
    )


def test_a_png_logo_goes_inline_at_twice_its_shown_size(tmp_path: Path) -> None:
    brand = Brand.load(ISSUER, "#7c3aed", png_logo(tmp_path / "logo.png"), "A4")
    message = compose(brand)
    html = part(message, "html")
    logo = re.search(r'<img src="cid:([^"]+)" width="(\d+)" height="(\d+)" alt=""', html)
    assert logo is not None and (logo.group(2), logo.group(3)) == ("120", "40")
    assert Image.open(io.BytesIO(images(message)[logo.group(1)])).size == (240, 80)


def test_each_message_gets_its_own_copy_of_the_cached_pictures() -> None:
    """The badge's and logo's parts are made once per process (`letters._inline_part`) and
    copied into each message with its own Content-IDs: a later message never changes an
    earlier one's, and a copy is the part `add_related` would have made, byte for byte."""
    brand = Brand("St Example Hospital", "#7c3aed")
    first = compose(brand)
    written = first.as_bytes()
    second = compose(brand)
    assert first.as_bytes() == written
    for message in (first, second):
        html = part(message, "html")
        assert sorted(re.findall(r'<img src="cid:([^"]+)"', html)) == sorted(images(message))
    assert not set(images(first)) & set(images(second))
    assert images(first)[_cid(first, "badge")] == letters.badge_picture(FACE).png

    picture = letters.badge_picture(FACE)
    made = EmailMessage(policy=letters.POLICY)
    made.set_content("<p>badge</p>", subtype="html")
    made.add_related(
        picture.png,
        "image",
        "png",
        cid="<b@example.org>",
        disposition="inline",
        filename="badge.png",
    )
    *_, expected = made.iter_parts()
    copied = letters._inline_copy(letters._inline_part(picture, "badge"), "<b@example.org>")
    assert copied.as_bytes() == expected.as_bytes()


def _cid(message: EmailMessage, name: str) -> str:
    """The Content-ID (without <>) of the inline image named `name`.png."""
    for item in message.walk():
        if item.get_filename() == f"{name}.png":
            return str(item["Content-ID"]).strip("<>")
    raise AssertionError(f"no {name}.png in the message")


def test_without_a_logo_the_monogram_is_drawn_in_the_brand_colour() -> None:
    message = compose(Brand("St Example Hospital", "#7c3aed"))
    html = part(message, "html")
    logo = re.search(r'<img src="cid:([^"]+)" width="40" height="40" alt=""', html)
    assert logo is not None
    monogram = Image.open(io.BytesIO(images(message)[logo.group(1)])).convert("RGBA")
    edge, corner = monogram.getpixel((6, 40)), monogram.getpixel((0, 0))
    assert isinstance(edge, tuple) and isinstance(corner, tuple)
    assert edge[:3] == (0x7C, 0x3A, 0xED)  # the circle's edge
    assert corner[3] == 0  # transparent corners


def test_an_svg_logo_is_left_out_and_the_name_stands_alone(tmp_path: Path) -> None:
    svg = tmp_path / "logo.svg"
    svg.write_text('<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 1 1"/>')
    message = compose(Brand.load(ISSUER, "#7c3aed", svg, "A4"))
    html = part(message, "html")
    assert len(images(message)) == 1 and html.count("<img ") == 1  # the badge only
    assert re.search(rf'font-size:18px;font-weight:bold;color:#7c3aed;[^"]*">{ISSUER}</td>', html)


def test_a_pale_brand_colour_gets_dark_text_on_its_button_and_a_darker_name() -> None:
    html = part(compose(Brand("Pale", "#fde047")), "html")
    button = re.search(r'<a href="[^"]+" style="[^"]*color:(#[0-9a-f]{6});', html)
    assert button is not None and button.group(1) == "#000000"
    name = re.search(r'font-weight:bold;color:(#[0-9a-f]{6});[^"]*">Pale</td>', html)
    assert name is not None and name.group(1) != "#fde047"  # shaded until it reads on white
    assert 'bgcolor="#fde047"' in html  # the button keeps the brand colour


def test_the_sender_address_may_carry_its_own_display_name_and_headers_stay_one_line() -> None:
    own = compose(Brand(ISSUER), sender='"Badges desk" <badges@example.org>')
    assert own["From"].addresses[0].display_name == "Badges desk"
    injected = compose(Brand("Evil\r\nBcc: victim@example.org"))
    assert injected["Bcc"] is None and b"\nBcc:" not in injected.as_bytes().split(b"\n\n")[0]
    assert injected["From"].addresses[0].display_name == "Evil  Bcc: victim@example.org"


def test_a_mail_from_that_is_no_address_stops_the_start(settings: Settings) -> None:
    with pytest.raises(ValueError, match="ISSUER_MAIL_FROM"):
        replace(settings, mail_from="badges")
    assert replace(settings, mail_from='"St Example" <badges@example.org>').mail_from
    with pytest.raises(ValueError, match="ISSUER_SMTP_HOST is set: set ISSUER_MAIL_FROM"):
        replace(settings, smtp_host="smtp.example.org")  # still badges@localhost
    assert replace(settings, smtp_host="smtp.example.org", mail_from=SENDER).smtp_host


def test_mail_queued_before_letters_were_kept_goes_as_plain_text(database_url: str) -> None:
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    with transaction(sessions) as session:
        session.add(
            OutboxMessage(
                recipient="lee@example.org",
                subject="Your badge",
                body="Hello\n",
                created_at=datetime.now(UTC),
                next_attempt_at=datetime.now(UTC),
            )
        )
    sent: list[EmailMessage] = []

    class Recorder:
        def send(self, message: EmailMessage) -> None:
            sent.append(message)

    assert mail.deliver_due(sessions, mail.Branded(Recorder(), Brand(ISSUER)), sender=SENDER) == 1
    engine.dispose()
    [message] = sent
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == f"Hello\nSent by {ISSUER}.\n"


# ── what people typed, in every part of a letter ──

MARKUP = '<img src=x onerror="alert(1)"> & <a href="https://evil.example/">win</a>'


def test_user_data_in_any_part_of_the_letter_is_shown_as_text_never_as_markup() -> None:
    hostile = Letter(
        greeting=f"Hello {MARKUP},",
        before=(f'Your Open Badge "{MARKUP}" was revoked.', f"Reason: {MARKUP}"),
        code=Code(f"Enter {MARKUP}", "123456"),
        action=Action(f"Open {MARKUP}", f"{BASE}/credentials/x?a=1&b=<2>", f"Note {MARKUP}"),
        after=(MARKUP,),
        reason=f"You receive this e-mail because {MARKUP}.",
        badge=replace(FACE, title=MARKUP, label='"Proficient" <b>'),
    )
    brand = Brand(f"{MARKUP} Trust", "#7c3aed")
    message = compose(brand, letter=hostile)
    html = part(message, "html")
    # Not one tag, attribute or link of theirs: read_html refuses any that is not ours.
    reader = read_html(html)
    assert "<img src=x" not in html and 'href="https://evil.example/"' not in html
    assert html.count("&lt;img src=x onerror=&#34;alert(1)&#34;&gt;") >= 9
    assert f'href="{BASE}/credentials/x?a=1&amp;b=&lt;2&gt;"' in html  # an attribute, escaped
    assert (
        f'alt="The badge: {escape(MARKUP)}, &#34;Proficient&#34; &lt;b&gt; (level 3 of 4)"' in html
    )
    assert MARKUP in " ".join(reader.words)  # shown as written
    assert_same_content(hostile.text() + f"Sent by {brand.name}.\n", html, brand.name)


def test_a_code_letter_says_the_same_in_both_parts_and_shows_the_code_large() -> None:
    letter = Letter(
        greeting="Hello Lee,",
        before=('You asked to add your Open Badge "X: Proficient" to a wallet.',),
        code=Code("Enter this code when your wallet asks", "042917"),
        after=("It works once, for 15 minutes.",),
        reason="You receive this e-mail because you asked to add your badge to a wallet.",
        badge=FACE,
    )
    message = letters.compose(
        sender=SENDER,
        recipient="lee@example.org",
        subject="Your code",
        body=letter.text(),
        letter=letter,
        brand=Brand(ISSUER),
    )
    plain, html = part(message, "plain"), part(message, "html")
    assert "Enter this code when your wallet asks: 042917" in plain
    assert re.search(r'<p style="[^"]*font-size:28px;[^"]*">042917</p>', html)
    assert f"{letters.caption(FACE)}\n" in plain
    assert_same_content(plain, html, ISSUER)
    assert_one_line_headers(message)


# ── headers: names, titles and addresses come from people and uploads ──

CRLF_NAMES = ("Evil\r\nBcc: victim@example.org", "Evil\nCc: victim@example.org", "Evil\u2028X")


def test_no_header_can_be_added_through_a_title_an_issuer_name_or_a_recipient(
    database_url: str,
) -> None:
    """The whole way: queued in a transaction as a use case does, delivered by deliver_due,
    serialised and parsed back. A recipient that is not exactly one address is never sent."""
    engine = make_engine(database_url)
    migrate.upgrade(engine)
    sessions = session_factory(engine)
    bad_recipients = ("lee@example.org\r\nBcc: victim@example.org", "a,b@example.org")
    with transaction(sessions) as session:
        for title in CRLF_NAMES:
            mail.queue(session, to="lee@example.org", subject=f"Your badge: {title}", letter=LETTER)
        for to in bad_recipients:
            mail.queue(session, to=to, subject="Your badge", letter=LETTER)
    sent: list[EmailMessage] = []

    class Recorder:
        def send(self, message: EmailMessage) -> None:
            sent.append(message_from_bytes(message.as_bytes(), policy=policy.default))

    transport = mail.Branded(Recorder(), Brand(CRLF_NAMES[0]))
    assert mail.deliver_due(sessions, transport, sender=SENDER) == len(CRLF_NAMES)
    for message in sent:
        assert_one_line_headers(message)
        assert str(message["To"]) == "lee@example.org"
        assert subject(message).startswith("Your badge: Evil ")
        assert message["From"].addresses[0].display_name == "Evil  Bcc: victim@example.org"
        assert "Sent by Evil  Bcc: victim@example.org.\n" in part(message, "plain")
    with transaction(sessions) as session:
        errors = session.scalars(
            select(OutboxMessage.last_error).where(OutboxMessage.sent_at.is_(None))
        ).all()
    engine.dispose()
    assert len(errors) == len(bad_recipients)
    # Refused by the email package when composing, so nothing reached the transport.
    assert all(error and error.startswith("ValueError: ") for error in errors)


@pytest.mark.parametrize("name", CRLF_NAMES)
def test_an_issuer_name_with_a_line_break_stays_one_display_name(name: str) -> None:
    message = compose(Brand(name))
    assert_one_line_headers(message)
    [author] = message["From"].addresses
    assert author.display_name == letters.header(name) and author.addr_spec == SENDER
    assert_same_content(part(message, "plain"), part(message, "html"), letters.header(name))
