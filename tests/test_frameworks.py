"""Framework files: everything the format allows is read exactly; everything else is refused."""

import json
from pathlib import Path

import pytest

from issuer.errors import FrameworkInvalid
from issuer.frameworks import load_framework, parse_framework
from tests.conftest import NUCLEAR, RADIOLOGY, framework_document


def test_reads_both_bundled_frameworks_in_order() -> None:
    for path, soc in ((RADIOLOGY, "29-2034.00"), (NUCLEAR, "29-2033.00")):
        framework = load_framework(path)
        assert framework.occupation.soc == soc
        assert [level.key for level in framework.levels] == [
            "emerging",
            "developing",
            "proficient",
            "advanced",
        ]
        assert all(len(level.statements) == 10 for level in framework.levels)
        assert framework.attribution == "© EBSCOed"


def test_keeps_any_number_of_levels_with_any_keys_in_file_order() -> None:
    document = framework_document()
    document["framework"]["levels"] = {
        key: {"label": key.title(), "statements": [f"{key} statement"]}
        for key in ("zeta", "alpha", "level-3", "niveau_4", "v5.0")
    }
    framework = parse_framework(json.dumps(document).encode(), "five.json")
    assert [level.key for level in framework.levels] == [
        "zeta",
        "alpha",
        "level-3",
        "niveau_4",
        "v5.0",
    ]


def test_preserves_unicode_and_punctuation_exactly() -> None:
    document = framework_document()
    text = 'Quotes "double" and ‘single’, <tags> & ampersands — em dash, naïve café, 検査'
    document["framework"]["levels"]["emerging"]["statements"][0] = text
    framework = parse_framework(json.dumps(document, ensure_ascii=False).encode(), "u.json")
    assert framework.levels[0].statements[0] == text


def mutate(change):  # type: ignore[no-untyped-def]
    document = framework_document()
    change(document)
    return json.dumps(document).encode()


def set_at(path: list, value):  # type: ignore[no-untyped-def,type-arg]
    def change(document):  # type: ignore[no-untyped-def]
        target = document
        for key in path[:-1]:
            target = target[key]
        if value is DELETE:
            del target[path[-1]]
        else:
            target[path[-1]] = value

    return change


DELETE = object()
LEVELS = ["framework", "levels"]
BAD_FRAMEWORKS = {
    "malformed JSON": (b'{"schemaVersion": "1.0",', "$", "malformed JSON"),
    "not UTF-8": (b'{"schemaVersion": "\xff"}', "$", "not UTF-8"),
    "not an object": (b"[1, 2]", "$", "must be an object"),
    "unknown schemaVersion": (
        mutate(set_at(["schemaVersion"], "2.0")),
        "$.schemaVersion",
        "unknown schemaVersion",
    ),
    "missing occupation": (mutate(set_at(["occupation"], DELETE)), "$.occupation", "is missing"),
    "bad SOC code": (
        mutate(set_at(["occupation", "soc"], "292034")),
        "$.occupation.soc",
        "O*NET-SOC",
    ),
    "empty title": (
        mutate(set_at(["occupation", "title"], "  ")),
        "$.occupation.title",
        "must not be empty",
    ),
    "number as version": (
        mutate(set_at(["framework", "version"], 3)),
        "$.framework.version",
        "must be a string",
    ),
    "missing contextCovered": (
        mutate(set_at(["framework", "contextCovered"], DELETE)),
        "$.framework.contextCovered",
        "is missing",
    ),
    "no levels": (mutate(set_at(LEVELS, {})), "$.framework.levels", "at least one level"),
    "levels as array": (mutate(set_at(LEVELS, [])), "$.framework.levels", "must be an object"),
    "level without label": (
        mutate(set_at([*LEVELS, "emerging", "label"], DELETE)),
        "$.framework.levels.emerging.label",
        "is missing",
    ),
    "no statements": (
        mutate(set_at([*LEVELS, "developing", "statements"], [])),
        "$.framework.levels.developing.statements",
        "at least one statement",
    ),
    "statements as string": (
        mutate(set_at([*LEVELS, "developing", "statements"], "x")),
        "$.framework.levels.developing.statements",
        "must be an array",
    ),
    "empty statement": (
        mutate(lambda d: d["framework"]["levels"]["advanced"]["statements"].__setitem__(2, "")),
        "$.framework.levels.advanced.statements[2]",
        "must not be empty",
    ),
    "statement as number": (
        mutate(lambda d: d["framework"]["levels"]["advanced"]["statements"].__setitem__(1, 7)),
        "$.framework.levels.advanced.statements[1]",
        "must be a string",
    ),
    "duplicate statement": (
        mutate(
            lambda d: d["framework"]["levels"]["emerging"]["statements"].append(
                d["framework"]["levels"]["emerging"]["statements"][0]
            )
        ),
        "$.framework.levels.emerging.statements[10]",
        "duplicate statement",
    ),
    "control character": (
        mutate(
            lambda d: d["framework"]["levels"]["emerging"]["statements"].__setitem__(0, "bell\x07")
        ),
        "$.framework.levels.emerging.statements[0]",
        "control character",
    ),
    "unsafe level key": (
        mutate(set_at([*LEVELS, "../escape"], {"label": "X", "statements": ["s"]})),
        "$.framework.levels.../escape",
        "level key",
    ),
    "duplicate level key": (
        b'{"schemaVersion":"1.0","framework":{"levels":{"a":{},"a":{}}}}',
        "$",
        "duplicate key 'a'",
    ),
    "deep nesting": (b"[" * 100_000 + b"]" * 100_000, "$", "nested too deeply"),
    "title too long": (
        mutate(set_at(["occupation", "title"], "T" * 201)),
        "$.occupation.title",
        "is longer than 200 characters",
    ),
    "title on two lines": (
        mutate(set_at(["occupation", "title"], "Radiologic\nTechnologists")),
        "$.occupation.title",
        "contains a line break",
    ),
    "version too long": (
        mutate(set_at(["framework", "version"], "v" * 101)),
        "$.framework.version",
        "is longer than 100 characters",
    ),
    "label too long": (
        mutate(set_at([*LEVELS, "emerging", "label"], "L" * 81)),
        "$.framework.levels.emerging.label",
        "is longer than 80 characters",
    ),
    "label with a carriage return": (
        mutate(set_at([*LEVELS, "advanced", "label"], "Advanced\r")),
        "$.framework.levels.advanced.label",
        "contains a line break",
    ),
    "label with a C1 control": (
        mutate(set_at([*LEVELS, "advanced", "label"], "Adv\x9banced")),
        "$.framework.levels.advanced.label",
        "contains a line break or another control character",
    ),
    "statement too long": (
        mutate(
            lambda d: d["framework"]["levels"]["emerging"]["statements"].__setitem__(0, "s" * 1001)
        ),
        "$.framework.levels.emerging.statements[0]",
        "is longer than 1000 characters",
    ),
    "sources not strings": (
        mutate(set_at(["sources"], {"onet": 30})),
        "$.sources.onet",
        "must be a string",
    ),
}


@pytest.mark.parametrize("case", BAD_FRAMEWORKS, ids=list(BAD_FRAMEWORKS))
def test_refuses_bad_framework_naming_file_and_path(case: str) -> None:
    data, path, problem = BAD_FRAMEWORKS[case]
    with pytest.raises(FrameworkInvalid) as raised:
        parse_framework(data, "bad.json")
    assert raised.value.source == "bad.json"
    assert raised.value.path == path
    assert problem in raised.value.problem


def test_a_missing_file_is_a_clear_error(tmp_path: Path) -> None:
    with pytest.raises(FrameworkInvalid, match="cannot read the file"):
        load_framework(tmp_path / "absent.json")


def test_a_statement_may_span_lines() -> None:
    document = framework_document()
    document["framework"]["levels"]["emerging"]["statements"][0] = (
        "Positions the patient;\n\tthen checks."
    )
    framework = parse_framework(json.dumps(document).encode(), "lines.json")
    assert framework.levels[0].statements[0] == "Positions the patient;\n\tthen checks."


def test_a_stored_framework_is_read_under_the_rules_of_its_import() -> None:
    """An import accepted before the limits (a long title, a label on two lines) stays readable:
    its Achievements and the credentials issued from them are still served."""
    document = framework_document()
    document["occupation"]["title"] = "T" * 290
    document["framework"]["levels"]["emerging"]["label"] = "Emerging\n(first year)"
    data = json.dumps(document).encode()
    with pytest.raises(FrameworkInvalid):
        parse_framework(data, "new.json")
    framework = parse_framework(data, "stored:29-2034.00", stored=True)
    assert framework.occupation.title == "T" * 290
    document["framework"]["levels"]["emerging"]["label"] = "bell\x07"
    with pytest.raises(FrameworkInvalid, match="control character"):
        parse_framework(json.dumps(document).encode(), "stored:29-2034.00", stored=True)
