"""The longest text the issuer stores, declared once, and the check every input passes.

The tables size their `String(n)` columns with these names and every edge that accepts text
for one of them (the API's request models, the page forms' services, the framework importer,
the CSV enrolment) checks it against the same name. The two must agree because the databases
do not: SQLite keeps a 290-character title in a VARCHAR(200) without a word, PostgreSQL
refuses the whole transaction, and the request that happened to write it becomes a 500.

A value built from others is sized from its parts, so no input within its own limit can make
it overflow: an Achievement's name is "{title}: {label}" and the claim e-mail's subject is
"Your badge: {name}" (services/claims.py), which must fit MAIL_SUBJECT.

Lengths count characters (code points), as both databases do for VARCHAR.
"""

from __future__ import annotations

import re

from issuer.errors import InvalidInput

# ── people and accounts ──
EMAIL = 320  # RFC 5321: a 64-octet local part, "@", a 255-octet domain
PERSON_NAME = 200
PASSWORD = 1000  # never stored (Argon2 hashes are); bounds the hashing work one request asks
PASSWORD_HASH = 200  # an Argon2id hash in its encoded form has about 100
TOKEN_NAME = 100
ROLE = 20
COHORT = 100

# ── skills frameworks (JSON paths in frameworks.py) ──
SOC = 10  # an O*NET-SOC code, "29-2034.00"
FRAMEWORK_TITLE = 200  # $.occupation.title
OCCUPATION_GROUP = 200  # $.occupation.group
FRAMEWORK_VERSION = 100  # $.framework.version
LEVEL_KEY = 64  # a level's key: a URL path segment and a file name
LEVEL_LABEL = 80  # $.framework.levels.<key>.label
STATEMENT = 1000  # one competency statement (an Achievement's ResultDescription name)
FRAMEWORK_TEXT = 10_000  # description, contextCovered, attribution, each source
FRAMEWORK_FILE_BYTES = 1_000_000

# ── derived: built from the values above, never typed in ──
ACHIEVEMENT_NAME = FRAMEWORK_TITLE + len(": ") + LEVEL_LABEL  # 282
# The claim e-mail's "Your badge: {name}" is 294 at most (tests/web/test_limits.py stores one).
MAIL_SUBJECT = 300

# ── sign-off and credentials ──
METHOD = 40
SETTING = 300  # where a statement was observed
NOTE = 2000
REASON = 1000  # of a revocation or suspension

# ── enrolment files ──
ENROLMENT_FILE_BYTES = 5_000_000
ENROLMENT_ROWS = 10_000

# ── machine-made values (ids, hashes, names in code) ──
UUID = 36
SHA256_HEX = 64
RANDOM_TOKEN = 64  # secrets.token_urlsafe(32) and shorter: exchange ids, codes, nonces
PROTOCOL = 16
AUDIT_ACTION = 40
AUDIT_SUBJECT = 500
RATE_LIMIT_BUCKET = 32
DID = 500  # a wallet's did:key (an Ed25519 or P-256 one is under 60)
SESSION_SCOPE = 100  # web_sessions.scope: space-separated role names
LINK_PURPOSE = 16  # account_links.purpose: invitation, reset, sign-in, email
ENDORSEMENT_COMMENT = 2000  # an EndorsementSubject's endorsementComment
ENDORSEMENT_BYTES = 64_000  # an uploaded EndorsementCredential (ours are about 2 KB)

# Single-line fields refuse every C0 and C1 control character, DEL, and the Unicode line and
# paragraph separators: a name or title lands in mail headers (where Python's email package
# raises on any of them), in PDFs and on badge images. Multi-line fields keep tab, LF and CR.
# Both refuse the bidirectional formatting characters, with which a name shown to someone
# else (a consent page, a certificate) would read other than it is.
_BIDI = "\u061c\u200e\u200f\u202a-\u202e\u2066-\u2069"
_SINGLE_LINE = re.compile(f"[\x00-\x1f\x7f-\x9f\u2028\u2029{_BIDI}]")
_MULTI_LINE = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_BIDI}]")
TOO_LONG = "too long"
CONTROL_CHARACTER = "control character"


def has_control_character(value: str, *, multiline: bool = False) -> bool:
    return (_MULTI_LINE if multiline else _SINGLE_LINE).search(value) is not None


def text_problem(value: str, max_length: int, *, multiline: bool = False) -> str | None:
    """TOO_LONG, CONTROL_CHARACTER, or None when `value` may be stored as such a field."""
    if len(value) > max_length:
        return TOO_LONG
    if has_control_character(value, multiline=multiline):
        return CONTROL_CHARACTER
    return None


def describe(problem: str, max_length: int, *, multiline: bool = False) -> str:
    """What a `text_problem` means, as a predicate: "<field> {describe(...)}"."""
    if problem == TOO_LONG:
        return f"is longer than {max_length} characters"
    if multiline:
        return "contains a control character"
    return "contains a line break or another control character"


def check_text(value: str, field: str, max_length: int, *, multiline: bool = False) -> str:
    """`value` if it fits a `max_length` field; else InvalidInput naming `field`.

    Services call this for every text they store, so a page form, the API and the CLI get
    the same answer, and the database never sees a value it would refuse."""
    problem = text_problem(value, max_length, multiline=multiline)
    if problem is not None:
        raise InvalidInput(f"{field} {describe(problem, max_length, multiline=multiline)}")
    return value
