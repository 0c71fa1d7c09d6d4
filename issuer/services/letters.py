"""Letters: what an e-mail says, written once by the use case that sends it, and the message it
becomes: a plain-text part and a branded HTML part (multipart/alternative).

A use case writes a `Letter` (a greeting, paragraphs, at most one link or code to act on, why
the person gets it, and the badge when it is about a credential); the outbox keeps it, its
one-time secrets included only until it is delivered (mail.py). The letter is put on the
issuer's letterhead when it is sent, because the use cases do not know the brand: `compose`
sets the From display name and dresses the HTML part in the brand's name, colour and logo,
with the badge and the logo as inline images. The text part says all the HTML part says (the
badge as its caption, the HTML's alt text): some people and some filters read only that.

Why inline images (multipart/related, `<img src="cid:…">`) and not the alternatives:
- an https URL of the badge is not shown by default where our readers are: Outlook for
  Windows and Thunderbird block remote images until "download pictures" is clicked, as do many
  hospital mail gateways; where it is shown, fetching it tells the server the message was
  opened (and Gmail and Apple Mail fetch it through their proxies anyway). It also needs the
  issuer's public address to be reachable, which a development or intranet issuer is not;
- a `data:` URI is dropped by Gmail and by Outlook (desktop and web): a broken image;
- a CID part travels inside the message, so Gmail (web and apps), Outlook (desktop, web and
  mobile), Apple Mail, iOS Mail and Thunderbird show it at once, offline, and nothing is
  fetched from anyone. The cost is size: the badge is a 320 px PNG (under 40 KB), drawn once
  per level and process, and the logo is shrunk to 80 px high.
"""

from __future__ import annotations

import email.policy
import io
import json
import re
import secrets
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from email.headerregistry import Address, BaseHeader, HeaderRegistry
from email.message import EmailMessage
from email.utils import formatdate, make_msgid, parseaddr
from functools import lru_cache
from pathlib import Path
from urllib.parse import urlsplit

import jinja2
from PIL import Image, ImageDraw

from issuer.badge_images import BadgeFace, badge_png, font
from issuer.brand import Brand
from issuer.contrast import WHITE, legible_against, readable_on
from issuer.errors import InvalidInput
from issuer.store.models import CredentialRecord

# The mail templates ship with the package, beside the pages' (config.TEMPLATES_DIR).
TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"
# A message sent through a bare transport (no Settings behind it) still wears a letterhead.
UNBRANDED = Brand("Open Badges issuer")
BADGE_SIZE = 160  # CSS pixels in the message; the PNGs have twice as many, for dense screens
LOGO_HEIGHT = 40
# Control characters and line/paragraph separators: the email package refuses a header holding
# any of them (ValueError, even for U+0085 or U+2028), and titles and names come from uploads.
_UNSAFE_IN_HEADER = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")


@dataclass(frozen=True, slots=True)
class Action:
    """The one thing the message asks for: a button in HTML, the address on its own line in
    both parts (a button that does not render, or a client that blocks links, leaves it)."""

    label: str  # "Open your badge"
    url: str
    note: str = ""  # "This link signs you in once and works for 14 days."


@dataclass(frozen=True, slots=True)
class Code:
    """A code to type elsewhere (an OpenID4VCI transaction code), shown large in HTML."""

    prompt: str  # "Enter this code when your wallet asks"
    value: str


@dataclass(frozen=True, slots=True)
class Letter:
    greeting: str  # "Hello Lee,"
    before: tuple[str, ...]  # paragraphs before the action
    reason: str  # why this person gets this message: "You receive this e-mail because …"
    action: Action | None = None
    code: Code | None = None
    after: tuple[str, ...] = ()
    badge: BadgeFace | None = None  # the credential's badge, for a message about one

    def text(self) -> str:
        """The plain-text part, complete on its own (the sender's name is added when sent)."""
        blocks = [self.greeting, *self.before]
        if self.badge is not None:
            blocks.append(caption(self.badge))
        if self.code is not None:
            blocks.append(f"{self.code.prompt}: {self.code.value}")
        if self.action is not None:
            note = f"\n{self.action.note}" if self.action.note else ""
            blocks.append(f"{self.action.label}:\n{self.action.url}{note}")
        blocks += [*self.after, f"-- \n{self.reason}"]
        return "\n\n".join(blocks) + "\n"

    def redacted(self, redact: Callable[[str], str]) -> Letter:
        """The same letter with `redact` applied to every piece of text it shows."""
        action, code = self.action, self.code
        return replace(
            self,
            greeting=redact(self.greeting),
            before=tuple(map(redact, self.before)),
            reason=redact(self.reason),
            action=action and Action(redact(action.label), redact(action.url), redact(action.note)),
            code=code and Code(redact(code.prompt), redact(code.value)),
            after=tuple(map(redact, self.after)),
        )

    def to_json(self) -> str:
        return json.dumps(asdict(self), ensure_ascii=False, sort_keys=True)

    @classmethod
    def from_json(cls, stored: str) -> Letter:
        data = json.loads(stored)
        return cls(
            greeting=data["greeting"],
            before=tuple(data["before"]),
            reason=data["reason"],
            action=Action(**data["action"]) if data["action"] else None,
            code=Code(**data["code"]) if data["code"] else None,
            after=tuple(data["after"]),
            badge=BadgeFace(**data["badge"]) if data["badge"] else None,
        )


def caption(face: BadgeFace) -> str:
    """The badge in words: the text part's line for it, and the HTML image's alt text."""
    return f"The badge: {face.title}, {face.label} (level {face.position} of {face.count})"


def check(letter: Letter) -> None:
    """Refuse a letter whose link is not an http(s) address: it becomes a button's href."""
    if letter.action is None:
        return
    parts = urlsplit(letter.action.url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise InvalidInput(f"a message's link must be an http(s) address: {letter.action.url!r}")


def badge_of(record: CredentialRecord) -> BadgeFace:
    """The badge of a credential, as its page draws it (sharing.view builds the same face)."""
    achievement = record.achievement
    return BadgeFace(
        title=achievement.framework.title,
        label=achievement.label,
        soc=achievement.framework.soc,
        position=achievement.position + 1,
        count=len(achievement.framework.achievements),
    )


# ── the message as sent ──


def from_address(sender: str, name: str) -> Address:
    """The From header: the address of ISSUER_MAIL_FROM under its own display name if it has
    one (`"St Example" <badges@example.org>`), else under `name` (the issuer's). Address
    quotes or encodes the name as it needs (a comma, an accent); ValueError for no address."""
    own_name, address = parseaddr(sender)
    local, _, domain = address.rpartition("@")
    if not local or not domain:
        raise ValueError(f"{sender!r} is not an e-mail address")
    return Address(header(own_name or name), addr_spec=address)


def header(value: str) -> str:
    return _UNSAFE_IN_HEADER.sub(" ", value)


@dataclass(frozen=True, slots=True)
class Picture:
    """An inline image: its PNG, and its size in CSS pixels (Outlook needs both attributes)."""

    png: bytes
    width: int
    height: int


def compose(
    *, sender: str, recipient: str, subject: str, body: str, letter: Letter | None, brand: Brand
) -> EmailMessage:
    """The message: multipart/alternative of the text `body` and, for a letter, its HTML
    (multipart/related with the logo and badge it shows, each by Content-ID). A row queued
    before letters were stored has only its body: it goes as plain text.

    Every header is one line (names and titles come from people and uploads), and `To` is
    exactly one address or nothing is sent (ValueError): as a plain string, "a,b@example.org"
    would be two recipients to smtplib, and the second would get someone else's link."""
    author, subject = from_address(sender, brand.name), header(subject)
    email = EmailMessage(policy=POLICY)
    email["From"], email["To"] = author, Address(addr_spec=recipient)
    email["Subject"] = subject
    email["Date"] = formatdate(localtime=False)
    # With the domain given, make_msgid skips socket.getfqdn(), a DNS lookup per message.
    email["Message-ID"] = make_msgid(domain=author.domain)
    email.set_content(f"{body}Sent by {header(brand.name)}.\n")
    if letter is None:
        return email
    pictures = {
        name: picture
        for name, picture in (
            ("logo", logo_picture(brand)),
            ("badge", badge_picture(letter.badge) if letter.badge else None),
        )
        if picture is not None
    }
    cids = {name: make_msgid(name, author.domain) for name in pictures}
    html = (
        _templates()
        .get_template("mail/letter.html")
        .render(
            letter=letter,
            brand=brand,
            subject=subject,
            # The brand is the operator's colour: the button's label is black or white, whichever
            # reads on it, and the name, in the brand colour, is shaded until it reads on white.
            on_brand=readable_on(brand.colour),
            caption=caption(letter.badge) if letter.badge else "",
            brand_text=legible_against(brand.colour, WHITE),
            pictures={name: (cids[name][1:-1], picture) for name, picture in pictures.items()},
        )
    )
    email.make_alternative(boundary=_boundary())
    email.add_alternative(html, subtype="html")
    *_, related = email.iter_parts()
    related.make_related(boundary=_boundary())
    for name, picture in pictures.items():
        related.attach(_inline_copy(_inline_part(picture, name), cids[name]))
    return email


@lru_cache(maxsize=64)
def _inline_part(picture: Picture, name: str) -> EmailMessage:
    """The picture's part as `add_related` makes it (base64, Content-Type, Disposition), once
    per picture and process: encoding the badge's ~40 KB and parsing its five headers again
    for each claim e-mail cost the worker ~1 ms of it. Each message attaches an
    `_inline_copy`."""
    part = EmailMessage(policy=POLICY)
    part.set_content(
        picture.png, "image", "png", cid=_CID, disposition="inline", filename=name + ".png"
    )
    return part


class _Headers(HeaderRegistry):
    """The email package's header registry, each header's class made once per name: the
    stock registry makes a new class (`type(...)`) for every header of every message, ~0.3 ms
    of each claim e-mail the mail worker composes."""

    def __init__(self) -> None:
        super().__init__()
        self._made: dict[str, type[BaseHeader]] = {}

    def __getitem__(self, name: str) -> type[BaseHeader]:
        key = name.lower()
        made = self._made.get(key)
        if made is None:
            made = self._made[key] = super().__getitem__(key)
        return made


# email.policy.default, but for the header registry: the same headers, made faster.
POLICY = email.policy.default.clone(header_factory=_Headers())


_CID = "<unset@invalid>"  # replaced in every copy of an `_inline_part`


def _inline_copy(part: EmailMessage, cid: str) -> EmailMessage:
    """A new part with `part`'s headers (made already: the policy stores them as they are)
    and payload (a str), its Content-ID `cid` in the place of `_CID`: the same bytes as
    `add_related` writes, and the cached part is never changed."""
    copied = EmailMessage(policy=POLICY)
    for name, value in part.items():
        copied[name] = cid if value == _CID else value
    copied.set_payload(part.get_payload())
    return copied


def _boundary() -> str:
    """A multipart boundary, set when the part is made: left unset, the generator draws one
    and then searches the whole message for it with a regular expression compiled for it,
    ~0.25 ms a part. "=_" cannot begin a line of a base64 or quoted-printable body (the
    encodings RFC 2045 chose it for); a plain-text part would have to hold 128 random bits."""
    return f"=_{secrets.token_hex(16)}"


@lru_cache(maxsize=1)
def _templates() -> jinja2.Environment:
    # Autoescape everything: names, titles and reasons come from people and uploads.
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(TEMPLATES_DIR),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )


@lru_cache(maxsize=64)
def badge_picture(face: BadgeFace) -> Picture:
    """The badge for a message, drawn once per level and process (~0.2 s each)."""
    return Picture(badge_png(face, BADGE_SIZE * 2), BADGE_SIZE, BADGE_SIZE)


@lru_cache(maxsize=8)
def logo_picture(brand: Brand) -> Picture | None:
    """The logo as a small PNG (twice LOGO_HEIGHT), or None: an SVG logo, which many mail
    clients do not show, or a PNG Pillow cannot read; the issuer's name then stands alone.
    Without a logo, the brand's monogram, as the pages show it."""
    if brand.logo is None:
        return Picture(_monogram(brand), LOGO_HEIGHT, LOGO_HEIGHT)
    if brand.logo_type != "image/png":
        return None
    try:
        with Image.open(io.BytesIO(brand.logo)) as opened:
            logo = opened.convert("RGBA")
    except (OSError, ValueError, Image.DecompressionBombError):
        return None
    logo.thumbnail((LOGO_HEIGHT * 2 * 6, LOGO_HEIGHT * 2), Image.Resampling.LANCZOS)
    width = max(1, round(logo.width * LOGO_HEIGHT / logo.height))
    return Picture(_png(logo), width, LOGO_HEIGHT)


def _monogram(brand: Brand) -> bytes:
    size = LOGO_HEIGHT * 2
    big = size * 4  # drawn large, then scaled down: Pillow draws edges without anti-aliasing
    image = Image.new("RGBA", (big, big), (0, 0, 0, 0))
    draw = ImageDraw.Draw(image)
    draw.ellipse([0, 0, big - 1, big - 1], fill=brand.colour)
    draw.text(
        (big / 2, big / 2), brand.initials, readable_on(brand.colour), font(big * 0.4, True), "mm"
    )
    return _png(image.resize((size, size), Image.Resampling.LANCZOS))


def _png(image: Image.Image) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()
