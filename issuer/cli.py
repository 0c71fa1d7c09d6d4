"""The `issuer` command line: a thin edge over the services, for operators.

Errors raised on purpose (IssuerError) become one line on stderr and exit status 2 for bad
input; verification failures exit 1. Tracebacks are for bugs only.
"""

from __future__ import annotations

import json
import multiprocessing
import os
import secrets
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Annotated

import typer
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from issuer import limits
from issuer import worker as mail_worker
from issuer.baking.png import SIGNATURE as PNG_SIGNATURE
from issuer.baking.png import bake_png
from issuer.baking.svg import bake_svg
from issuer.config import Settings
from issuer.dids import DID_WEB
from issuer.errors import InvalidInput, IssuerError, NotFound
from issuer.files import write_atomic
from issuer.keys import ED25519, P256
from issuer.profiles import IssuerProfile
from issuer.proofs.vc_jwt import looks_like_jwt
from issuer.services import (
    accounts,
    catalog,
    certification,
    endorsing,
    key_versions,
    mail,
    records_import,
    recovery,
)
from issuer.services.fetching import Fetcher
from issuer.services.identity import (
    IssuerIdentity,
    load_identity,
    sign_credential,
)
from issuer.services.issuing import Issuer
from issuer.services.keyring import KeyRing
from issuer.services.verifying import verify_input
from issuer.store import migrate
from issuer.store.db import make_engine, read_session_factory, session_factory, transaction

app = typer.Typer(
    help="Open Badges 3.0 issuer for occupational skills frameworks.", no_args_is_help=True
)
achievements_app = typer.Typer(help="Build Open Badges 3.0 Achievements from skills frameworks.")
app.add_typer(achievements_app, name="achievements")
keys_app = typer.Typer(help="The issuer's signing keys.")
app.add_typer(keys_app, name="keys")
db_app = typer.Typer(help="The database.")
app.add_typer(db_app, name="db")
users_app = typer.Typer(help="Accounts and roles.")
app.add_typer(users_app, name="users")
tokens_app = typer.Typer(help="Bearer tokens for the JSON API.")
app.add_typer(tokens_app, name="tokens")
frameworks_app = typer.Typer(help="Skills frameworks in the database.")
app.add_typer(frameworks_app, name="frameworks")
DEV_COORDINATOR = "coordinator@example.org"

EXIT_NOT_VERIFIED = 1
EXIT_INVALID = 2
MAX_INPUT_BYTES = 1_000_000


@contextmanager
def reported_errors() -> Iterator[None]:
    """Turn our own errors into a message on stderr and exit status 2."""
    try:
        yield
    except IssuerError as error:
        typer.echo(f"error: {error}", err=True)
        raise typer.Exit(EXIT_INVALID) from None


# This run's settings: read once, when a command first asks (`_new_run` forgets them at the
# start of each run, which matters when one process runs several, as the tests do).
_run: dict[str, Settings] = {}


@app.callback()
def _new_run() -> None:
    _run.clear()


def settings() -> Settings:
    """This run's settings, read from the ISSUER_* variables once: a command and every command
    it calls (setup runs db upgrade and frameworks import) share them."""
    if "settings" not in _run:
        with reported_errors():
            try:
                _run["settings"] = Settings.from_env()
            except ValueError as error:
                raise typer.BadParameter(f"invalid ISSUER_* setting: {error}") from None
    return _run["settings"]


@achievements_app.command("build")
def achievements_build(
    frameworks: Annotated[list[Path], typer.Argument(help="Framework JSON files.")],
    out: Annotated[Path, typer.Option("--out", help="Output directory.")] = Path("achievements"),
) -> None:
    """Validate frameworks and write one Achievement per level to OUT/<soc>/<level>.json.

    Every file is validated before anything is written: on any error nothing is written.
    """
    config = settings()
    with reported_errors():
        written = catalog.build_achievement_files(
            frameworks,
            out,
            base_url=config.base_url,
            creator=config.issuer_profile(),
            language=config.language,
        )
    for path in written:
        typer.echo(str(path))


@contextmanager
def database(config: Settings) -> Iterator[Session]:
    """One transaction against the configured database (our errors become exit 2)."""
    engine = make_engine(config.database_url)
    try:
        with reported_errors(), transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


@db_app.command("upgrade")
def db_upgrade() -> None:
    """Apply the schema migrations (Alembic) to ISSUER_DATABASE_URL."""
    config = settings()
    engine = make_engine(config.database_url)
    try:
        revision = migrate.upgrade(engine)
    finally:
        engine.dispose()
    typer.echo(f"database at revision {revision}")


@users_app.command("create")
def users_create(
    email: Annotated[str, typer.Option(help="Email, the sign-in name.")],
    name: Annotated[str, typer.Option(help="Full name.")],
    role: Annotated[list[str], typer.Option(help="coordinator, supervisor or learner.")],
    password: Annotated[
        str | None, typer.Option(help="Password (asked for when omitted).", hide_input=True)
    ] = None,
) -> None:
    """Create an account, e.g. the first coordinator (an existing e-mail: `users add-role`)."""
    if password is None:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    with database(settings()) as session:
        user = accounts.create_user(session, email=email, name=name, roles=role, password=password)
        typer.echo(f"{user.email}: {', '.join(sorted(r.role for r in user.roles))}")


@users_app.command("add-role")
def users_add_role(
    email: Annotated[str, typer.Option(help="Email of the account.")],
    role: Annotated[str, typer.Option(help="coordinator, supervisor or learner.")],
) -> None:
    """Give an existing account another role (audited, as done by the operator)."""
    with database(settings()) as session:
        user = accounts.add_role(session, accounts.user_by_email(session, email), role, actor=None)
        typer.echo(f"{user.email}: {', '.join(sorted(r.role for r in user.roles))}")


@users_app.command("reset-password")
def users_reset_password(
    email: Annotated[str, typer.Option(help="Email of the account.")],
    interactive: Annotated[
        bool, typer.Option("--interactive", help="Type the new password here instead.")
    ] = False,
) -> None:
    """Print a one-time link (valid 1 hour) that sets a new password, for the operator to open
    or hand over; with --interactive, set the password typed at the prompt. Either way every
    session of that person ends once the password changes (audited)."""
    config = settings()
    password = None
    if interactive:
        password = typer.prompt("New password", hide_input=True, confirmation_prompt=True)
    with database(config) as session:
        user = accounts.user_by_email(session, email)
        if password is not None:
            accounts.change_password(session, user, password, keep=None, via="operator")
            message = f"{user.email}: password changed; every session of theirs has ended"
        else:
            link = recovery.operator_reset_link(session, user, config.base_url)
            message = f"{user.email}: open this link within the hour to set a password\n{link}"
    typer.echo(message)


@tokens_app.command("create")
def tokens_create(
    user: Annotated[str, typer.Option("--user", help="Email of the account.")],
    name: Annotated[str, typer.Option(help="What the token is for.")] = "api",
) -> None:
    """Create a bearer token for the JSON API; it is shown once and stored only hashed."""
    with database(settings()) as session:
        token = accounts.create_token(session, accounts.user_by_email(session, user), name)
    typer.echo(token)


@frameworks_app.command("import")
def frameworks_import(
    frameworks: Annotated[list[Path], typer.Argument(help="Framework JSON files.")],
    validity_days: Annotated[
        int | None, typer.Option(help="Credentials expire after this many days.")
    ] = None,
) -> None:
    """Validate frameworks and store them with their Achievements (importing again is a no-op)."""
    config = settings()
    with database(config) as session:
        for path in frameworks:
            data = read_framework_file(path)
            record = catalog.import_framework(
                session,
                data,
                str(path),
                base_url=config.base_url,
                creator=config.issuer_profile(),
                language=config.language,
                validity_days=validity_days,
            )
            typer.echo(f"{record.soc} {record.title}: {len(record.achievements)} achievements")


mail_app = typer.Typer(help="Outgoing mail.")
app.add_typer(mail_app, name="mail")


@mail_app.command("deliver")
def mail_deliver() -> None:
    """Send queued mail that is due (run it from cron; the web app also sends after requests).

    Messages given up are counted on stderr, so cron's mail tells the operator."""
    config = settings()
    engine = make_engine(config.database_url)
    try:
        sent = mail.deliver_due(
            session_factory(engine), config.mail_transport(), sender=config.mail_from
        )
        with transaction(read_session_factory(engine)) as session:
            dead = mail.count_dead_letters(session)
    finally:
        engine.dispose()
    typer.echo(f"sent {sent} message(s)")
    if dead:
        typer.echo(f"{dead} message(s) given up: see /coordinator/mail to retry them", err=True)


@app.command()
def worker(
    once: Annotated[bool, typer.Option("--once", help="One round, then exit (for cron).")] = False,
    interval: Annotated[
        float, typer.Option(min=0.1, max=3600, help="Seconds between rounds.")
    ] = mail_worker.INTERVAL_SECONDS,
) -> None:
    """Compose and deliver queued mail until stopped (SIGTERM, Ctrl-C). `issuer serve` starts
    one; run more on other machines if you like: they share the queue."""
    settings()  # a bad setting is told here, as everywhere
    with reported_errors():
        sent = mail_worker.run(interval=interval, once=once)
    typer.echo(f"sent {sent} message(s)")


@app.command()
def setup(
    dev: Annotated[bool, typer.Option("--dev", help="Development defaults (make run).")] = False,
) -> None:
    """Prepare the embedded default: Ed25519 and P-256 keys, database, bundled frameworks,
    first coordinator."""
    config = settings()
    ring = KeyRing(config.keys_dir)
    created = False
    for key_type in KEY_TYPES.values():  # Ed25519 first: it names the did:key
        if not ring.exists(key_type):
            with reported_errors():
                ring.generate(config.key_passphrase, dev=dev, key_type=key_type)
            typer.echo(f"created signing key {ring.key_path(key_type)}")
            created = True
    db_upgrade()
    if created:
        announce_key_ring(config)
    frameworks_import(catalog.framework_files(config.frameworks_dir), None)
    if dev:
        typer.echo(development_coordinator(config))


def development_coordinator(config: Settings) -> str:
    """How to get in, every time `make run` starts: the development coordinator is made (with a
    fresh password, shown once) the first time, and after that the way to a new password."""
    forgot = ".venv/bin/issuer users reset-password --email"
    with database(config) as session:
        if accounts.has_role_holder(session, "coordinator"):
            who = DEV_COORDINATOR if _exists(session, DEV_COORDINATOR) else "a coordinator"
            email = DEV_COORDINATOR if who == DEV_COORDINATOR else "<their e-mail>"
            return (
                f"sign in as {who} at {config.base_url}/login; forgot the password? "
                f"run `{forgot} {email}`"
            )
        password = secrets.token_urlsafe(12)
        accounts.create_user(
            session,
            email=DEV_COORDINATOR,
            name="Development Coordinator",
            roles=["coordinator"],
            password=password,
        )
    return (
        f"sign in as {DEV_COORDINATOR} with password {password} at {config.base_url}/login "
        "(development only; shown this once)"
    )


def _exists(session: Session, email: str) -> bool:
    try:
        accounts.user_by_email(session, email)
    except NotFound:
        return False
    return True


def read_framework_file(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as error:
        raise typer.BadParameter(f"{path}: cannot read ({error.strerror})") from None


def load_own_identity(config: Settings) -> IssuerIdentity:
    return load_identity(
        config.keys_dir,
        config.key_passphrase,
        config.did,
        config.issuer_profile(),
        proofs=config.proofs,
        jwt_algorithm=config.jwt_alg,
    )


def identity(config: Settings) -> IssuerIdentity:
    with reported_errors():
        return load_own_identity(config)


DevOption = Annotated[
    bool, typer.Option("--dev", help="Write the key unencrypted (development only).")
]
# `--type` names: Ed25519 signs EdDSA JWTs and eddsa-rdfc-2022; P-256 signs ES256 JWTs and
# ecdsa-rdfc-2019, and needs ISSUER_DID=did:web:… (a did:key holds one key, the Ed25519 one).
KEY_TYPES = {"ed25519": ED25519, "p256": P256}
TypeOption = Annotated[
    str, typer.Option("--type", help="ed25519 (EdDSA) or p256 (ES256, ecdsa-rdfc-2019).")
]


def key_type_named(name: str) -> str:
    if name.lower() not in KEY_TYPES:
        raise typer.BadParameter(f"--type {name!r}: choose {' or '.join(KEY_TYPES)}")
    return KEY_TYPES[name.lower()]


@keys_app.command("generate")
def keys_generate(
    dev: DevOption = False,
    if_missing: Annotated[
        bool, typer.Option("--if-missing", help="Do nothing when a key of this type exists.")
    ] = False,
    kind: TypeOption = "ed25519",
) -> None:
    """Create a signing key of `--type`, encrypted with ISSUER_KEY_PASSPHRASE."""
    config = settings()
    key_type = key_type_named(kind)
    ring = KeyRing(config.keys_dir)
    if if_missing and ring.exists(key_type):
        typer.echo(f"signing key exists: {ring.key_path(key_type)}")
        return
    with reported_errors():
        key = ring.generate(config.key_passphrase, dev=dev, key_type=key_type)
    encrypted = "unencrypted development" if dev and not config.key_passphrase else "encrypted"
    typer.echo(f"wrote {encrypted} {key_type} signing key {ring.key_path(key_type)}")
    announce_key_ring(config)
    typer.echo(f"public key (Multikey): {key.multikey}")
    if key_type == P256 and not (config.did or "").startswith(DID_WEB):
        typer.echo(
            "note: P-256 (ES256 JWTs, ecdsa-rdfc-2019) is used only with ISSUER_DID=did:web:…",
            err=True,
        )


@keys_app.command("rotate")
def keys_rotate(dev: DevOption = False, kind: TypeOption = "ed25519") -> None:
    """Replace the signing key of `--type`; old public keys stay published so old credentials
    verify."""
    config = settings()
    key_type = key_type_named(kind)
    ring = KeyRing(config.keys_dir)
    with reported_errors():
        key = ring.rotate(config.key_passphrase, dev=dev, key_type=key_type)
    typer.echo(f"new {key_type} signing key: {key.multikey}")
    typer.echo(f"published keys: {len(ring.public_keys())}")
    announce_key_ring(config)


def announce_key_ring(config: Settings) -> None:
    """Tell running instances the key files changed: each reloads them before it next signs
    or serves its DID document. Without a database yet (first setup) there is nobody to tell."""
    engine = make_engine(config.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            version = key_versions.bump(session)
    except (OperationalError, ProgrammingError):
        typer.echo("note: no database to record the key change in; restart running instances")
        return
    finally:
        engine.dispose()
    typer.echo(f"key ring version {version}: running instances reload it on their next request")


@app.command()
def did() -> None:
    """Print the issuer's DID document (every key as a Multikey in assertionMethod)."""
    typer.echo(json.dumps(identity(settings()).did_document(), indent=2))


@app.command()
def sign(
    unsigned: Annotated[Path, typer.Argument(help="The unsigned credential (JSON).")],
    form: Annotated[
        str, typer.Option("--format", help="di (Data Integrity), jwt (OB 3.0) or vc+jwt.")
    ] = "di",
    out: Annotated[Path | None, typer.Option("--out", help="Write here, not stdout.")] = None,
) -> None:
    """Sign a credential as the configured issuer Profile: `di` with one proof per suite in
    ISSUER_PROOFS, `jwt` and `vc+jwt` with ISSUER_JWT_ALG (ES256 or EdDSA)."""
    config = settings()
    with reported_errors():
        document = read_json(unsigned)
        signed = sign_credential(document, identity(config), form=form, now=datetime.now(UTC))
    text = signed if isinstance(signed, str) else json.dumps(signed, indent=2, ensure_ascii=False)
    if out is None:
        typer.echo(text)
    else:
        write_atomic(out, (text + "\n").encode("utf-8"))


@app.command()
def verify(
    credential: Annotated[
        str, typer.Argument(help="A file (JSON, JWT, PNG, SVG) or an https:// URL.")
    ],
    as_json: Annotated[bool, typer.Option("--json", help="Print the report as JSON.")] = False,
) -> None:
    """Verify a credential: exit 0 verified, 1 not verified, 2 unreadable."""
    config = settings()
    is_url = credential.startswith(("https://", "http://"))
    with reported_errors():
        data = credential.encode("utf-8") if is_url else read_bytes(Path(credential))
    own = own_identity(config)
    issuer = Issuer(own, config.base_url, suspension=config.suspension) if own else None
    fetcher = Fetcher(allow_private=config.allow_private_fetch)
    with reported_errors(), issuer_database(config) as session:
        report = verify_input(data, session=session, issuer=issuer, fetcher=fetcher)
    if as_json:
        typer.echo(json.dumps(report.to_json(), indent=2))
    else:
        typer.echo(report.verdict.upper())
        for check in report.checks:
            typer.echo(f"  {check.status:11} {check.name}: {check.message}")
    if not report.verified:
        raise typer.Exit(EXIT_NOT_VERIFIED)


@app.command()
def bake(
    credential: Annotated[Path, typer.Argument(help="The signed credential: JSON or compact JWT.")],
    image: Annotated[Path, typer.Argument(help="A PNG or SVG badge image.")],
    out: Annotated[Path, typer.Option("--out", help="The baked image to write.")],
) -> None:
    """Bake a credential into a PNG or SVG (replacing any credential already baked in)."""
    with reported_errors():
        text = read_text(credential).strip()
        if not looks_like_jwt(text):
            parse_json(text, str(credential))
        picture = read_bytes(image)
        if picture.startswith(PNG_SIGNATURE):
            baked = bake_png(picture, text)
        else:
            try:
                svg = picture.decode("utf-8")
            except UnicodeDecodeError:
                raise InvalidInput(f"{image}: neither a PNG nor an SVG") from None
            baked = bake_svg(svg, text, jws=looks_like_jwt(text)).encode("utf-8")
    write_atomic(out, baked)
    typer.echo(f"baked {out}")


endorsements_app = typer.Typer(help="Endorsements of our Achievements and issuer Profile.")
app.add_typer(endorsements_app, name="endorsements")


@app.command()
def endorse(
    subject: Annotated[
        str,
        typer.Argument(
            help="What is endorsed: an Achievement's URL, SOC/level (29-2034.00/proficient), "
            "or 'issuer' for the issuer Profile."
        ),
    ],
    comment: Annotated[str, typer.Option("--comment", help="What the endorser vouches for.")],
    endorser_keys: Annotated[
        Path,
        typer.Option(
            "--endorser-keys",
            help="The endorser's key directory (made with ISSUER_KEYS_DIR=DIR issuer keys "
            "generate); never the issuer's own.",
        ),
    ],
    endorser_name: Annotated[
        str, typer.Option("--endorser-name", help="The endorser, as people know it.")
    ],
    endorser_url: Annotated[
        str | None, typer.Option("--endorser-url", help="The endorser's web site.")
    ] = None,
    endorser_did: Annotated[
        str | None,
        typer.Option(
            "--endorser-did", help="The endorser's did:web (unset: the did:key of its key)."
        ),
    ] = None,
    passphrase: Annotated[
        str | None,
        typer.Option(
            envvar="ISSUER_ENDORSER_KEY_PASSPHRASE",
            help="The endorser's key passphrase (from ISSUER_ENDORSER_KEY_PASSPHRASE).",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Sign an OB 3.0 EndorsementCredential with the endorser's keys and embed it from now on
    in what it endorses (published at /endorsements/ID)."""
    config = settings()
    with reported_errors():
        limits.check_text(endorser_name, "--endorser-name", limits.PERSON_NAME)
        if endorser_url is not None and not endorser_url.startswith(("https://", "http://")):
            raise InvalidInput("--endorser-url must be an http(s) address")
        endorser = load_identity(
            endorser_keys,
            passphrase,
            endorser_did,
            IssuerProfile(id="", name=endorser_name, url=endorser_url),
        )
        issuer = Issuer(identity(config), config.base_url, suspension=config.suspension)
    with database(config) as session:
        record = endorsing.endorse(
            session, issuer, endorser, endorsing.subject_named(session, issuer, subject), comment
        )
        url = endorsing.endorsement_url(issuer, record.id)
    typer.echo(f"{endorser.did} endorses {record.subject_id}: {url}")


@endorsements_app.command("add")
def endorsements_add(
    endorsement: Annotated[
        Path, typer.Argument(help="An EndorsementCredential signed elsewhere (JSON).")
    ],
) -> None:
    """Verify an endorsement signed elsewhere, by an endorser in ISSUER_ENDORSERS, and embed it
    in what it endorses."""
    config = settings()
    fetcher = Fetcher(allow_private=config.allow_private_fetch)
    with reported_errors():
        data = read_bytes(endorsement)
        issuer = Issuer(identity(config), config.base_url, suspension=config.suspension)
    with database(config) as session:
        record = endorsing.add_signed(
            session, issuer, data, trusted=config.endorsers, fetcher=fetcher
        )
        url = endorsing.endorsement_url(issuer, record.id)
    typer.echo(f"{record.endorser_id} endorses {record.subject_id}: {url}")


@endorsements_app.command("list")
def endorsements_list() -> None:
    """Every endorsement: id, endorser, what it endorses, and whether it is withdrawn."""
    config = settings()
    with database(config) as session:
        for record in endorsing.listed(session):
            withdrawn = record.withdrawn_at
            state = f"withdrawn {withdrawn:%Y-%m-%d}" if withdrawn else "in force"
            typer.echo(f"{record.id}  {record.endorser_name} → {record.subject_id}  ({state})")


@endorsements_app.command("withdraw")
def endorsements_withdraw(
    endorsement_id: Annotated[str, typer.Argument(help="The endorsement's id.")],
) -> None:
    """Stop embedding an endorsement in what is issued from now on (issued ones keep it)."""
    with database(settings()) as session:
        record = endorsing.withdraw(session, endorsement_id)
    typer.echo(f"withdrawn: {record.endorser_name}'s endorsement of {record.subject_id}")


conformance_app = typer.Typer(help="1EdTech Open Badges 3.0 certification, checked here first.")
app.add_typer(conformance_app, name="conformance")


@conformance_app.command("check")
def conformance_check(
    credential: Annotated[
        Path | None, typer.Argument(help="A credential file: JSON, JWT, baked PNG or SVG.")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="Every credential this issuer has stored.")
    ] = False,
    recipient: Annotated[
        str | None,
        typer.Option(
            help="The e-mail address the credential must be issued to, e.g. "
            "conformance@imsglobal.org."
        ),
    ] = None,
) -> None:
    """What 1EdTech's Issuer certification would fail: exit 0 if nothing, 1 if anything."""
    if (credential is None) == (not every):
        typer.echo("error: give a credential file or --all, not both", err=True)
        raise typer.Exit(EXIT_INVALID)
    config = settings()
    fetcher = Fetcher(allow_private=config.allow_private_fetch)
    results: list[certification.Certification] = []
    with reported_errors():
        if credential is not None:
            data = read_bytes(credential)
            own = own_identity(config)
            issuer = Issuer(own, config.base_url, suspension=config.suspension) if own else None
            with issuer_database(config) as session:
                results.append(
                    certification.check_input(
                        data,
                        str(credential),
                        session=session,
                        issuer=issuer,
                        fetcher=fetcher,
                        recipient=recipient,
                    )
                )
        else:
            issuer = Issuer(identity(config), config.base_url, suspension=config.suspension)
            with issuer_database(config) as session:
                if session is None:
                    raise InvalidInput("no database here: nothing is stored to check")
                for result in certification.check_stored(session, issuer, fetcher):
                    results.append(result)
                    _print_certification(result, quiet=result.passes and every)
    if credential is not None:
        _print_certification(results[0], quiet=False)
    failing = [result for result in results if not result.passes]
    if every:
        typer.echo(
            f"{len(results)} checked: {len(results) - len(failing)} pass, "
            f"{len(failing)} would fail certification"
        )
    if failing:
        raise typer.Exit(EXIT_NOT_VERIFIED)


def _print_certification(result: certification.Certification, *, quiet: bool) -> None:
    """The verdict and, unless `quiet` (a passing credential among many), every check."""
    noted = [check for check in result.checks if check.status != "passed"]
    if quiet and not noted:
        return
    verdict = "passes" if result.passes else "WOULD FAIL"
    typer.echo(f"{result.subject}: {verdict}")
    for check in result.checks if not quiet else noted:
        typer.echo(f"  {check.status:11} {check.name}: {check.message}")


@contextmanager
def issuer_database(config: Settings) -> Iterator[Session | None]:
    """The issuer's database when there is one (its records and status lists answer for our own
    credentials); None on a machine that only verifies."""
    if (
        config.database_url.startswith("sqlite:///")
        and not Path(config.database_url.removeprefix("sqlite:///")).exists()
    ):
        yield None
        return
    engine = make_engine(config.database_url)
    try:
        with transaction(session_factory(engine)) as session:
            yield session
    finally:
        engine.dispose()


def own_identity(config: Settings) -> IssuerIdentity | None:
    """Our identity when the key loads, so our own did:web resolves without the network.

    Verifying never needs the private key: a locked or missing key just means resolving as
    anyone else would.
    """
    if not KeyRing(config.keys_dir).exists():
        return None
    try:
        return load_own_identity(config)
    except IssuerError:
        return None


def read_bytes(path: Path) -> bytes:
    try:
        with path.open("rb") as stream:
            data = stream.read(MAX_INPUT_BYTES + 1)
    except OSError as error:
        raise InvalidInput(f"{path}: cannot read ({error.strerror})") from None
    if len(data) > MAX_INPUT_BYTES:
        raise InvalidInput(f"{path}: larger than {MAX_INPUT_BYTES} bytes")
    return data


def read_text(path: Path) -> str:
    data = read_bytes(path)
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise InvalidInput(f"{path}: not UTF-8 text") from None


def parse_json(text: str, source: str) -> dict[str, object]:
    try:
        document = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise InvalidInput(f"{source}: not JSON ({error})") from None
    if not isinstance(document, dict):
        raise InvalidInput(f"{source}: a credential is a JSON object")
    return document


def read_json(path: Path) -> dict[str, object]:
    return parse_json(read_text(path), str(path))


@app.command()
def serve(
    host: Annotated[str | None, typer.Option(help="Interface (default ISSUER_HOST).")] = None,
    port: Annotated[int | None, typer.Option(help="Port (default ISSUER_PORT).")] = None,
    workers: Annotated[int, typer.Option(min=1, max=64, help="App processes.")] = 1,
    with_worker: Annotated[
        bool,
        typer.Option(
            "--mail-worker/--no-mail-worker",
            help="Start a mail worker beside the app (off: the app sends after requests).",
        ),
    ] = True,
) -> None:
    """Serve the issuer's web app and API (several stateless processes share the database),
    with a mail worker process that composes and delivers the mail they queue."""
    from issuer import serving

    config = settings()
    host, port = host or config.host, port or config.port
    shown = f"[{host}]" if ":" in host else host
    typer.echo(f"serving on http://{shown}:{port} (Ctrl-C stops it)")
    process, before = None, os.environ.get("ISSUER_MAIL_WORKER")
    if with_worker:
        os.environ["ISSUER_MAIL_WORKER"] = "true"  # read by the app processes' settings
        process = multiprocessing.get_context("spawn").Process(
            target=mail_worker.serve_forever, args=(os.getpid(),), name="issuer-mail-worker"
        )
        process.start()
    try:
        with reported_errors():
            serving.run(host, port, workers)
    finally:
        if process is not None:
            process.terminate()
            process.join(10)
            if process.is_alive():
                process.kill()
        if before is None:  # as it was: whoever called us in-process keeps its environment
            os.environ.pop("ISSUER_MAIL_WORKER", None)
        else:
            os.environ["ISSUER_MAIL_WORKER"] = before


records_app = typer.Typer(help="Sign-off records held elsewhere (paper, another system).")
app.add_typer(records_app, name="records")


@records_app.command("import")
def records_import_command(
    file: Annotated[Path, typer.Argument(help="CSV of sign-off records (README: Import).")],
    coordinator: Annotated[
        str, typer.Option("--coordinator", help="The coordinator importing them (e-mail).")
    ],
    apply: Annotated[
        bool, typer.Option("--apply", help="Record them and issue every complete level.")
    ] = False,
) -> None:
    """Check a CSV of sign-off records row by row (a dry run: nothing is written), or with
    --apply record them and issue every level they complete, here and now. Exits 2 if any
    row is in error (the valid rows are still applied)."""
    from issuer.services import bulk_awards

    config = settings()
    data = read_framework_file(file)
    engine = make_engine(config.database_url)
    failed = False
    try:
        with reported_errors():
            with transaction(session_factory(engine)) as session:
                actor = accounts.user_by_email(session, coordinator.strip().lower())
                plan = records_import.dry_run(session, data, actor)
                job_id = records_import.queue(session, actor, data, file.name).id if apply else 0
            _print_plan(plan)
            if apply:
                signer = mail_worker.issuer(config)
                sessions, reads = session_factory(engine), read_session_factory(engine)
                cores = os.cpu_count() or 1
                job = bulk_awards.run(sessions, reads, signer, job_id, processes=cores)
                typer.echo(
                    f"job {job.id} {job.status}: {job.confirmations} confirmation(s) recorded, "
                    f"{job.done} of {job.total} credential(s) issued"
                    + (f"; {job.failure}" if job.failure else "")
                )
                failed = job.status != "done"
    finally:
        engine.dispose()
    if plan.errors() or failed:
        raise typer.Exit(EXIT_INVALID)


def _print_plan(plan: records_import.Plan) -> None:
    for row in plan.rows:
        typer.echo(f"row {row.row}\t{row.status}\t{row.learner_email}\t{row.message}")
    for level in plan.levels:
        outcome = (
            "complete: will be issued"
            if level.complete
            else f"incomplete, missing statements {', '.join(map(str, level.missing))}"
        )
        typer.echo(f"{level.learner_email} {level.framework} {level.level}: {outcome}")
    counts = ", ".join(f"{n} {status}" for status, n in sorted(plan.summary().items()))
    typer.echo(f"{len(plan.rows)} row(s): {counts or 'none'}; {plan.complete} level(s) complete")
