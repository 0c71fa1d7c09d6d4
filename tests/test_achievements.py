"""Achievements: OB 3.0 exact (schema, no dropped JSON-LD term), deterministic, committed."""

import json
from functools import cache
from pathlib import Path

import jsonschema
import pytest

from issuer.achievements import achievement_bytes, build_achievements
from issuer.config import PACKAGE_DIR, Settings
from issuer.frameworks import load_framework, parse_framework
from issuer.jsonld.strict import expand_strictly
from issuer.services.catalog import build_achievement_files, framework_files
from tests.conftest import NUCLEAR, RADIOLOGY, ROOT, framework_document

DEFAULTS = Settings()


@cache
def achievement_validator() -> jsonschema.Draft201909Validator:
    schema = json.loads((PACKAGE_DIR / "schemas/achievementcredential.json").read_text())
    return jsonschema.Draft201909Validator(
        {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": "#/$defs/Achievement"}
    )


def build(path: Path = RADIOLOGY, framework=None):  # type: ignore[no-untyped-def]
    return build_achievements(
        framework or load_framework(path),
        base_url=DEFAULTS.base_url,
        creator=DEFAULTS.issuer_profile(),
        language="en",
    )


ALL = {**build(RADIOLOGY), **build(NUCLEAR)}


def test_both_frameworks_give_eight_achievements() -> None:
    assert sorted(ALL) == sorted(
        f"{soc}/{level}.json"
        for soc in ("29-2034.00", "29-2033.00")
        for level in ("emerging", "developing", "proficient", "advanced")
    )


@pytest.mark.parametrize("name", sorted(ALL))
def test_achievement_is_valid_against_the_ob_v3p0_json_schema(name: str) -> None:
    errors = [error.message for error in achievement_validator().iter_errors(ALL[name])]
    assert errors == []


@pytest.mark.parametrize("name", sorted(ALL))
def test_achievement_drops_no_json_ld_term(name: str) -> None:
    expand_strictly(ALL[name])


def test_achievement_carries_what_a_verifier_and_a_person_need() -> None:
    achievement = ALL["29-2034.00/proficient.json"]
    base = "http://127.0.0.1:8000/achievements/29-2034.00"
    assert achievement["id"] == f"{base}/proficient"
    assert achievement["name"] == "Radiologic Technologists and Technicians: Proficient"
    assert achievement["version"] == "v.26.05"
    assert "interventional suites" in achievement["description"]
    assert "© EBSCOed" in achievement["description"]
    statements = load_framework(RADIOLOGY).levels[2].statements
    assert [r["name"] for r in achievement["resultDescription"]] == list(statements)
    assert len({r["id"] for r in achievement["resultDescription"]}) == 10
    assert all(f"- {s}" in achievement["criteria"]["narrative"] for s in statements)
    onet = achievement["alignment"][0]
    assert onet["targetCode"] == "29-2034.00"
    assert onet["targetUrl"] == "https://www.onetonline.org/link/summary/29-2034.00"
    assert onet["targetType"].startswith("ext:")
    assert [r["id"] for r in achievement["related"]] == [f"{base}/developing", f"{base}/advanced"]
    assert achievement["image"]["id"] == f"{base}/proficient/image.svg"
    assert achievement["creator"]["type"] == ["Profile"]


def test_first_and_last_levels_relate_to_one_neighbour() -> None:
    assert len(ALL["29-2034.00/emerging.json"]["related"]) == 1
    assert len(ALL["29-2034.00/advanced.json"]["related"]) == 1


@pytest.mark.parametrize("count", [1, 3, 5])
def test_frameworks_with_other_numbers_of_levels_build_valid_achievements(count: int) -> None:
    document = framework_document()
    document["framework"]["levels"] = {
        f"step-{n}": {"label": f"Step {n}", "statements": [f"Does thing {n} & <more> — “well”."]}
        for n in range(1, count + 1)
    }
    framework = parse_framework(json.dumps(document).encode(), "custom.json")
    built = build(framework=framework)
    assert list(built) == [f"29-2034.00/step-{n}.json" for n in range(1, count + 1)]
    for achievement in built.values():
        assert list(achievement_validator().iter_errors(achievement)) == []
        expand_strictly(achievement)
        assert achievement["resultDescription"][0]["name"].endswith("— “well”.")


def test_building_is_deterministic() -> None:
    again = {**build(RADIOLOGY), **build(NUCLEAR)}
    assert {k: achievement_bytes(v) for k, v in again.items()} == {
        k: achievement_bytes(v) for k, v in ALL.items()
    }


def test_committed_achievements_match_a_fresh_build(tmp_path: Path) -> None:
    build_achievement_files(
        framework_files(PACKAGE_DIR / "data/frameworks"),
        tmp_path,
        base_url=DEFAULTS.base_url,
        creator=DEFAULTS.issuer_profile(),
        language=DEFAULTS.language,
    )
    fresh = {p.relative_to(tmp_path): p.read_bytes() for p in tmp_path.rglob("*.json")}
    committed_dir = ROOT / "achievements"
    committed = {
        p.relative_to(committed_dir): p.read_bytes() for p in committed_dir.rglob("*.json")
    }
    assert fresh == committed, "achievements/ is stale: run `issuer achievements build`"
