"""Conformance of an Open Badge: the OB 3.0 JSON Schema, the contexts, the required fields.

A credential can be authentic yet malformed; conformance problems are reported as warnings so
that a verifier sees both facts (the signature decides `verified`).
"""

from __future__ import annotations

import json
from functools import cache
from pathlib import Path

import jsonschema

from issuer.jsonld.loader import CREDENTIALS_V1, CREDENTIALS_V2
from issuer.types import JsonObject

SCHEMAS = Path(__file__).parent / "schemas"
OB_TYPES = {"OpenBadgeCredential", "AchievementCredential"}
OB_CONTEXT_PREFIX = "https://purl.imsglobal.org/spec/ob/v3p0/context"


@cache
def _validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((SCHEMAS / "achievementcredential.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


@cache
def _endorsement_validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((SCHEMAS / "endorsementcredential.json").read_text(encoding="utf-8"))
    return jsonschema.Draft201909Validator(schema)


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
        for error in sorted(_validator().iter_errors(credential), key=lambda e: list(e.path))[:5]:
            where = "/".join(str(part) for part in error.path) or "the credential"
            problems.append(f"{where}: {error.message[:200]}")
    return problems


def endorsement_conformance_problems(endorsement: JsonObject) -> list[str]:
    """What keeps `endorsement` from being an OB 3.0 EndorsementCredential by its JSON Schema
    (the one 1EdTech publishes beside the AchievementCredential's); empty when it is one."""
    errors = sorted(_endorsement_validator().iter_errors(endorsement), key=lambda e: list(e.path))
    return [
        f"{'/'.join(str(part) for part in error.path) or 'the endorsement'}: {error.message[:200]}"
        for error in errors[:5]
    ]
