"""A realistic OpenBadgeCredential built from a committed Achievement (tests and bench share it)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).parents[1]


def realistic_credential(level: str = "proficient") -> dict[str, Any]:
    achievement = json.loads((ROOT / f"achievements/29-2034.00/{level}.json").read_text())
    achievement.pop("@context")
    base = "http://127.0.0.1:8000"
    return {
        "@context": [
            "https://www.w3.org/ns/credentials/v2",
            "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json",
        ],
        "id": f"{base}/credentials/5f0c1c2e-6a5b-4d8e-9f63-2c3b1d9e8a71",
        "type": ["VerifiableCredential", "OpenBadgeCredential"],
        "name": achievement["name"],
        "credentialSubject": {
            "type": ["AchievementSubject"],
            "identifier": [
                {
                    "type": "IdentityObject",
                    "identityType": "emailAddress",
                    "hashed": True,
                    "identityHash": "sha256$" + "ab" * 32,
                    "salt": "d5f3b0c9a1e24f7c",
                }
            ],
            "achievement": achievement,
            "result": [
                {"type": ["Result"], "resultDescription": rd["id"], "status": "Completed"}
                for rd in achievement["resultDescription"]
            ],
        },
        "awardedDate": "2026-11-20T14:05:00Z",
        "evidence": [
            {
                "type": ["Evidence"],
                "name": f"Statement {n} confirmed",
                "narrative": f"Observed in clinical practice, CT suite, on 2026-11-{n + 9:02d} "
                "by Dr. Ana Müller (supervisor).",
                "genre": "Observed in clinical practice",
            }
            for n in range(1, 11)
        ],
        "credentialStatus": {
            "id": f"{base}/status/1#94567",
            "type": "BitstringStatusListEntry",
            "statusPurpose": "revocation",
            "statusListIndex": "94567",
            "statusListCredential": f"{base}/status/1",
        },
    }


def cohort_credentials(count: int, *, same_achievement: bool = True) -> list[dict[str, Any]]:
    """`count` different credentials, as issuing one level to a cohort makes them: each its own
    id, earner, evidence, date and status entry. With `same_achievement=False` every one also
    carries an Achievement of its own (an id no other has), so nothing about them repeats."""
    import hashlib

    credentials = []
    for n in range(count):
        credential = json.loads(json.dumps(realistic_credential()))
        salt = f"{n:016x}"
        credential["id"] = f"http://127.0.0.1:8000/credentials/5f0c1c2e-6a5b-4d8e-9f63-{n:012x}"
        [identifier] = credential["credentialSubject"]["identifier"]
        digest = hashlib.sha256(f"learner{n}@example.org{salt}".encode()).hexdigest()
        identifier.update(identityHash=f"sha256${digest}", salt=salt)
        credential["awardedDate"] = f"2026-11-{1 + n % 28:02d}T14:{n % 60:02d}:00Z"
        for evidence in credential["evidence"]:
            evidence["narrative"] = evidence["narrative"].replace(
                "2026-11", f"2026-{1 + n % 12:02d}"
            )
            evidence["narrative"] += f" Learner {n}."
        status = credential["credentialStatus"]
        status["statusListIndex"] = str(n)
        status["id"] = f"{status['statusListCredential']}#{n}"
        if not same_achievement:
            achievement = credential["credentialSubject"]["achievement"]
            achievement["id"] = f"{achievement['id']}-{n}"
        credentials.append(credential)
    return credentials
