"""Conformance of an Open Badge: the OB 3.0 JSON Schema, the contexts, the required fields.

A credential can be authentic yet malformed; conformance problems are reported as warnings so
that a verifier sees both facts (the signature decides `verified`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema_rs

from issuer.jsonld.loader import CREDENTIALS_V1, CREDENTIALS_V2
from issuer.types import JsonObject

SCHEMAS = Path(__file__).parent / "schemas"
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"


@cache
def _validator() -> jsonschema_rs.Draft201909Validator:
    return _compiled("achievementcredential.json")


@cache
def _endorsement_validator() -> jsonschema_rs.Draft201909Validator:
    return _compiled("endorsementcredential.json")


def _compiled(name: str) -> jsonschema_rs.Draft201909Validator:
    """The schema compiled once, by jsonschema-rs (Rust): 0.13 ms a credential where the
    Python jsonschema took 2.1, half of a full verification. Formats are annotations in
    draft 2019-09, as 1EdTech's validator reads them: they are not asserted."""
    schema = json.loads((SCHEMAS / name).read_text(encoding="utf-8"))
    return jsonschema_rs.Draft201909Validator(schema, validate_formats=False)


def _problems(
    validator: jsonschema_rs.Draft201909Validator, document: Any, whole: str
) -> list[str]:
    """The first five errors in document order, each where it is and what is wrong."""
    errors = sorted(
        validator.iter_errors(document), key=lambda e: [str(p) for p in e.instance_path]
    )
    return [
        f"{'/'.join(str(part) for part in error.instance_path) or whole}: {error.message[:200]}"
        for error in errors[:5]
    ]


def conformance_problems(credential: JsonObject) -> list[str]:
    """Plain-language problems; empty when the credential conforms (or is not an Open Badge)."""
    types = credential.get("type", [])
    types = types if isinstance(types, list) else [types]
    if not OB_TYPES.intersection(t for t in types if isinstance(t, str)):
        return []
    problems = []
    contexts = credential.get("@context", [])
    contexts = contexts if isinstance(contexts, list) else [contexts]
    if not contexts or contexts[0] not in (CREDENTIALS_V2, CREDENTIALS_V1):
        problems.append("the first @context is not the W3C credentials context")
    if not any(isinstance(c, str) and c.startswith(OB_CONTEXT_PREFIX) for c in contexts):
        problems.append("the Open Badges 3.0 context is missing")
    if contexts and contexts[0] == CREDENTIALS_V2:
        # The published schema describes VC 2.0 credentials; VC 1.1 ones are checked above only.
        problems.extend(_problems(_validator(), credential, "the credential"))
    return problems


def endorsement_conformance_problems(endorsement: JsonObject) -> list[str]:
    """What keeps `endorsement` from being an OB 3.0 EndorsementCredential by its JSON Schema
    (the one 1EdTech publishes beside the AchievementCredential's); empty when it is one."""
    return _problems(_endorsement_validator(), endorsement, "the endorsement")
