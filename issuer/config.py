"""Settings, read once from `ISSUER_*` environment variables by the edges (web app, CLI).

The core never reads the environment: the edges pass it plain values taken from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from ipaddress import IPv4Network, IPv6Network, ip_network
from pathlib import Path
from typing import Any

from issuer.brand import DEFAULT_COLOUR, Brand
from issuer.profiles import IssuerProfile
from issuer.proofs.cryptosuites import SUITES
from issuer.services.letters import from_address
from issuer.services.mail import Branded, OutboxDirectory, Smtp, Transport

PACKAGE_DIR = Path(__file__).parent
BUNDLED_FRAMEWORKS_DIR = PACKAGE_DIR / "data" / "frameworks"
TEMPLATES_DIR = PACKAGE_DIR.parent / "templates"
STATIC_DIR = PACKAGE_DIR.parent / "static"
PREFIX = "ISSUER_"
JWT_ALGORITHMS = ("ES256", "EdDSA")  # what we sign VC-JWTs with (we verify RS256 as well)
Network = IPv4Network | IPv6Network


@dataclass(frozen=True, slots=True)
class Settings:
    """Everything configurable. Each field `x` is read from `ISSUER_X` (see README)."""

    base_url: str = "http://127.0.0.1:8000"
    data_dir: Path = Path("data")
    database_url: str = ""
    keys_dir: Path = Path("keys")
    key_passphrase: str | None = field(default=None, repr=False)
    did: str | None = None
    # Data Integrity cryptosuites each credential is signed with, in order (ISSUER_PROOFS=
    # eddsa-rdfc-2022,ecdsa-rdfc-2019 makes a two-proof set), and the VC-JWT algorithm
    # (ISSUER_JWT_ALG=ES256|EdDSA; unset: ES256 when a P-256 key and a did:web allow it).
    proofs: tuple[str, ...] = ("eddsa-rdfc-2022",)
    # The endorsers (DIDs) whose endorsements signed elsewhere may be uploaded (ISSUER_ENDORSERS)
    endorsers: tuple[str, ...] = ()
    # Credentials carry a W3C render method (a certificate template wallets print them with)
    render_method: bool = True
    jwt_alg: str | None = None
    issuer_name: str = "Development Issuer"
    issuer_url: str | None = None
    issuer_email: str | None = None
    issuer_image: str | None = None
    issuer_description: str | None = None
    # The brand on pages, e-mails, badge images, the certificate and link previews.
    brand_colour: str = DEFAULT_COLOUR
    logo: Path | None = None
    certificate_paper: str = "A4"
    linkedin_organization_id: str | None = None
    language: str = "en"
    frameworks_dir: Path = BUNDLED_FRAMEWORKS_DIR
    templates_dir: Path = TEMPLATES_DIR
    static_dir: Path = STATIC_DIR
    host: str = "127.0.0.1"
    port: int = 8000
    allow_private_fetch: bool = False
    suspension: bool = False
    # Requests per minute per client address (0 turns the limit off); sign-in also per account.
    login_rate_limit: int = 10
    verify_rate_limit: int = 60
    # Request bodies, in bytes: any route (a 1 MB credential and its JSON or multipart
    # envelope), and the coordinators' framework and CSV uploads (a 5 MB CSV grows when the
    # enrolment page sends it back form-encoded). Larger bodies are refused with a 413 unread.
    max_body_bytes: int = 1_048_576
    max_upload_bytes: int = 10_000_000
    # Reverse proxies whose X-Forwarded-For is believed (ISSUER_TRUSTED_PROXIES=10.0.0.0/8,::1).
    trusted_proxies: tuple[Network, ...] = ()
    smtp_host: str | None = None
    smtp_port: int = 587
    smtp_username: str | None = None
    smtp_password: str | None = field(default=None, repr=False)
    smtp_starttls: bool = True
    # The From address, shown under the issuer's name ("St Example Hospital" <badges@…>)
    # unless it carries a display name of its own.
    mail_from: str = "badges@localhost"
    # A separate process delivers mail (`issuer worker`, started by `issuer serve`): the app
    # only queues it. Unset, the app delivers after the request that queued it.
    mail_worker: bool = False
    # Single sign-on with the institution's OpenID provider: none without an issuer URL.
    oidc_issuer: str | None = None
    oidc_client_id: str | None = None
    oidc_client_secret: str | None = field(default=None, repr=False)
    oidc_display_name: str = "your institution"
    oidc_create_accounts: bool = False  # a verified e-mail nobody has becomes a learner
    oidc_allow_loopback_http: bool = False  # an http:// provider on 127.0.0.1 (tests only)
    # The Open Badges API's Service Description Document and our registrations at backpacks
    # name these (OB 3.0 requires both); unset, the home page stands in for each.
    privacy_policy_url: str | None = None
    terms_of_service_url: str | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "base_url", self.base_url.rstrip("/"))
        if not self.database_url:
            object.__setattr__(self, "database_url", f"sqlite:///{self.data_dir / 'issuer.db'}")
        if self.max_body_bytes < 1 or self.max_upload_bytes < 1:
            raise ValueError("ISSUER_MAX_BODY_BYTES and ISSUER_MAX_UPLOAD_BYTES must be positive")
        suites = set(self.proofs)
        if not suites or not suites <= set(SUITES) or len(suites) < len(self.proofs):
            raise ValueError(f"ISSUER_PROOFS: a comma-separated list of {', '.join(SUITES)}")
        if self.jwt_alg not in (None, *JWT_ALGORITHMS):
            raise ValueError(f"ISSUER_JWT_ALG must be one of {', '.join(JWT_ALGORITHMS)}")
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("ISSUER_OIDC_ISSUER needs ISSUER_OIDC_CLIENT_ID and _CLIENT_SECRET")
        self._check_mail_from()

    def _check_mail_from(self) -> None:
        """Checked at start: at delivery, every message would fail and be given up, or be
        refused by the receiving servers (no one accepts mail from an unqualified domain)."""
        try:
            sender = from_address(self.mail_from, self.issuer_name)
        except ValueError:
            raise ValueError(
                f"ISSUER_MAIL_FROM {self.mail_from!r} is not an e-mail address "
                '(badges@example.org, or "St Example Hospital" <badges@example.org>)'
            ) from None
        if self.smtp_host and "." not in sender.domain:
            raise ValueError(
                f"ISSUER_SMTP_HOST is set: set ISSUER_MAIL_FROM to an address of your domain "
                f"(mail from {sender.addr_spec} is refused or filed as spam)"
            )

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        """Settings from `ISSUER_*` variables; anything unset keeps its default."""
        environ = os.environ if environ is None else environ
        values: dict[str, Any] = {}
        for spec in fields(cls):
            raw = environ.get(PREFIX + spec.name.upper())
            if raw is None or raw == "":
                continue
            values[spec.name] = _convert(spec.type, raw)
        return cls(**values)

    def issuer_profile(self) -> IssuerProfile:
        """The issuer's Profile, identified by its web address `{base_url}/issuer`.

        Achievements name it as `creator` with that id: they are published documents that must
        not change when the signing key does. Credentials name it as `issuer` with the id
        replaced by the DID (services.identity.load_identity does that).
        """
        return IssuerProfile(
            id=f"{self.base_url}/issuer",
            name=self.issuer_name,
            url=self.issuer_url or self.base_url,
            email=self.issuer_email,
            image=self.issuer_image,
            description=self.issuer_description,
            linkedin_organization_id=self.linkedin_organization_id,
        )

    def brand(self) -> Brand:
        """The issuer's name, colour, logo and paper size; InvalidInput naming a bad setting."""
        return Brand.load(self.issuer_name, self.brand_colour, self.logo, self.certificate_paper)

    def mail_transport(self, brand: Brand | None = None) -> Transport:
        """SMTP when ISSUER_SMTP_HOST is set, else .eml files in ISSUER_DATA_DIR/outbox/; the
        messages on `brand` (the web app's, loaded once), else on the settings' brand."""
        transport: Transport = OutboxDirectory(self.data_dir / "outbox")
        if self.smtp_host:
            transport = Smtp(
                self.smtp_host,
                self.smtp_port,
                self.smtp_username,
                self.smtp_password,
                self.smtp_starttls,
            )
        return Branded(transport, brand or self.brand())


def _convert(annotation: Any, raw: str) -> Any:
    kind = str(annotation)
    if "Network" in kind:
        return _networks(raw)
    if kind.startswith("tuple[str"):  # a comma-separated list (ISSUER_PROOFS)
        return tuple(filter(None, (part.strip() for part in raw.split(","))))
    if "Path" in kind:
        return Path(raw)
    if "bool" in kind:
        return raw.strip().lower() in ("1", "true", "yes", "on")
    if "int" in kind:
        return int(raw)
    return raw


def _networks(raw: str) -> tuple[Network, ...]:
    """A comma-separated list of addresses and CIDR blocks; a bad entry stops the start-up."""
    networks = []
    for entry in filter(None, (part.strip() for part in raw.split(","))):
        try:
            networks.append(ip_network(entry, strict=False))
        except ValueError:
            raise ValueError(
                f"ISSUER_TRUSTED_PROXIES: {entry!r} is not an IP address or CIDR"
            ) from None
    return tuple(networks)
