"""Sign and verify throughput against the Digital Bazaar reference, in the same run.

    .venv/bin/python bench/sign_verify.py [--iterations N] [--achievements shared|distinct]

Signs and verifies N different realistic OpenBadgeCredentials (a level's Achievement, ten
results, ten evidence entries, a status entry; each its own id, earner, evidence and status
entry, as issuing a level to a cohort makes them) with eddsa-rdfc-2022 on one core, then asks
tests/interop/reference.mjs (jsonld.js safe mode + @digitalbazaar/vc) to do the same, run the
way its authors ship it (see `bench` there), and prints credentials per second and our ratios.

Both sides check the same things in the first table: the proof (with the strict JSON-LD
check: safe mode on theirs, ours on ours), the issuer's key and the dates; status lists are
not fetched on either side. The second table times our full verification check by check,
including what the reference does not do (the VC data model, OB 3.0 JSON Schema conformance).
Each side prints its first and last tenth of iterations, to show that time per iteration is
flat (a harness that slowed down with iterations once made the reference look 5x slower).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parents[1]))

from issuer import conformance, data_model
from issuer.dids import did_key
from issuer.jsonld import canonize
from issuer.jsonld.canonize import canonize_expanded
from issuer.jsonld.loader import load_document
from issuer.jsonld.strict import expand_strictly
from issuer.keys import SigningKey
from issuer.profiles import IssuerProfile
from issuer.proofs.data_integrity import verify_proofs
from issuer.services.fetching import Fetcher
from issuer.services.identity import IssuerIdentity, make_resolver, sign_credential
from issuer.verification import Expectations, verify_credential
from tests.interop.reference import missing, run_reference
from tests.realistic import cohort_credentials

SEED = bytes(range(32))
OUR_CONFIGURATION = (
    "sign_credential/verify_credential, pyld expansion (memoized contexts and shared nodes) "
    "+ to_rdf walk (pyoxigraph for what is not plain) + rdfc.py, warm caches, status not fetched"
)


def timed(iterations: int, step: Callable[[int], Any]) -> list[float]:
    times = []
    for i in range(iterations):
        start = time.perf_counter()
        step(i)
        times.append(time.perf_counter() - start)
    return times


def repeated(iterations: int, step: Callable[[], Any]) -> list[float]:
    return timed(iterations, lambda _: step())


def ours(credentials: list[dict[str, Any]], warmup: int) -> dict[str, Any]:
    """Warm up on the first `warmup` credentials; then sign each of the rest and verify each
    signed one. Our expansion memo starts empty for each timed loop: the first credential of
    a shared Achievement pays for it there, and with distinct Achievements none is helped."""
    key = SigningKey.from_seed(SEED)
    did = did_key(key.multikey)
    identity = IssuerIdentity(did, key, (key.multikey,), IssuerProfile(id=did, name="Bench"))
    now = datetime.now(UTC)
    resolve = make_resolver(identity, Fetcher())

    def sign(credential: dict[str, Any]) -> Any:
        return sign_credential(credential, identity, form="di", now=now)

    def verify(signed: Any) -> None:
        report = verify_credential(
            signed, now=now, resolve=resolve, loader=load_document, expect=CORE_CHECKS
        )
        if not report.verified:
            raise SystemExit(f"our own credential failed to verify: {report.failed}")

    for credential in credentials[:warmup]:
        verify(sign(credential))
    timed_ones = credentials[warmup:]
    signed_ones: list[Any] = []
    canonize._expansions.clear()
    sign_times = timed(len(timed_ones), lambda i: signed_ones.append(sign(timed_ones[i])))
    canonize._expansions.clear()
    verify_times = timed(len(signed_ones), lambda i: verify(signed_ones[i]))
    signed = signed_ones[0]
    assert isinstance(signed, dict)
    return {
        "signTimes": sign_times,
        "verifyTimes": verify_times,
        "size": len(json.dumps(signed).encode()),
        "signed": signed,
        "resolve": resolve,
        "now": now,
    }


# What the reference checks too: proof, issuer key, dates (no status list, no conformance).
CORE_CHECKS = Expectations(checks=frozenset({"proof", "issuer", "validFrom", "json-ld"}))


def check_costs(run: dict[str, Any], iterations: int) -> list[tuple[str, float]]:
    """Milliseconds per verification for each part of ours, on the same signed credential."""
    signed, resolve, now = run["signed"], run["resolve"], run["now"]
    unsecured = {k: v for k, v in signed.items() if k != "proof"}
    expanded = expand_strictly(unsecured, load_document)
    canonical = canonize_expanded(expanded)
    parts: list[tuple[str, Callable[[], Any]]] = [
        ("JSON-LD expansion (strict)", lambda: expand_strictly(unsecured, load_document)),
        ("RDFC-1.0 of the expansion", lambda: canonize_expanded(expanded)),
        (
            "proof: config, hash, key binding, signature",
            lambda: verify_proofs(
                signed, resolve=resolve, loader=load_document, canonical_document=canonical
            ),
        ),
        ("VC data model", lambda: data_model.credential_problems(signed)),
        ("OB 3.0 JSON Schema conformance", lambda: conformance.conformance_problems(signed)),
        (
            "full verification (all checks)",
            lambda: verify_credential(signed, now=now, resolve=resolve, loader=load_document),
        ),
    ]
    return [(name, 1000 * statistics.fmean(repeated(iterations, step))) for name, step in parts]


def tenths(times: list[float]) -> str:
    k = max(1, len(times) // 10)
    return f"{1000 * statistics.fmean(times[:k]):.2f} → {1000 * statistics.fmean(times[-k:]):.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--iterations", type=int, default=200)
    parser.add_argument(
        "--warmup",
        type=int,
        default=50,
        help="credentials signed and verified untimed first, on both sides (as in a running "
        "service: the JavaScript JIT needs them)",
    )
    parser.add_argument(
        "--achievements",
        choices=("shared", "distinct"),
        default="shared",
        help="shared: one level issued to a cohort (the usual case); distinct: every "
        "credential has an Achievement no other has (nothing repeats between credentials)",
    )
    arguments = parser.parse_args()
    iterations = arguments.iterations
    credentials = cohort_credentials(
        arguments.warmup + iterations, same_achievement=arguments.achievements == "shared"
    )
    run = ours(credentials, arguments.warmup)
    rows = [("issuer (Python)", run["signTimes"], run["verifyTimes"], OUR_CONFIGURATION)]
    reason = missing()
    if reason is None:
        unsigned = [
            {
                **credential,
                "issuer": {"id": "x", "type": ["Profile"], "name": "Bench"},
                "validFrom": "2026-01-01T00:00:00Z",
            }
            for credential in credentials
        ]
        theirs = run_reference(
            "bench",
            credentials=unsigned,
            seedHex=SEED.hex(),
            iterations=iterations,
            warmup=arguments.warmup,
        )
        if theirs["proofs"] != 1:
            raise SystemExit(f"the reference signed {theirs['proofs']} proofs, not one")
        rows.append(
            (
                "reference (JavaScript)",
                theirs["signTimes"],
                theirs["verifyTimes"],
                theirs["configuration"],
            )
        )
    print(
        f"{iterations} different credentials ({arguments.achievements} Achievement), "
        f"{run['size']} bytes each signed, one core each side"
    )
    print(
        f"{'implementation':24} {'sign/s':>9} {'verify/s':>9} {'ms/sign':>8} {'ms/verify':>9}"
        f"  {'sign ms, first → last tenth':>28}  {'verify ms, first → last tenth':>30}"
    )
    for name, sign_times, verify_times, _ in rows:
        sign_rate, verify_rate = (
            len(sign_times) / sum(sign_times),
            len(verify_times) / sum(verify_times),
        )
        print(
            f"{name:24} {sign_rate:9.1f} {verify_rate:9.1f} {1000 / sign_rate:8.2f}"
            f" {1000 / verify_rate:9.2f}  {tenths(sign_times):>28}  {tenths(verify_times):>30}"
        )
    if len(rows) == 2:
        sign_ratio = sum(rows[1][1]) / sum(rows[0][1])
        verify_ratio = sum(rows[1][2]) / sum(rows[0][2])
        print(f"{'ratio (ours / ref)':24} {sign_ratio:9.2f} {verify_ratio:9.2f}")
    else:
        print(f"reference not run: {reason}")
    for name, _, _, configuration in rows:
        print(f"  {name}: {configuration}")
    print("\nour full verification, check by check (ms per credential):")
    for name, milliseconds in check_costs(run, iterations):
        print(f"  {name:46} {milliseconds:7.2f}")


if __name__ == "__main__":
    main()
