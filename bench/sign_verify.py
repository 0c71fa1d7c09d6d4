"""Sign and verify throughput against the Digital Bazaar reference, in the same run.

    .venv/bin/python bench/sign_verify.py [--iterations N]

Signs and verifies a realistic ~8 KB OpenBadgeCredential (a level's Achievement, ten results,
evidence, a status entry) with eddsa-rdfc-2022 on one core, then asks tests/interop/reference.mjs
(jsonld.js safe mode + @digitalbazaar/vc) to do the same, and prints credentials per second
and our ratio. Both sides include the strict JSON-LD check: safe mode on theirs, ours on ours.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer.dids import did_key
from issuer.jsonld.loader import load_document
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import verify_credential
from tests.interop.reference import missing, run_reference
from tests.realistic import realistic_credential

SEED = bytes(range(32))


def ours(iterations: int) -> tuple[float, float, int]:
    key = SigningKey.from_seed(SEED)
    did = did_key(key.multikey)
    identity = IssuerIdentity(did, key, (key.multikey,), IssuerProfile(id=did, name="Bench"))
    credential = realistic_credential()
    now = datetime.now(UTC)
    signed = sign_credential(credential, identity, form="di", now=now)  # warm caches
    start = time.perf_counter()
    for _ in range(iterations):
        signed = sign_credential(credential, identity, form="di", now=now)
    signing = time.perf_counter() - start
    resolve = make_resolver(identity, Fetcher())
    start = time.perf_counter()
    for _ in range(iterations):
        report = verify_credential(signed, now=now, resolve=resolve, loader=load_document)
        if not report.verified:
            raise SystemExit(f"our own credential failed to verify: {report.failed}")
    verifying = time.perf_counter() - start
    return signing, verifying, len(json.dumps(signed).encode())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    iterations = parser.parse_args().iterations
    signing, verifying, size = ours(iterations)
    rows = [("issuer (Python)", iterations / signing, iterations / verifying)]
    reason = missing()
    if reason is None:
        credential = {
            **realistic_credential(),
            "issuer": {"id": "x", "type": ["Profile"], "name": "Bench"},
        }
        credential["validFrom"] = "2026-01-01T00:00:00Z"
        theirs = run_reference(
            "bench", credential=credential, seedHex=SEED.hex(), iterations=iterations
        )
        rows.append(
            (
                "reference (JavaScript)",
                iterations / theirs["signSeconds"],
                iterations / theirs["verifySeconds"],
            )
        )
    print(f"credential: {size} bytes signed, {iterations} iterations, one core each")
    print(f"{'implementation':24} {'sign/s':>10} {'verify/s':>10} {'ms/sign':>9} {'ms/verify':>10}")
    for name, sign_rate, verify_rate in rows:
        per_sign, per_verify = 1000 / sign_rate, 1000 / verify_rate
        print(f"{name:24} {sign_rate:10.1f} {verify_rate:10.1f} {per_sign:9.2f} {per_verify:10.2f}")
    if len(rows) == 2:
        sign_ratio, verify_ratio = rows[0][1] / rows[1][1], rows[0][2] / rows[1][2]
        print(f"{'ratio (ours / ref)':24} {sign_ratio:10.2f} {verify_ratio:10.2f}")
    else:
        print(f"reference not run: {reason}")


if __name__ == "__main__":
    main()
