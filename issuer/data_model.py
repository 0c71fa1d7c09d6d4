"""The W3C Verifiable Credentials Data Model: what a credential or presentation MUST be.

https://www.w3.org/TR/vc-data-model-2.0/, and VC 1.1 (https://www.w3.org/TR/vc-data-model/)
when the first @context is https://www.w3.org/2018/credentials/v1. The VC-API refuses to sign a
credential with a problem and the verification engine reports the same problems, so one set of
rules holds on both sides. JSON-LD term checks are not here: jsonld/strict.py does those.

Pure: JSON in, a list of Problems out, each naming the JSON path of the value (as frameworks.py
does), because the people who fix these documents read JSON. Related resources are read through
a `fetch` passed in; a bundled JSON-LD context is hashed from its bundled bytes, never fetched.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import Any, Literal
from urllib.parse import urlsplit

import base58

from issuer.errors import IssuerError, Unreachable
from issuer.jsonld.loader import CREDENTIALS_V1, CREDENTIALS_V2, bundled
from issuer.types import JsonObject

Fetch = Callable[[str], bytes]
ProblemType = Literal[
    "PARSING_ERROR", "CRYPTOGRAPHIC_SECURITY_ERROR", "MALFORMED_VALUE_ERROR", "RANGE_ERROR"
]
# https://www.w3.org/TR/vc-data-model-2.0/#problem-details
PROBLEM_TITLES: dict[ProblemType, tuple[int, str]] = {
    "PARSING_ERROR": (-64, "Parsing error"),
    "CRYPTOGRAPHIC_SECURITY_ERROR": (-65, "Integrity check failed"),
    "MALFORMED_VALUE_ERROR": (-66, "Malformed value"),
    "RANGE_ERROR": (-67, "Value out of range"),
}
# XML Schema 1.1 dateTime (https://www.w3.org/TR/xmlschema11-2/#dateTime); a dateTimeStamp is
# the same with the time zone required. Days past the month's end are refused separately.
DATE_TIME = re.compile(
    r"(?P<year>-?(?:[1-9][0-9]{3,}|0[0-9]{3}))-(?P<month>0[1-9]|1[0-2])"
    r"-(?P<day>0[1-9]|[12][0-9]|3[01])"
    r"T(?:(?P<hour>[01][0-9]|2[0-3]):(?P<minute>[0-5][0-9]):(?P<second>[0-5][0-9])"
    r"(?:\.(?P<fraction>[0-9]+))?|(?P<midnight>24:00:00(?:\.0+)?))"
    r"(?P<tz>Z|[+-](?:(?:0[0-9]|1[0-3]):[0-5][0-9]|14:00))?"
)
URL_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")
# WHATWG URL "special" schemes need a host; any other scheme (did:, urn:) is opaque.
HOST_SCHEMES = {"http", "https", "ws", "wss", "ftp"}
SPACE_OR_CONTROL = re.compile(r"[\x00-\x20\x7f-\x9f]")
LANGUAGE_TAG = re.compile(r"[A-Za-z]{2,8}(?:-[A-Za-z0-9]{1,8})*")  # the shape of BCP 47 tags
# https://www.w3.org/TR/SRI/#the-integrity-attribute hash-expression (CSP3 base64-value)
SRI = re.compile(r"(sha256|sha384|sha512)-([A-Za-z0-9+/_-]+={0,2})")
MULTIHASH = {  # multicodec code -> hashlib name
    0x12: "sha256",
    0x20: "sha384",
    0x13: "sha512",
    0x16: "sha3_256",
    0x15: "sha3_384",
    0x14: "sha3_512",
}
DIGEST_FORMS = {
    "digestSRI": "an SRI hash expression (sha256-, sha384- or sha512- and the base64 digest)",
    "digestMultibase": "a multibase multihash ('u' and base64url of 0x12 0x20 and a SHA-256)",
}
# Objects that MUST specify a type (VC 2.0 §4.5), and whether they need a URL id in VC 1.1 and
# in 2.0 (VC 1.1 §5.6 wants the refresh service's id; 2.0 does not; §4.11 wants the schema's).
TYPED_OBJECTS = {
    "credentialStatus": (False, False),
    "termsOfUse": (False, False),
    "evidence": (False, False),
    "refreshService": (True, False),
    "credentialSchema": (True, True),
}
_MISSING: Any = object()


@dataclass(frozen=True, slots=True)
class Problem:
    """One rule of the data model that a document breaks, where, and of which kind (§7.2)."""

    path: str
    message: str
    type: ProblemType = "MALFORMED_VALUE_ERROR"
    # False when the rule could not be checked (a related resource out of reach or not fetched
    # offline), not broken.
    checked: bool = True

    def __str__(self) -> str:
        return f"{self.path}: {self.message}"

    def to_json(self) -> JsonObject:
        """A Problem Details object, as VC DM 2.0 §7.2 and the VC-API describe them."""
        code, title = PROBLEM_TITLES[self.type]
        url = f"https://www.w3.org/TR/vc-data-model#{self.type}"
        return {"type": url, "code": code, "title": title, "detail": str(self), "path": self.path}


class _Problems(list[Problem]):
    def add(self, path: str, message: str, kind: ProblemType = "MALFORMED_VALUE_ERROR") -> None:
        self.append(Problem(path, message, kind))


def credential_problems(credential: object, *, fetch: Fetch | None = None) -> list[Problem]:
    """Every way `credential` breaks the data model; empty when it conforms.

    `fetch` retrieves a related resource to check its digest (raising an IssuerError when it
    cannot); without it, only related resources that are bundled contexts are checked, and
    each other one is a Problem with `checked=False` (not checked, rather than broken).
    """
    out = _Problems()
    _credential(credential, "$", out, fetch)
    return list(out)


def presentation_problems(presentation: object) -> list[Problem]:
    """Every way a presentation itself breaks the data model (§4.13).

    The credentials inside are only checked to be objects: the verification engine checks each
    with `credential_problems` as it verifies it, so nothing is reported twice.
    """
    out = _Problems()
    if not isinstance(presentation, dict):
        out.add("$", f"a presentation is a JSON object, not {_json_type(presentation)}")
        return list(out)
    version = _contexts(presentation.get("@context", _MISSING), "$.@context", out)
    _types(presentation.get("type", _MISSING), "$.type", "VerifiablePresentation", out)
    _optional_url(presentation, "id", "$", out)
    if "holder" in presentation:
        _party(presentation["holder"], "$.holder", "holder", out)
    credentials = presentation.get("verifiableCredential", [])
    for where, item in _items(credentials, "$.verifiableCredential"):
        # VC 1.1 presentations may carry VC-JWTs; 2.0 wants objects (enveloped if need be).
        if not (isinstance(item, dict) or (version == 1 and isinstance(item, str))):
            out.add(where, f"must be a credential object, not {_json_type(item)}")
    return list(out)


def parse_date_time(text: str) -> datetime | None:
    """The instant an XML Schema 1.1 dateTime names (no time zone: UTC, as VC Data Integrity
    says); None when `text` is not one, names no real date, or lies outside years 1-9999."""
    match = DATE_TIME.fullmatch(text)
    if match is None or int(match["day"]) > _days_in_month(int(match["year"]), int(match["month"])):
        return None
    return _moment(match)


def _credential(document: object, path: str, out: _Problems, fetch: Fetch | None) -> None:
    if not isinstance(document, dict):
        out.add(path, f"a credential is a JSON object, not {_json_type(document)}")
        return
    version = _contexts(document.get("@context", _MISSING), f"{path}.@context", out)
    _types(document.get("type", _MISSING), f"{path}.type", "VerifiableCredential", out)
    _optional_url(document, "id", path, out)
    _party(document.get("issuer", _MISSING), f"{path}.issuer", "issuer", out)
    _subjects(document.get("credentialSubject", _MISSING), f"{path}.credentialSubject", out)
    _names(document, path, out)
    (_validity_v1 if version == 1 else _validity)(document, path, out)
    for name, (id_in_v1, id_in_v2) in TYPED_OBJECTS.items():
        if name in document:
            needs_id = id_in_v1 if version == 1 else id_in_v2
            _typed_objects(document[name], f"{path}.{name}", name, needs_id, out)
    if version == 2 and "relatedResource" in document:
        _related_resources(document["relatedResource"], f"{path}.relatedResource", out, fetch)


def _contexts(value: Any, path: str, out: _Problems) -> int:
    """Check @context (§4.3); return the data model version (1 or 2) its first entry names."""
    contexts = value if isinstance(value, list) else [] if value in (_MISSING, None) else [value]
    first = f"{path}[0]" if isinstance(value, list) else path
    if not contexts:
        out.add(path, f"is missing or empty; the first @context must be {CREDENTIALS_V2}")
    elif contexts[0] not in (CREDENTIALS_V2, CREDENTIALS_V1):
        shown = _shown(contexts[0])
        out.add(first, f"must be {CREDENTIALS_V2} (or {CREDENTIALS_V1}), not {shown}")
    for index, context in enumerate(contexts[1:], 1):
        where = f"{path}[{index}]"
        if isinstance(context, dict):
            _inline_context(context, where, out)
        elif not isinstance(context, str):
            out.add(where, f"must be a context URL or object, not {_json_type(context)}")
        elif not _is_url(context):
            out.add(where, f"{context!r} is not a URL")
    return 1 if contexts and contexts[0] == CREDENTIALS_V1 else 2


def _inline_context(context: JsonObject, path: str, out: _Problems) -> None:
    """A term mapped to something that is no IRI cannot be processed as a JSON-LD context."""
    for term, definition in context.items():
        iri = definition.get("@id") if isinstance(definition, dict) else definition
        if isinstance(iri, str) and not iri.startswith("@") and SPACE_OR_CONTROL.search(iri):
            out.add(f"{path}.{term}", f"maps to {iri!r}, which is not an IRI")


def _types(value: Any, path: str, required: str, out: _Problems) -> None:
    if value is _MISSING or value is None:
        out.add(path, f"is missing; it must include {required!r}")
    elif _type_values(value, path, out) and required not in _listed(value):
        out.add(path, f"must include {required!r}")


def _type_values(value: Any, path: str, out: _Problems) -> bool:
    """One or more terms or absolute URLs (§4.5); False unless they are strings."""
    if value == []:
        out.add(path, "must name at least one type")
        return False
    strings = True
    for where, item in _items(value, path):
        if not isinstance(item, str) or not item:
            out.add(where, f"must be a type name or URL, not {_json_type(item)}")
            strings = False
        elif SPACE_OR_CONTROL.search(item):
            out.add(where, f"{item!r} is neither a term nor a URL")
    return strings


def _optional_url(document: JsonObject, key: str, path: str, out: _Problems) -> None:
    if key in document:
        _url(document[key], f"{path}.{key}", out)


def _url(value: Any, path: str, out: _Problems) -> bool:
    """An identifier is a single URL (§4.4) of any scheme: https:, did:, urn:..."""
    if isinstance(value, list):
        out.add(path, "must be a single URL, not an array")
    elif not isinstance(value, str):
        out.add(path, f"must be a URL, not {_json_type(value)}")
    elif not _is_url(value):
        out.add(path, f"{value!r} is not a URL (a scheme such as https: or did:, then the rest)")
    else:
        return True
    return False


def _is_url(text: str) -> bool:
    if not URL_SCHEME.match(text) or SPACE_OR_CONTROL.search(text):
        return False
    scheme, rest = text.split(":", 1)
    if scheme.lower() not in HOST_SCHEMES:
        return bool(rest)
    parts = urlsplit(text)
    try:
        return bool(parts.hostname) and (parts.port is None or parts.port >= 0)
    except ValueError:  # a port that is not a number
        return False


def _party(value: Any, path: str, role: str, out: _Problems) -> None:
    """`issuer` or `holder`: a URL, or an object whose `id` is a URL (§4.7, §4.13)."""
    if value is _MISSING:
        out.add(path, f"is missing; a verifiable credential MUST have an {role}")
    elif isinstance(value, dict):
        if "id" not in value:
            out.add(f"{path}.id", f"is missing; the {role} object MUST have a URL id")
        else:
            _url(value["id"], f"{path}.id", out)
        _names(value, path, out)
    elif value is None:
        out.add(path, "must be a URL or an object with a URL id, not null")
    else:
        _url(value, path, out)


def _subjects(value: Any, path: str, out: _Problems) -> None:
    """One or more subjects, each the subject of at least one claim (§4.8)."""
    if value is _MISSING or value is None or value == []:
        out.add(path, "is missing or empty; a verifiable credential MUST make claims")
    for where, subject in [] if value in (_MISSING, None) else _items(value, path):
        if not isinstance(subject, dict):
            out.add(where, f"must be an object, not {_json_type(subject)}")
        elif not subject:
            out.add(where, "is empty; each subject MUST be the subject of a claim")
        else:
            _optional_url(subject, "id", where, out)


def _names(document: JsonObject, path: str, out: _Problems) -> None:
    """`name` and `description`: strings or language value objects (§4.6, §11.1)."""
    for key in ("name", "description"):
        for where, value in _items(document.get(key, []), f"{path}.{key}"):
            if isinstance(value, dict):
                _language_value(value, where, out)
            elif not isinstance(value, str):
                out.add(
                    where, f"must be a string or language value object, not {_json_type(value)}"
                )


def _language_value(value: JsonObject, path: str, out: _Problems) -> None:
    extra = sorted(set(value) - {"@value", "@language", "@direction"})
    if extra:
        out.add(
            path,
            f"has {', '.join(extra)}; a language value object has only @value, "
            "@language and @direction",
        )
    if not isinstance(value.get("@value"), str):
        out.add(f"{path}.@value", "must be a string")
    language = value.get("@language", "en")
    if not isinstance(language, str) or not LANGUAGE_TAG.fullmatch(language):
        out.add(f"{path}.@language", f"{_shown(language)} is not a BCP 47 language tag")
    if value.get("@direction", "ltr") not in ("ltr", "rtl"):
        out.add(f"{path}.@direction", "must be 'ltr' or 'rtl'")


def _validity(document: JsonObject, path: str, out: _Problems) -> None:
    """VC 2.0 §4.9: optional validFrom and validUntil, dateTimeStamps, in that order."""
    start = _date_time(document, "validFrom", path, out, stamp=True)
    end = _date_time(document, "validUntil", path, out, stamp=True)
    if start is not None and end is not None and end < start:
        message = f"{document['validUntil']} is before validFrom {document['validFrom']}"
        out.add(f"{path}.validUntil", message, "RANGE_ERROR")


def _validity_v1(document: JsonObject, path: str, out: _Problems) -> None:
    """VC 1.1 §4.6, §4.7: issuanceDate required; both dates XML Schema dateTimes."""
    if "issuanceDate" not in document:
        out.add(f"{path}.issuanceDate", "is missing; a VC 1.1 credential MUST have one")
    _date_time(document, "issuanceDate", path, out, stamp=False)
    _date_time(document, "expirationDate", path, out, stamp=False)


def _date_time(
    document: JsonObject, key: str, path: str, out: _Problems, *, stamp: bool
) -> datetime | None:
    if key not in document:
        return None
    value, where = document[key], f"{path}.{key}"
    match = DATE_TIME.fullmatch(value) if isinstance(value, str) else None
    if match is None:
        kind = "dateTimeStamp" if stamp else "dateTime"
        out.add(where, f"{_shown(value)} is not an XML Schema {kind} (2024-01-01T00:00:00Z)")
    elif stamp and not match["tz"]:
        out.add(where, f"{value!r} has no time zone (Z or an offset such as +01:00)")
    elif int(match["day"]) > _days_in_month(int(match["year"]), int(match["month"])):
        out.add(where, f"{value!r} is not a real date")
    else:
        return _moment(match)
    return None


def _days_in_month(year: int, month: int) -> int:
    # Proleptic Gregorian; year 0000 is 1 BCE, a leap year, as XML Schema 1.1 counts.
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return (31, 29 if leap else 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)[month - 1]


def _moment(match: re.Match[str]) -> datetime | None:
    """The instant a lexical dateTime names (no time zone: UTC); None beyond years 1-9999."""
    year, zone, offset = int(match["year"]), match["tz"] or "Z", timedelta()
    if not 1 <= year <= 9999:
        return None
    if zone != "Z":
        sign = -1 if zone[0] == "-" else 1
        offset = sign * timedelta(hours=int(zone[1:3]), minutes=int(zone[4:]))
    day = datetime(year, int(match["month"]), int(match["day"]), tzinfo=timezone(offset))
    try:
        if match["midnight"]:
            return (day + timedelta(days=1)).astimezone(UTC)  # 24:00:00: the next day begins
        fraction = int(((match["fraction"] or "") + "000000")[:6])
        time = timedelta(
            hours=int(match["hour"]), minutes=int(match["minute"]), seconds=int(match["second"])
        )
        return (day + time + timedelta(microseconds=fraction)).astimezone(UTC)
    except OverflowError:  # 0001-01-01T00:00:00+14:00 and 9999-12-31T24:00:00Z fall outside
        return None


def _typed_objects(value: Any, path: str, name: str, needs_id: bool, out: _Problems) -> None:
    """Each credentialStatus, termsOfUse, evidence, refreshService and credentialSchema MUST
    specify its type (§4.5); a credentialSchema also its URL id (§4.11)."""
    if value == []:
        out.add(path, f"is an empty list; leave {name} out instead")
    for where, item in _items(value, path):
        if not isinstance(item, dict):
            out.add(where, f"must be an object with a type, not {_json_type(item)}")
            continue
        if "type" not in item:
            out.add(f"{where}.type", f"is missing; each {name} MUST specify its type")
        else:
            _type_values(item["type"], f"{where}.type", out)
        if needs_id and "id" not in item:
            out.add(f"{where}.id", f"is missing; each {name} MUST have a URL id")
        _optional_url(item, "id", where, out)


def _related_resources(value: Any, path: str, out: _Problems, fetch: Fetch | None) -> None:
    """§5.3: objects with a unique URL id and a digest that matches the resource."""
    if value == []:
        out.add(path, "is an empty list; it must list at least one resource")
    seen: dict[str, str] = {}
    for where, item in _items(value, path):
        if not isinstance(item, dict):
            out.add(where, f"must be an object with an id and a digest, not {_json_type(item)}")
            continue
        url: Any = item.get("id")
        if "id" not in item:
            out.add(f"{where}.id", "is missing; a related resource is named by its URL")
        elif _url(url, f"{where}.id", out) and seen.setdefault(url, where) != where:
            out.add(f"{where}.id", f"{url!r} is also at {seen[url]}; ids MUST be unique")
        if not {"digestSRI", "digestMultibase"} & set(item):
            out.add(where, "has neither digestSRI nor digestMultibase")
        if not isinstance(item.get("mediaType", ""), str):
            out.add(f"{where}.mediaType", "must be a media type string")
        digests = _digests(item, where, out)
        if digests and isinstance(url, str) and _is_url(url):
            _check_digests(url, digests, where, out, fetch)


Digest = tuple[str, str, bytes, str]  # JSON path, hash algorithm, digest, property


def _digests(item: JsonObject, path: str, out: _Problems) -> list[Digest]:
    found: list[Digest] = []
    for key, parse in (("digestSRI", _parse_sri), ("digestMultibase", _parse_multibase)):
        if item.get(key) == []:
            out.add(f"{path}.{key}", "is an empty list")
        for where, text in _items(item.get(key, []), f"{path}.{key}"):
            parsed = parse(text) if isinstance(text, str) else None
            if parsed is None:
                out.add(where, f"{_shown(text)} is not {DIGEST_FORMS[key]}")
            else:
                found.append((where, *parsed, key))
    return found


def _parse_sri(text: str) -> tuple[str, bytes] | None:
    """https://www.w3.org/TR/SRI/#the-integrity-attribute: `sha384-` and base64(digest)."""
    match = SRI.fullmatch(text)
    digest = _base64(match[2].replace("-", "+").replace("_", "/")) if match else None
    if match is None or digest is None or len(digest) != hashlib.new(match[1]).digest_size:
        return None
    return match[1], digest


def _parse_multibase(text: str) -> tuple[str, bytes] | None:
    """https://www.w3.org/TR/vc-data-integrity/#resource-integrity: multibase(multihash)."""
    prefix, body = text[:1], text[1:]
    raw: bytes | None = None
    try:
        if prefix == "z":
            raw = base58.b58decode(body)
        elif prefix in "uU" and re.fullmatch(r"[A-Za-z0-9_-]+={0,2}", body):
            raw = _base64(body.replace("-", "+").replace("_", "/"))
        elif prefix in "mM" and re.fullmatch(r"[A-Za-z0-9+/]+={0,2}", body):
            raw = _base64(body)
        elif prefix in "fF":
            raw = bytes.fromhex(body)
    except ValueError:
        return None
    if not raw or len(raw) < 2 or raw[0] not in MULTIHASH:
        return None
    algorithm = MULTIHASH[raw[0]]
    if raw[1] != hashlib.new(algorithm).digest_size or len(raw) != raw[1] + 2:
        return None
    return algorithm, raw[2:]


def _base64(text: str) -> bytes | None:
    unpadded = text.rstrip("=")
    if len(unpadded) % 4 == 1 or (text != unpadded and len(text) % 4):
        return None
    try:
        return base64.b64decode(unpadded + "=" * (-len(unpadded) % 4), validate=True)
    except binascii.Error:
        return None


def _check_digests(
    url: str, digests: list[Digest], path: str, out: _Problems, fetch: Fetch | None
) -> None:
    local = bundled().get(url)
    if local is not None:
        content = local.read_bytes()  # the copy of a context we sign and verify with
    elif fetch is None:  # offline (a wallet exchange): the digest could not be checked
        message = f"{url} is not fetched here, so its digest was not checked"
        out.append(Problem(f"{path}.id", message, checked=False))
        return
    else:
        try:
            content = fetch(url)
        except Unreachable as error:
            message = f"cannot be retrieved to check its digest: {error}"
            out.append(Problem(f"{path}.id", message, checked=False))
            return
        except IssuerError as error:
            out.add(f"{path}.id", f"cannot be retrieved to check its digest: {error}")
            return
    for where, algorithm, expected, key in digests:
        actual = hashlib.new(algorithm, content).digest()
        if actual != expected:
            computed = _encode_digest(key, algorithm, actual)
            message = f"does not match {url} (whose digest is {computed})"
            out.add(where, message, "CRYPTOGRAPHIC_SECURITY_ERROR")


def _encode_digest(key: str, algorithm: str, digest: bytes) -> str:
    if key == "digestSRI":
        return f"{algorithm}-{base64.b64encode(digest).decode()}"
    code = next(code for code, name in MULTIHASH.items() if name == algorithm)
    return "u" + base64.urlsafe_b64encode(bytes([code, len(digest)]) + digest).decode().rstrip("=")


def _items(value: Any, path: str) -> list[tuple[str, Any]]:
    """A value that may be one item or an array, with the JSON path of each item."""
    if isinstance(value, list):
        return [(f"{path}[{index}]", item) for index, item in enumerate(value)]
    return [(path, value)]


def _listed(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else _json_type(value)


def _json_type(value: Any) -> str:
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    names: dict[type, str] = {dict: "an object", list: "an array", str: "a string"}
    return names.get(type(value), "null")
